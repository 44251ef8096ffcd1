// test-resources: kube-node:shared
/**
 * A BinlogRestore whose Jobs mount a Secret that does not exist, on the real node: the controller (a child process
 * on the host, as in its Pod; it may not read Secrets) shows SecretNotFound from the real kubelet's FailedMount
 * event on the plan Job's Pod. Created afterwards, the Secret is mounted on the kubelet's next try (it backs off up
 * to about 2 minutes) and the restore reaches Succeeded with every binlog byte-identical in the claim. A Secret that
 * never comes fails the restore with WaitTimedOut after spec.waitTimeout, and its Job and Pod are deleted (the
 * garbage collector of the real kube-controller-manager), so nothing runs when the Secret is created later.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { BinlogRestore, BinlogRestoreSpec } from '../../src/api/index.ts';
import { createRestrictedNamespace, eventually, installCrds, kubectl, ok, uniqueName } from '../api/kubectl.ts';
import { KINGBUS, binlogDir, sha256, tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';
import { hostPathClaim, need, nodeSkip } from '../support/node.ts';
import { ControllerProcess } from '../controller/helpers.ts';

interface Named { metadata: { name: string }; status?: { phase?: string } }

describe('BinlogRestore with a missing Secret on the real node', { skip: nodeSkip(), timeout: 900_000 }, () => {
  const ns = uniqueName('node-rsecret');
  const source = `node-rsecret-${randomBytes(3).toString('hex')}`;
  const work = tempDir('blarc-node-rsecret-');
  const outDir = path.join(work, 'out');
  const archived = binlogDir(KINGBUS);
  let controller: ControllerProcess | undefined;
  let credentials = '';

  before(async () => {
    const { image } = need('node');
    const s3 = need('s3');
    credentials = `[default]\naws_access_key_id = ${s3.accessKeyId}\naws_secret_access_key = ${s3.secretAccessKey}\n`;
    const keyHex = randomBytes(32).toString('hex');
    fs.writeFileSync(path.join(work, 'master.key'), `${keyHex}\n`, { mode: 0o600 });
    const store = `s3://${s3.bucket}/node-rsecret/${ns}?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&forcePathStyle=true`;
    const r = await runCli(['archive', '--binlog-dir', archived.dir, '--store', store, '--key', `file://${path.join(work, 'master.key')}`, '--source', source, '--json'],
      { ...process.env, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey });
    assert.equal(r.code, 0, r.stderr);
    await installCrds();
    await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/binlogrestores.binlog.archiver.dev']);
    await createRestrictedNamespace(ns);
    // The key is there from the start; the S3 credentials are the Secret that is missing.
    await ok(['create', 'secret', 'generic', 'master-key', '-n', ns, `--from-literal=key=${keyHex}`]);
    fs.mkdirSync(outDir, { mode: 0o777 });
    fs.chmodSync(outDir, 0o777);
    fs.chmodSync(work, 0o755);
    await hostPathClaim(ns, 'restore-out', `${ns}-out`, outDir);
    controller = await ControllerProcess.start({ namespace: ns, args: ['--image', image] });
  });

  after(async () => {
    await controller?.kill('SIGTERM');
    await kubectl(['delete', 'namespace', ns, '--wait=true', '--timeout=60s']);
    await kubectl(['delete', 'pv', `${ns}-out`, '--wait=false']);
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(archived.dir, { recursive: true, force: true });
  });

  function spec(secretName: string, dir: string, waitTimeout?: string): BinlogRestoreSpec {
    const s3 = need('s3');
    return {
      archive: {
        storage: { bucket: s3.bucket, prefix: `node-rsecret/${ns}`, endpoint: s3.podEndpoint ?? s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { secretName } },
        keyProvider: { local: { secretName: 'master-key', key: 'key' } },
      },
      sourceServer: source, target: { latest: true }, output: { volume: { claimName: 'restore-out', path: dir } },
      ...(waitTimeout === undefined ? {} : { waitTimeout }),
    };
  }
  const apply = (name: string, s: BinlogRestoreSpec) => ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'binlog.archiver.dev/v1alpha1', kind: 'BinlogRestore', metadata: { name, namespace: ns }, spec: s }));
  const get = async (name: string) => JSON.parse(await ok(['get', 'blr', name, '-n', ns, '-o', 'json'])) as BinlogRestore;
  const condition = (r: BinlogRestore, type: string) => r.status?.conditions?.find((c) => c.type === type);
  const owned = async (kind: 'jobs' | 'pods', name: string) => (JSON.parse(await ok(['get', kind, '-n', ns, '-o', 'json'])) as { items: Named[] }).items.filter((o) => o.metadata.name.startsWith(`${name}-`));
  const s3Secret = (name: string) => ok(['create', 'secret', 'generic', name, '-n', ns, `--from-literal=credentials=${credentials}`]);

  it('SecretNotFound from the kubelet\'s FailedMount event while the Secret is missing; once it exists, Succeeded and byte-identical', async () => {
    await apply('late-secret', spec('s3-late', 'late-secret'));
    const waiting = await eventually('late-secret to wait with SecretNotFound', async () => {
      const r = await get('late-secret');
      return r.status?.phase === 'Pending' && condition(r, 'Reconciling')?.reason === 'SecretNotFound' ? r : undefined;
    }, 180_000);
    const message = condition(waiting, 'Reconciling')?.message ?? '';
    assert.match(message, /^waiting for Secret s3-late in namespace \S+: the plan Job late-secret-\S+ cannot start its Pod \S+ \(kubelet: MountVolume\.SetUp failed for volume "aws-credentials" : secret "s3-late" not found\)/, message);
    assert.deepEqual([condition(waiting, 'Ready')?.status, condition(waiting, 'Stalled')?.status, waiting.status?.waitingSince !== undefined], ['False', 'False', true]);
    const pods = await owned('pods', 'late-secret');
    assert.deepEqual(pods.map((p) => p.status?.phase), ['Pending'], 'the plan Pod waits for its volume');
    await s3Secret('s3-late');
    const done = await eventually('late-secret to finish', async () => {
      const r = await get('late-secret');
      return r.status?.phase === 'Succeeded' || r.status?.phase === 'Failed' ? r : undefined;
    }, 420_000);
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    assert.deepEqual([done.status?.binlogsRestored, done.status?.waitingSince, condition(done, 'Ready')?.reason], [archived.names.length, undefined, 'RestoreSucceeded']);
    for (const name of archived.names) assert.equal(sha256(path.join(outDir, 'late-secret', name)), sha256(path.join(archived.dir, name)), `${name} byte-identical`);
  });

  it('a Secret that never comes: WaitTimedOut after spec.waitTimeout, the Job and its Pod deleted, and nothing runs when it is created afterwards', async () => {
    await apply('no-secret', spec('s3-never', 'no-secret', '45s'));
    await eventually('no-secret to wait with SecretNotFound', async () => {
      const r = await get('no-secret');
      return condition(r, 'Reconciling')?.reason === 'SecretNotFound' ? r : undefined;
    }, 40_000);
    const failed = await eventually('no-secret to fail', async () => {
      const r = await get('no-secret');
      return r.status?.phase === 'Failed' ? r : undefined;
    }, 120_000);
    assert.deepEqual([condition(failed, 'Stalled')?.status, condition(failed, 'Stalled')?.reason, condition(failed, 'Ready')?.status], ['True', 'WaitTimedOut', 'False']);
    assert.match(failed.status?.message ?? '', /^gave up after waiting \d+s \(spec\.waitTimeout 45s, since \S+\) for Secret s3-never in namespace \S+ \(the plan Job no-secret-\S+ could not start its Pod \S+; kubelet: MountVolume\.SetUp failed for volume "aws-credentials" : secret "s3-never" not found\); Job no-secret-\S+ was deleted before its container started; nothing was applied/);
    await eventually('the Job and its Pod to be gone', async () => ((await owned('jobs', 'no-secret')).length === 0 && (await owned('pods', 'no-secret')).length === 0 ? true : undefined), 120_000);
    await s3Secret('s3-never');
    await sleep(15_000);
    assert.deepEqual([(await get('no-secret')).status?.phase, await owned('pods', 'no-secret'), fs.existsSync(path.join(outDir, 'no-secret'))], ['Failed', [], false]);
  });
});
