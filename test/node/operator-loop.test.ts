/**
 * The operator's whole loop on the real node, as a user runs it: the chart installed with helm (the controller is a
 * Pod that elects itself leader through its Lease and reaches the API server through the `kubernetes` Service), a
 * MariaDB StatefulSet Pod with the agent sidecar, a BinlogArchivePolicy into S3 with AWS KMS. Rotations in the Pod
 * reach the controller through the agent, the controller's archive Jobs archive them, `kubectl get bap` shows it.
 * Then a BinlogRestore with a server output replays up to a GTID into a fresh MariaDB Pod behind a Service: the
 * target's tables equal the source's at that moment, and its GTID position is exactly the target.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { BinlogArchivePolicy, BinlogArchivePolicySpec, BinlogRestore } from '../../src/api/index.ts';
import { CHART, helm, tool, valuesFile } from '../chart/helm.ts';
import { eventually, kubectl, ok, uniqueName } from '../api/kubectl.ts';
import { type MariadbPod, startMariadbPod } from '../support/mariadb-pod.ts';
import { need, nodeSkip } from '../support/node.ts';
import { REPO_ROOT } from '../support/testenv.ts';
import { WORKLOAD_SCHEMA, checksums, workloadRound } from '../support/workload.ts';

interface Moment { gtid: string; sums: string }

describe('the operator loop on the real node: helm install, MariaDB Pod with the agent, archive, BinlogRestore into a fresh server', { skip: nodeSkip(), timeout: 900_000 }, () => {
  const ns = uniqueName('loop');
  const release = 'ba';
  const db = `loop_${randomBytes(3).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  let source: MariadbPod | undefined;
  let target: MariadbPod | undefined;
  let replicaTarget: MariadbPod | undefined;
  const moments: Moment[] = [];

  function policySpec(): BinlogArchivePolicySpec {
    const s3 = need('s3');
    const kms = need('kms');
    return {
      source: { selector: { matchLabels: { app: 'mysql' } }, container: 'mysql', binlogVolume: 'data', binlogPath: 'binlog' },
      storage: { bucket: s3.bucket, prefix: `loop/${ns}`, region: s3.region, endpoint: s3.podEndpoint, forcePathStyle: true, credentials: { secretName: 's3-credentials' } },
      keyProvider: { awsKms: { keyId: kms.keyAlias, region: kms.region, endpoint: kms.podEndpoint } },
    };
  }

  before(async () => {
    const { kubeconfig } = need('node');
    const s3 = need('s3');
    await tool('helm');
    await ok(['apply', '-f', `${REPO_ROOT}/crds`]);
    await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/binlogarchivepolicies.binlog.archiver.dev', 'crd/binlogrestores.binlog.archiver.dev']);
    await ok(['create', 'namespace', ns]);
    await ok(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/enforce-version=latest']);
    // One profile for S3 and KMS, as on AWS (the test KMS accepts any signed request).
    await ok(['create', 'secret', 'generic', 's3-credentials', '-n', ns,
      `--from-literal=credentials=[default]\naws_access_key_id = ${s3.accessKeyId}\naws_secret_access_key = ${s3.secretAccessKey}\n`]);
    await ok(['create', 'secret', 'generic', 'restore-account', '-n', ns, '--from-literal=username=restorer', `--from-literal=password=${password}`]);
    const [repository, tag] = need('node').image.split(':');
    const installed = await helm(['install', release, CHART, '--kubeconfig', kubeconfig, '--namespace', ns, '--wait', '--timeout', '180s', '-f', valuesFile({
      replicaCount: 1, crds: { create: false }, image: { repository, tag, pullPolicy: 'IfNotPresent' }, watchNamespace: ns, leaderElection: { enabled: true },
    })]);
    assert.equal(installed.code, 0, `helm install: ${installed.stderr}`);
    source = await startMariadbPod({ ns, name: 'mysql', serverId: 1, agentFor: policySpec() });
    target = await startMariadbPod({ ns, name: 'restore-target', serverId: 2 });
    // Not binlogged: the target's GTID position stays empty, so the replay's GTIDs are all it executes.
    await restoreAccount(target);
  });

  async function restoreAccount(server: MariadbPod): Promise<void> {
    await server.query(`SET sql_log_bin = 0; CREATE USER 'restorer'@'%' IDENTIFIED BY '${password}'; GRANT ALL PRIVILEGES ON *.* TO 'restorer'@'%'`);
  }

  async function restoreInto(name: string, service: string, gtid: string, applyMode: 'session' | 'replication'): Promise<BinlogRestore> {
    await ok(['apply', '-n', ns, '-f', '-'], JSON.stringify({
      apiVersion: 'binlog.archiver.dev/v1alpha1', kind: 'BinlogRestore', metadata: { name },
      spec: { archive: { policyRef: { name: 'orders' } }, sourceServer: `${ns}-mysql-0`, target: { gtid },
        output: { server: { service, applyMode, credentialsSecret: { name: 'restore-account' } } } },
    }));
    const r = await eventually(`BinlogRestore ${name} to finish`, async () => {
      const x = JSON.parse(await ok(['get', 'blr', name, '-n', ns, '-o', 'json'])) as BinlogRestore;
      return x.status?.phase === 'Succeeded' || x.status?.phase === 'Failed' ? x : undefined;
    }, 180_000);
    process.stderr.write(`kubectl get blr:\n${await ok(['get', 'blr', '-n', ns])}`);
    return r;
  }

  after(async () => {
    // What a person would look at when it failed: the objects and the last lines of every Job Pod.
    process.stderr.write((await kubectl(['get', 'pods,jobs,bap,blr', '-n', ns, '-o', 'wide'])).stdout);
    process.stderr.write((await kubectl(['logs', '-n', ns, '-l', 'batch.kubernetes.io/job-name', '--tail=20', '--prefix'])).stdout);
    await helm(['uninstall', release, '--kubeconfig', need('node').kubeconfig, '--namespace', ns, '--ignore-not-found']);
    await source?.cleanup();
    await target?.cleanup();
    await replicaTarget?.cleanup();
    await kubectl(['delete', 'namespace', ns, '--wait=true', '--timeout=90s']);
  });

  it('the controller Pod leads; rotations in the MariaDB Pod are archived through the agent; kubectl get bap shows them', async () => {
    const pods = JSON.parse(await ok(['get', 'pods', '-n', ns, '-l', 'app.kubernetes.io/component=controller', '-o', 'json'])) as { items: { metadata: { name: string } }[] };
    assert.equal(pods.items.length, 1, 'one controller Pod');
    const leader = pods.items[0]?.metadata.name ?? '';
    await eventually('the controller Pod to hold the Lease', async () => {
      const leases = JSON.parse(await ok(['get', 'leases', '-n', ns, '-o', 'json'])) as { items: { spec?: { holderIdentity?: string } }[] };
      return leases.items.some((l) => (l.spec?.holderIdentity ?? '').startsWith(leader)) ? true : undefined;
    }, 60_000);
    await ok(['apply', '-n', ns, '-f', '-'], JSON.stringify({ apiVersion: 'binlog.archiver.dev/v1alpha1', kind: 'BinlogArchivePolicy', metadata: { name: 'orders' }, spec: policySpec() }));
    const mysql = source!;
    await mysql.query(WORKLOAD_SCHEMA(db));
    for (let round = 0; round < 4; round++) {
      await workloadRound(mysql, db, round, 25);
      moments.push({ gtid: (await mysql.query('SELECT @@gtid_binlog_pos')).trim(), sums: await checksums((sql) => mysql.query(sql), db) });
      if (round % 2 === 1) await mysql.query('FLUSH BINARY LOGS');
    }
    await workloadRound(mysql, db, 99, 25);
    await mysql.query('FLUSH BINARY LOGS');
    const closed = (await mysql.query('SHOW BINARY LOGS')).trim().split('\n').map((l) => l.split('\t')[0] ?? '').slice(0, -1);
    const newest = closed.at(-1) ?? '';
    const policy = await eventually(`the policy to have archived ${newest}`, async () => {
      const p = JSON.parse(await ok(['get', 'bap', 'orders', '-n', ns, '-o', 'json'])) as BinlogArchivePolicy;
      return p.status?.sources?.some((s) => s.lastArchivedBinlog === newest) === true ? p : undefined;
    }, 240_000);
    const ready = policy.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'True', JSON.stringify(policy.status?.conditions));
    const table = await ok(['get', 'bap', '-n', ns]);
    process.stderr.write(`kubectl get bap:\n${table}`);
    assert.match(table, /orders/);
    const jobs = JSON.parse(await ok(['get', 'jobs', '-n', ns, '-o', 'json'])) as { items: { status?: { succeeded?: number } }[] };
    assert.ok(jobs.items.some((j) => (j.status?.succeeded ?? 0) > 0), 'an archive Job ran to completion on the node');
  });

  it('a BinlogRestore applies up to a GTID into a fresh MariaDB Pod: the same tables as the source at that moment, and exactly that GTID position', async () => {
    assert.ok(moments.length >= 3, 'the archive test ran first');
    const m = moments[2]!;
    const r = await restoreInto('to-fresh-server', 'restore-target', m.gtid, 'session');
    assert.equal(r.status?.phase, 'Succeeded', JSON.stringify(r.status));
    assert.equal(r.status?.recoveredGtidSet, m.gtid);
    const t = target!;
    assert.equal(await checksums((sql) => t.query(sql), db), m.sums);
    assert.equal((await t.query('SELECT @@gtid_binlog_pos')).trim(), m.gtid);
    // The source went on after that moment: the target did not.
    assert.notEqual(await checksums((sql) => source!.query(sql), db), m.sums);
  });

  it('applyMode replication: the fresh server applies with its own replication applier, fed by the restore Job Pod over the Pod network; exact', async () => {
    assert.ok(moments.length >= 2, 'the archive test ran first');
    const m = moments[1]!;
    replicaTarget = await startMariadbPod({ ns, name: 'replica-target', serverId: 3 });
    await restoreAccount(replicaTarget);
    const r = await restoreInto('by-replication', 'replica-target', m.gtid, 'replication');
    assert.equal(r.status?.phase, 'Succeeded', JSON.stringify(r.status));
    assert.equal(r.status?.recoveredGtidSet, m.gtid);
    const t = replicaTarget;
    assert.equal(await checksums((sql) => t.query(sql), db), m.sums);
    assert.equal((await t.query('SELECT @@gtid_binlog_pos')).trim(), m.gtid);
    // The replica connection the restore set up is gone again.
    assert.equal((await t.query('SHOW ALL SLAVES STATUS')).trim(), '');
  });
});
