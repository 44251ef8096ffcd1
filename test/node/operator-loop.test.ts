// test-resources: kube-node:shared, node-heavy
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
import type { BinlogArchivePolicy } from '../../src/api/index.ts';
import { eventually, kubectl, ok, uniqueName } from '../api/kubectl.ts';
import { type MariadbPod, startMariadbPod } from '../support/mariadb-pod.ts';
import { nodeSkip } from '../support/node.ts';
import { type OperatorNamespace, POLICY, installOperator, serverOutput } from '../support/operator-namespace.ts';
import { WORKLOAD_SCHEMA, checksums, workloadRound } from '../support/workload.ts';

interface Moment { gtid: string; sums: string }

describe('the operator loop on the real node: helm install, MariaDB Pod with the agent, archive, BinlogRestore into a fresh server', { skip: nodeSkip(), timeout: 900_000 }, () => {
  const ns = uniqueName('loop');
  const db = `loop_${randomBytes(3).toString('hex')}`;
  let op: OperatorNamespace | undefined;
  let source: MariadbPod | undefined;
  let target: MariadbPod | undefined;
  let replicaTarget: MariadbPod | undefined;
  const moments: Moment[] = [];

  before(async () => {
    op = await installOperator(ns);
    source = await startMariadbPod({ ns, name: 'mysql', serverId: 1, agentFor: op.policySpec });
    target = await startMariadbPod({ ns, name: 'restore-target', serverId: 2 });
    await op.restoreAccount(target);
  });

  after(async () => {
    if (op !== undefined) process.stderr.write(await op.describe());
    await op?.uninstall();
    await source?.cleanup();
    await target?.cleanup();
    await replicaTarget?.cleanup();
    await kubectl(['delete', 'namespace', ns, '--wait=true', '--timeout=90s']);
  });

  async function restoreInto(name: string, service: string, gtid: string, applyMode: 'session' | 'replication') {
    const r = await op!.restore(name, { target: { gtid }, output: serverOutput(service, applyMode) });
    process.stderr.write(`kubectl get blr:\n${await ok(['get', 'blr', '-n', ns])}`);
    if (r.status?.phase === 'Succeeded') assert.equal(r.status.applyMode, applyMode, `status.applyMode (${r.status.applyModeReason ?? ''})`);
    return r;
  }

  it('the controller Pod leads; rotations in the MariaDB Pod are archived through the agent; kubectl get bap shows them', async () => {
    assert.match(await op!.leader(), /controller/);
    await ok(['apply', '-n', ns, '-f', '-'], JSON.stringify({ apiVersion: 'binlog.archiver.dev/v1alpha1', kind: 'BinlogArchivePolicy', metadata: { name: POLICY }, spec: op!.policySpec }));
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
      const p = JSON.parse(await ok(['get', 'bap', POLICY, '-n', ns, '-o', 'json'])) as BinlogArchivePolicy;
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

  it('helm upgrade with a changed value: the new controller Pod takes the Lease and goes on reconciling (the restores below run through it)', async () => {
    const before = await op!.leader();
    assert.match(await op!.upgrade(['logLevel=debug']), /REVISION: 2/);
    const args = await ok(['get', 'deployment', 'ba-binlog-archiver-controller', '-n', ns, '-o', 'jsonpath={.spec.template.spec.containers[0].args}']);
    assert.match(args, /--log-level=debug/);
    const after = await op!.leader();
    assert.notEqual(after, before, 'the upgraded Deployment\'s new Pod leads');
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
    await op!.restoreAccount(replicaTarget);
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
