/**
 * The whole loop, every piece real but the kubelet: MariaDB writes and rotates its binlog, the agent sidecar (the
 * real `binlog-archiver agent` process) notices, the controller (a separate process, `binlog-archiver controller`,
 * against the real kube-apiserver) creates an archive Job, the test kubelet runs the Job's own command line, the
 * objects land in the real S3 server, and the policy's status (kubectl get bap) shows the last archived binlog and
 * the recoverable window. Then a deleted archive object turns the policy to BinlogGapDetected, with an Event and a
 * metric. Finally, deleting the policy removes its finalizer and keeps the archive.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { kubectl, ok } from '../api/kubectl.ts';
import type { FakeKubelet, MysqlPod } from '../support/kubelet.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';
import {
  BIN, type ControllerProcess, type Loop, type Mariadb, applyPolicy, conditionOf, deletePrefix, deleteKey, getPolicy, listEvents, listJobs, listKeys,
  metricValue, startLoop, stopLoop, tempDir, waitFor,
} from './helpers.ts';

const run = promisify(execFile);
const skip = skipUnlessIn('kube') || skipUnlessIn('s3') || skipUnlessIn('mysql');

describe('controller: rotation to archived object, on the real API server, S3 and MariaDB', { skip, timeout: 300_000 }, () => {
  let ns: string;
  let db: Mariadb;
  let kubelet: FakeKubelet;
  let controller: ControllerProcess;
  let pod: MysqlPod;
  let creds: Loop['creds'];
  let masterKeyHex: string;
  const dir = tempDir();
  const prefix = `ctl-loop-${Date.now().toString(36)}`;
  const policy = 'orders';

  const describeState = async () => {
    const p = await getPolicy(ns, policy).catch(() => undefined);
    return `status ${JSON.stringify(p?.status)}\njobs ${JSON.stringify(await listJobs(ns).catch(() => []))}\nkubelet errors ${kubelet.errors.join('; ')}\nkubelet trace ${kubelet.trace.join('\n')}\ncontroller:\n${controller.logTail(30)}\nkubelet logs:\n${kubelet.logs(1500)}`;
  };

  before(async () => {
    ({ ns, creds, masterKeyHex, db, kubelet, controller } = await startLoop('ctl-loop', dir));
  });

  after(async () => {
    await stopLoop({ ns, controller, kubelet, db });
    fs.rmSync(dir, { recursive: true, force: true });
    await deletePrefix(prefix);
  });

  it('archives each rotation through a Job the controller creates; the status shows the last binlog and the recoverable window', async () => {
    await applyPolicy(ns, { name: policy, app: 'mysql-loop', prefix });
    pod = await kubelet.addMysqlPod({ name: 'mysql-0', labels: { app: 'mysql-loop' }, binlogDir: db.binlogDir });
    const first = await db.writeAndRotate();
    await waitFor(`status.lastArchivedBinlog to be mysql-0/${first}`, async () => ((await getPolicy(ns, policy)).status?.lastArchivedBinlog === `mysql-0/${first}` ? true : undefined), 90_000, describeState);
    const second = await db.writeAndRotate();
    const p = await waitFor(`status.lastArchivedBinlog to be mysql-0/${second}`, async () => {
      const x = await getPolicy(ns, policy);
      // The store shows the second binlog archived before the Job's result reaches the status: wait for both.
      const runs = x.status?.recentRuns ?? [];
      const settled = runs.length === 2 && runs.every((r) => r.result === 'Succeeded');
      return x.status?.lastArchivedBinlog === `mysql-0/${second}` && x.status.sources?.[0]?.pendingBinlogs === 0 && settled ? x : undefined;
    }, 90_000, describeState);

    // One Job per rotation, named from the closed binlog, each complete; the kubelet ran the Job's own command.
    const jobs = await listJobs(ns);
    assert.deepEqual(jobs.map((j) => [j.pod, j.trigger, j.done]).sort(), [['mysql-0', first, 'Complete'], ['mysql-0', second, 'Complete']]);
    assert.equal(kubelet.runs.length, 2);
    for (const r of kubelet.runs) {
      assert.equal(r.exitCode, 0, r.message);
      assert.equal(r.args[r.args.indexOf('--source') + 1], `${ns}-mysql-0`);
      assert.match(r.message, /^\{"schema":"binlog-archiver.dev\/run-report\/v1","ok":true/);
    }

    // The objects are in S3 under the source's name and the sequence numbers.
    const source = `${ns}-mysql-0`;
    const keys = await listKeys(prefix);
    const seq = (name: string) => name.split('.').at(-1)?.padStart(10, '0') ?? '';
    for (const name of [first, second]) {
      assert.ok(keys.includes(`binlogs/${source}/${seq(name)}-${name}.blarc`), `object of ${name} in ${keys.join(', ')}`);
      assert.ok(keys.includes(`manifest/${source}/${seq(name)}-${name}.json`), `manifest entry of ${name}`);
    }
    assert.ok(keys.includes(`index/${source}.json`));

    // The status: per source and aggregated, observedGeneration, the runs, the conditions.
    const s = p.status?.sources?.[0];
    assert.equal(s?.pod, 'mysql-0');
    assert.equal(s?.server, source);
    assert.equal(s?.lastArchivedBinlog, second);
    assert.equal(s?.gaps, 0);
    assert.equal(s?.lagSeconds, 0);
    assert.ok(s?.firstRecoverableTime !== undefined && s.lastRecoverableTime !== undefined, JSON.stringify(s));
    assert.ok(Date.parse(s.firstRecoverableTime) <= Date.parse(s.lastRecoverableTime));
    assert.match(s.archivedGtidSet ?? '', /^0-\d+-\d+$/, 'MariaDB GTID position of the archived transactions');
    assert.equal(p.status?.recoverableUntil, s.lastRecoverableTime);
    assert.equal(p.status?.observedGeneration, p.metadata.generation);
    assert.deepEqual([conditionOf(p, 'Ready')?.status, conditionOf(p, 'Ready')?.reason], ['True', 'ArchivingSucceeded']);
    assert.deepEqual([conditionOf(p, 'ContinuousArchiving')?.status, conditionOf(p, 'ContinuousArchiving')?.reason], ['True', 'ArchivingSucceeded']);
    assert.deepEqual(p.status?.recentRuns?.map((r) => [r.result, r.binlogsArchived, r.source]), [['Succeeded', 1, source], ['Succeeded', 1, source]]);
    assert.ok(p.metadata.finalizers?.includes('binlog.archiver.dev/stop-jobs'));

    // kubectl get bap: what a person reads.
    const table = await ok(['get', 'bap', policy, '-n', ns]);
    const row = table.trim().split('\n')[1]?.split(/\s+/) ?? [];
    assert.deepEqual(row.slice(0, 5), [policy, 'True', `mysql-0/${second}`, '0', s.lastRecoverableTime], table);

    // Events a person sees, Kubernetes style.
    const events = await waitFor('two Archived events', async () => {
      const e = await listEvents(ns, policy);
      return e.filter((x) => x.reason === 'Archived').length === 2 ? e : undefined;
    }, 20_000);
    const notes = events.filter((e) => e.reason === 'Archived').map((e) => e.note).sort();
    assert.match(notes[0] ?? '', new RegExp(`^Archived 1 binlog of ${ns}/mysql-0 \\(${first.replace('.', '\\.')}, [\\d.]+ KiB\\) in [\\d.]+s$`));
    assert.equal(events.filter((e) => e.reason === 'ArchiveJobCreated').length, 2);

    // Metrics.
    const text = await controller.metrics();
    assert.equal(metricValue(text, 'binlog_archiver_binlogs_archived_total', { namespace: ns, policy, source }), 2);
    assert.ok((metricValue(text, 'binlog_archiver_bytes_archived_total', { namespace: ns, policy, source }) ?? 0) > 0);
    assert.equal(metricValue(text, 'binlog_archiver_jobs_created_total', { namespace: ns, policy }), 2);
    assert.equal(metricValue(text, 'binlog_archiver_lag_seconds', { source }), 0);
    assert.equal(metricValue(text, 'binlog_archiver_binlog_gaps', { source }), 0);
    assert.ok((metricValue(text, 'binlog_archiver_last_success_timestamp_seconds', { source }) ?? 0) > Date.now() / 1000 - 600);
    assert.equal(metricValue(text, 'binlog_archiver_condition', { policy, type: 'Ready', status: 'True', reason: 'ArchivingSucceeded' }), 1);
    assert.equal(metricValue(text, 'binlog_archiver_job_duration_seconds_count', { policy, result: 'Succeeded' }), 2);
    assert.ok((metricValue(text, 'binlog_archiver_reconcile_total') ?? 0) >= 2);
    assert.ok((metricValue(text, 'binlog_archiver_kube_api_requests_total', { verb: 'create', resource: 'jobs', code: '201' }) ?? 0) === 2);
    assert.equal(metricValue(text, 'binlog_archiver_agents_reachable'), 1);
    assert.ok(metricValue(text, 'binlog_archiver_workqueue_depth') !== undefined);
    assert.ok((metricValue(text, 'binlog_archiver_process_resident_memory_bytes') ?? 0) > 0);
    assert.equal((await fetch(`${controller.healthUrl}/healthz`)).status, 200);
    assert.equal((await fetch(`${controller.healthUrl}/readyz`)).status, 200);

    // Log lines carry the Job's correlation id.
    const created = jobs.map((j) => j.correlationId);
    assert.ok(created.every((id) => controller.hasLog((l) => l.msg === 'Created archive Job' && l.correlationId === id)), controller.logTail());

    // The archive verifies with the CLI, decrypting every object with the master key.
    const keyFile = path.join(dir, 'master.key');
    fs.writeFileSync(keyFile, masterKeyHex, { mode: 0o600 });
    const s3 = need('s3');
    const url = `s3://${s3.bucket}/${prefix}?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&forcePathStyle=true`;
    const verified = await run(process.execPath, [BIN, 'verify', '--store', url, '--key', `file://${keyFile}`, '--source', source, '--json'], { env: { ...creds.env, PATH: process.env.PATH, HOME: dir } });
    assert.equal((JSON.parse(verified.stdout) as { verified: number }).verified, 2);
    assert.equal(pod.name, 'mysql-0');
  });

  it('a deleted archive object is a gap: BinlogGapDetected, a Warning event and the gap metric', async () => {
    const source = `${ns}-mysql-0`;
    const victim = (await listKeys(prefix)).find((k) => k.startsWith(`binlogs/${source}/`) && k.endsWith('.blarc'));
    assert.ok(victim !== undefined);
    await deleteKey(prefix, victim);
    const p = await waitFor('Ready=False BinlogGapDetected', async () => {
      const x = await getPolicy(ns, policy);
      return conditionOf(x, 'Ready')?.reason === 'BinlogGapDetected' ? x : undefined;
    }, 30_000, describeState);
    assert.equal(conditionOf(p, 'Ready')?.status, 'False');
    assert.deepEqual([conditionOf(p, 'ContinuousArchiving')?.status, conditionOf(p, 'ContinuousArchiving')?.reason], ['False', 'BinlogGapDetected']);
    assert.match(conditionOf(p, 'Ready')?.message ?? '', new RegExp(`gaps in the archived binlog chain of ${source} \\(1\\)`));
    assert.equal(p.status?.sources?.[0]?.gaps, 1);
    const gap = await waitFor('a BinlogGapDetected event', async () => (await listEvents(ns, policy)).find((e) => e.reason === 'BinlogGapDetected'), 20_000);
    assert.equal(gap.type, 'Warning');
    assert.match(gap.note, new RegExp(`^Binlog gap in the archive of ${ns}/mysql-0: mysql-bin\\.\\d+ is in the manifest but its archive object is missing from the store`));
    const text = await controller.metrics();
    assert.equal(metricValue(text, 'binlog_archiver_binlog_gaps', { source }), 1);
    assert.equal(metricValue(text, 'binlog_archiver_gaps_detected_total', { source }), 1);
    assert.equal(metricValue(text, 'binlog_archiver_condition', { policy, type: 'Ready', status: 'False', reason: 'BinlogGapDetected' }), 1);
    assert.equal(metricValue(text, 'binlog_archiver_condition', { policy, type: 'Ready', status: 'True' }), undefined, 'the old condition series is gone');
  });

  it('deleting the policy removes its finalizer and keeps the archived objects', async () => {
    const before = await listKeys(prefix);
    await ok(['delete', 'bap', policy, '-n', ns, '--wait=true', '--timeout=30s']);
    assert.notEqual((await kubectl(['get', 'bap', policy, '-n', ns])).code, 0);
    assert.deepEqual(await listKeys(prefix), before, 'nothing archived was deleted');
  });
});
