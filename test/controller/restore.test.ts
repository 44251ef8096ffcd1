/**
 * The restore controller in-process against the real kube-apiserver and S3, with the stand-in kubelet running the
 * Jobs' real `binlog-archiver restore` commands (test/support/kubelet.ts; the Jobs are plain batch/v1 Jobs, so the
 * same test runs on a real node by swapping the kubelet). A BinlogRestore is planned by a plan Job, restored by a
 * restore Job, and reported in status, conditions, events and metrics; a target outside the archive fails in
 * Planning; missing inputs and a busy target wait with a condition saying why.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { BinlogRestoreSpec } from '../../src/api/index.ts';
import type { KubeClient } from '../../src/controller/kube/client.ts';
import { kinds } from '../../src/controller/kube/kinds.ts';
import type { Restore } from '../../src/controller/kube/resources.ts';
import { ControllerMetrics } from '../../src/metrics/metrics.ts';
import { ok } from '../api/kubectl.ts';
import { KINGBUS, binlogDir, sha256 } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';
import type { FakeKubelet } from '../support/kubelet.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';
import { type InProcess, applyPolicy, archiveToS3, deletePrefix, listEvents, listJobs, metricValue, setupNamespace, startInProcess, teardownNamespace, tempDir, waitFor } from './helpers.ts';

describe('restore controller on the real API server and S3', { skip: skipUnlessIn('kube') || skipUnlessIn('s3') }, () => {
  let ns: string;
  let client: KubeClient;
  let kubelet: FakeKubelet;
  let ctl: InProcess | undefined;
  const metrics = new ControllerMetrics();
  const dir = tempDir();
  const prefix = `ctl-restore-${Date.now().toString(36)}`;
  const archived = binlogDir(KINGBUS);

  const get = async (name: string): Promise<Restore | undefined> => kinds(client).restores.get(ns, name);
  const describeState = (name: string) => async () => `restore ${JSON.stringify((await get(name))?.status)}\njobs ${JSON.stringify(await listJobs(ns))}\nkubelet errors ${kubelet.errors.join('; ')}\nkubelet logs:\n${kubelet.logs(1500)}`;
  const until = (name: string, phases: string[], timeoutMs = 60_000) => waitFor(`BinlogRestore ${name} to reach ${phases.join(' or ')}`, async () => {
    const r = await get(name);
    return r?.status?.phase !== undefined && phases.includes(r.status.phase) ? r : undefined;
  }, timeoutMs, describeState(name));
  const condition = (r: Restore, type: string) => r.status?.conditions?.find((c) => c.type === type);

  function restoreSpecOf(o: { claim?: string; target?: BinlogRestoreSpec['target']; policy?: string }): BinlogRestoreSpec {
    const s3 = need('s3');
    return {
      archive: o.policy !== undefined ? { policyRef: { name: o.policy } } : {
        storage: { bucket: s3.bucket, prefix, endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { secretName: 'aws-credentials' } },
        keyProvider: { local: { secretName: 'archive-key' } },
      },
      sourceServer: 'src-a',
      target: o.target ?? { latest: true },
      output: { volume: { claimName: o.claim ?? 'restore-a' } },
      job: { backoffLimit: 0 },
    };
  }
  const apply = (name: string, spec: BinlogRestoreSpec) => ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'binlog.archiver.dev/v1alpha1', kind: 'BinlogRestore', metadata: { name, namespace: ns }, spec }));
  const claim = (name: string) => ok(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: ns }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  }));

  before(async () => {
    ns = await setupNamespace('blctl-restore');
    await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/binlogrestores.binlog.archiver.dev']);
    const { store, env } = await archiveToS3({ ns, dir, prefix, binlogDir: archived.dir, source: 'src-a' });
    // A second source under AWS KMS data keys (the test environment's KMS; it accepts the S3 credentials).
    const k = need('kms');
    const kmsUrl = `awskms://${k.keyAlias}?region=${k.region}&endpoint=${encodeURIComponent(k.endpoint)}`;
    const rk = await runCli(['archive', '--binlog-dir', archived.dir, '--store', store, '--key', kmsUrl, '--source', 'src-k', '--json'], env);
    assert.equal(rk.code, 0, `archive under KMS: ${rk.stderr}`);
    ctl = await startInProcess(ns, 'restore-test', metrics);
    ({ client, kubelet } = ctl);
  });

  after(async () => {
    await ctl?.stop();
    await ok(['delete', 'blr', '--all', '-n', ns, '--wait=false']).catch(() => undefined);
    if (ns !== undefined) await teardownNamespace(ns);
    await deletePrefix(prefix);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('plans in a Job, restores in a Job: every binlog byte-identical in the claim; status, conditions, events and metrics; never re-run', async () => {
    await claim('restore-a');
    await apply('to-latest', restoreSpecOf({}));
    const r = await until('to-latest', ['Succeeded', 'Failed']);
    assert.equal(r.status?.phase, 'Succeeded', await describeState('to-latest')());
    assert.equal(r.status?.observedGeneration, 1);
    assert.deepEqual(['Ready', 'Reconciling', 'Stalled'].map((t) => [t, condition(r, t)?.status, condition(r, t)?.reason]),
      [['Ready', 'True', 'RestoreSucceeded'], ['Reconciling', 'False', 'RestoreSucceeded'], ['Stalled', 'False', 'NotStalled']]);
    const total = archived.names.reduce((n, f) => n + fs.statSync(path.join(archived.dir, f)).size, 0);
    assert.deepEqual([r.status?.plan?.binlogs, r.status?.plan?.bytes, r.status?.plan?.firstBinlog, r.status?.plan?.lastBinlog, r.status?.plan?.gaps],
      [3, total, archived.names[0], archived.names[2], 0]);
    assert.ok(r.status?.plan?.windowFrom !== undefined && r.status.plan.windowUntil !== undefined, 'the recoverable window');
    assert.deepEqual([r.status?.binlogsRestored, r.status?.bytesRestored], [3, total]);
    const out = kubelet.claimPath('restore-a');
    for (const name of archived.names) assert.equal(sha256(path.join(out, name)), sha256(path.join(archived.dir, name)), `${name} byte-identical`);
    assert.ok(fs.existsSync(path.join(out, 'replay.sh')));
    const runs = kubelet.runs.filter((x) => x.args.includes('src-a'));
    assert.deepEqual(runs.map((x) => x.args.includes('--plan-only')), [true, false], 'a plan run, then a restore run');
    await waitFor('the events', async () => {
      const reasons = (await listEvents(ns, 'to-latest')).map((e) => e.reason);
      return ['Planned', 'Started', 'Succeeded'].every((x) => reasons.includes(x)) ? reasons : undefined;
    }, 10_000);
    const text = await metrics.text();
    assert.equal(metricValue(text, 'binlog_archiver_restores_total', { result: 'Succeeded' }), 1);
    assert.equal(metricValue(text, 'binlog_archiver_binlogs_restored_total'), 3);
    assert.equal(metricValue(text, 'binlog_archiver_restored_bytes_total'), total);
    // Terminal: a later reconcile changes nothing and starts no Job.
    await sleep(3000);
    assert.equal(kubelet.runs.filter((x) => x.args.includes('src-a')).length, 2);
    assert.equal((await get('to-latest'))?.metadata.resourceVersion, (await get('to-latest'))?.metadata.resourceVersion);
  });

  it('a target after the archive fails in Planning: Stalled with TargetNotInArchive and the window in the message, no restore Job', async () => {
    await claim('restore-b');
    await apply('too-late', restoreSpecOf({ claim: 'restore-b', target: { time: '2099-01-01T00:00:00Z' } }));
    const r = await until('too-late', ['Succeeded', 'Failed', 'Restoring']);
    assert.equal(r.status?.phase, 'Failed');
    assert.deepEqual([condition(r, 'Stalled')?.status, condition(r, 'Stalled')?.reason, condition(r, 'Ready')?.status, condition(r, 'Reconciling')?.status],
      ['True', 'TargetNotInArchive', 'False', 'False']);
    assert.match(r.status?.message ?? '', /ETARGET: .*after the last archived event/);
    assert.equal(r.status?.jobName, undefined);
    assert.deepEqual((await listJobs(ns)).filter((j) => j.name.startsWith('too-late')).map((j) => j.name.includes('-plan-')), [true], 'only the plan Job');
    assert.ok(!fs.existsSync(kubelet.claimPath('restore-b')) || fs.readdirSync(kubelet.claimPath('restore-b')).length === 0, 'nothing written');
    const events = await waitFor('the Failed event', async () => (await listEvents(ns, 'too-late')).find((e) => e.reason === 'Failed'), 10_000);
    assert.equal(events.type, 'Warning');
  });

  it('waits with a condition naming the problem: a missing policy or claim; a second restore on a busy target waits for the first', async () => {
    await apply('no-policy', restoreSpecOf({ policy: 'absent', claim: 'restore-c' }));
    await apply('no-claim', restoreSpecOf({ claim: 'restore-x' }));
    for (const [name, reason, text] of [['no-policy', 'PolicyNotFound', /BinlogArchivePolicy absent/], ['no-claim', 'ClaimNotFound', /PersistentVolumeClaim restore-x/]] as const) {
      const r = await until(name, ['Pending']);
      assert.deepEqual([condition(r, 'Reconciling')?.status, condition(r, 'Reconciling')?.reason, condition(r, 'Ready')?.status, condition(r, 'Stalled')?.status], ['True', reason, 'False', 'False']);
      assert.match(condition(r, 'Reconciling')?.message ?? '', text);
    }
    // Two restores on one claim: the first is held by the kubelet; the second waits for it, then runs.
    kubelet.setHold((job) => job.metadata?.name?.startsWith('first') === true);
    await apply('first', restoreSpecOf({ claim: 'restore-d' }));
    await sleep(200);
    await apply('second', restoreSpecOf({ claim: 'restore-d' }));
    await claim('restore-d');
    await until('first', ['Planning']);
    const waiting = await waitFor('second to wait for first', async () => {
      const s = await get('second');
      return condition(s ?? ({} as Restore), 'Reconciling')?.reason === 'WaitingForActiveRestore' ? s : undefined;
    }, 30_000, describeState('second'));
    assert.match(condition(waiting, 'Reconciling')?.message ?? '', /BinlogRestore .*first/);
    kubelet.setHold(undefined);
    assert.equal((await until('first', ['Succeeded', 'Failed'])).status?.phase, 'Succeeded');
    assert.equal((await until('second', ['Succeeded', 'Failed'], 90_000)).status?.phase, 'Succeeded');
  });

  it('KMS unreachable in the Job: Failed and Stalled with KeyProviderUnavailable, nothing reported as restored', async () => {
    await claim('restore-k');
    const spec = restoreSpecOf({ claim: 'restore-k' });
    // Nothing listens on port 1 of loopback: every KMS call is refused (EKEYUNAVAILABLE after the SDK's retries).
    await apply('kms-down', { ...spec, sourceServer: 'src-k', archive: { ...spec.archive, keyProvider: { awsKms: { keyId: need('kms').keyAlias, region: need('kms').region, endpoint: 'http://127.0.0.1:1' } } } });
    const r = await until('kms-down', ['Succeeded', 'Failed'], 120_000);
    assert.equal(r.status?.phase, 'Failed');
    assert.deepEqual([condition(r, 'Ready')?.reason, condition(r, 'Stalled')?.status, condition(r, 'Stalled')?.reason], ['KeyProviderUnavailable', 'True', 'KeyProviderUnavailable']);
    assert.match(condition(r, 'Stalled')?.message ?? '', /EKEYUNAVAILABLE/);
    assert.equal(r.status?.binlogsRestored, undefined, 'nothing is reported as restored');
    assert.equal(r.status?.recoveredUntil, undefined);
  });

  it('a server output waits for its Service, and while the Service selects a pod an active policy archives; suspending the policy starts it', async () => {
    const waitReason = (name: string, reason: string) => waitFor(`${name} to wait with ${reason}`, async () => {
      const r = await get(name);
      return r?.status?.phase === 'Pending' && condition(r, 'Reconciling')?.reason === reason ? r : undefined;
    }, 30_000, describeState(name));
    kubelet.setHold((job) => job.metadata?.name?.startsWith('into-archived') === true);
    await apply('into-archived', { ...restoreSpecOf({}), output: { server: { service: 'orders-db', credentialsSecret: { name: 'db-admin' } } } });
    assert.match(condition(await waitReason('into-archived', 'ServiceNotFound'), 'Reconciling')?.message ?? '', /Service orders-db in namespace/);
    // The pod is bound to the stand-in's node (on the real node its image could not be pulled), and the controller
    // sees it and the policy before the Service appears: otherwise it may find the Service, no archiving policy yet,
    // and start planning in between.
    await ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'orders-db-0', namespace: ns, labels: { app: 'orders-db' } }, spec: { nodeName: 'node-1', containers: [{ name: 'mysql', image: 'mariadb:test' }] } }));
    await applyPolicy(ns, { name: 'orders-archive', app: 'orders-db', prefix: `${prefix}-orders` });
    await waitFor('the controller to take up orders-archive', async () =>
      ((await ok(['get', 'bap', 'orders-archive', '-n', ns, '-o', 'jsonpath={.metadata.finalizers}'])).includes('binlog.archiver.dev/') ? true : undefined), 30_000);
    await ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'orders-db', namespace: ns }, spec: { selector: { app: 'orders-db' }, ports: [{ port: 3306 }] } }));
    const refused = await waitReason('into-archived', 'TargetIsArchived');
    assert.match(condition(refused, 'Reconciling')?.message ?? '', /Service orders-db selects pod orders-db-0, which BinlogArchivePolicy orders-archive archives: .*spec\.suspend: true/);
    assert.deepEqual(await listJobs(ns).then((jobs) => jobs.filter((j) => j.name.startsWith('into-archived'))), [], 'no Job while the target is archived');
    await applyPolicy(ns, { name: 'orders-archive', app: 'orders-db', prefix: `${prefix}-orders`, suspend: true });
    assert.equal((await until('into-archived', ['Planning', 'Restoring', 'Succeeded', 'Failed'], 30_000)).status?.phase, 'Planning');
    await ok(['delete', 'blr', 'into-archived', '-n', ns, '--wait=false']);
    kubelet.setHold(undefined);
  });
});
