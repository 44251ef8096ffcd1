// test-resources: cpu:shared
/**
 * Crashes and replicas. A controller SIGKILLed while its Job waits to run, and again while the Job's process runs,
 * then restarted, creates no second Job for the same binlogs and loses no file: every closed binlog ends up in the
 * archive, without a gap. Two replicas with leader election: only the holder of the Lease reconciles and creates
 * Jobs; when it is killed the other takes the Lease over and carries on.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ok } from '../api/kubectl.ts';
import { FakeKubelet } from '../support/kubelet.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';
import {
  ControllerProcess, type Mariadb, applyPolicy, awsCredentialsFile, createSecrets, deletePrefix, getPolicy, listJobs, listKeys, metricValue,
  setupNamespace, startMariadb, teardownNamespace, tempDir, waitFor,
} from './helpers.ts';

const skip = skipUnlessIn('kube') || skipUnlessIn('s3') || skipUnlessIn('mysql');
const ARGS = ['--read-store', '--store-check-interval', '3s', '--status-refresh', '5s', '--agent-wait-seconds', '10'];

/** The archived binlog names of a source, from the manifest entries in S3. */
async function archived(prefix: string, source: string): Promise<string[]> {
  return (await listKeys(prefix)).filter((k) => k.startsWith(`manifest/${source}/`)).map((k) => k.slice(k.indexOf('-', `manifest/${source}/`.length) + 1, -'.json'.length));
}

/** No two runs of Jobs of the same pod overlapped in time (at most one running per source). */
function assertNoOverlap(runs: FakeKubelet['runs']): void {
  const sorted = [...runs].sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const next = sorted[i];
    if (prev === undefined || next === undefined) continue;
    assert.ok(next.startedAt.getTime() >= prev.finishedAt.getTime(), `${next.job} started before ${prev.job} finished`);
  }
}

describe('controller: SIGKILL and restart, and two replicas under leader election', { skip, timeout: 420_000 }, () => {
  let ns: string;
  let db: Mariadb;
  let kubelet: FakeKubelet;
  const controllers: ControllerProcess[] = [];
  let creds: ReturnType<typeof awsCredentialsFile>;
  const dir = tempDir();
  const prefix = `ctl-restart-${Date.now().toString(36)}`;
  let hold = false;

  const state = (policy: string) => async () => {
    const p = await getPolicy(ns, policy).catch(() => undefined);
    return `status ${JSON.stringify(p?.status)}\njobs ${JSON.stringify(await listJobs(ns).catch(() => []))}\nkubelet errors ${kubelet.errors.join('; ')}\n` +
      `controllers:\n${controllers.map((c) => c.logTail(15)).join('\n---\n')}`;
  };

  async function start(args: string[] = []): Promise<ControllerProcess> {
    const c = await ControllerProcess.start({ namespace: ns, env: creds.env, args: [...ARGS, ...args] });
    controllers.push(c);
    return c;
  }

  before(async () => {
    const { kubeconfig } = need('kube');
    ns = await setupNamespace('blctl-restart');
    creds = awsCredentialsFile(dir);
    await createSecrets(ns, creds.text);
    db = await startMariadb('ctl-restart');
    kubelet = new FakeKubelet({ kubeconfig, namespace: ns, hold: () => hold }).start();
  });

  after(async () => {
    if (ns !== undefined) await teardownNamespace(ns);
    await Promise.all(controllers.map((c) => c.kill('SIGKILL')));
    await kubelet?.stop();
    await db?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    await deletePrefix(prefix);
  });

  it('SIGKILLed mid-run and restarted: no duplicate Job, no file lost', async () => {
    const policy = 'crash';
    const source = `${ns}-mysql-c`;
    hold = true;
    const first = await start();
    await applyPolicy(ns, { name: policy, app: 'crash', prefix });
    await kubelet.addMysqlPod({ name: 'mysql-c', labels: { app: 'crash' }, binlogDir: db.binlogDir });
    const b1 = await db.writeAndRotate();
    const job = await waitFor('the first archive Job', async () => (await listJobs(ns)).find((j) => j.pod === 'mysql-c'), 60_000, state(policy));
    assert.equal(job.trigger, b1);
    // Killed while its Job waits for a node; more rotations happen while no controller runs.
    await first.kill('SIGKILL');
    const b2 = await db.writeAndRotate();
    const b3 = await db.writeAndRotate();
    const second = await start();
    await waitFor('the restarted controller to reconcile', async () => ((await second.metric('binlog_archiver_reconcile_total')) ?? 0) >= 1 ? true : undefined, 30_000);
    await sleep(3000);
    assert.deepEqual((await listJobs(ns)).map((j) => j.name), [job.name], 'one Job per pod while it runs: the restarted controller waits for it');

    // The Job runs; the controller is killed again while the Job's process works, and restarted.
    hold = false;
    await waitFor('the Job process to start', () => Promise.resolve(kubelet.runningJobs().length > 0 || kubelet.runs.length > 0 ? true : undefined), 30_000);
    await second.kill('SIGKILL');
    const third = await start();
    const p = await waitFor(`every binlog up to ${b3} archived`, async () => {
      const x = await getPolicy(ns, policy);
      return x.status?.lastArchivedBinlog === `mysql-c/${b3}` && x.status.sources?.[0]?.pendingBinlogs === 0 ? x : undefined;
    }, 120_000, state(policy));
    const jobs = await listJobs(ns);
    const triggers = jobs.map((j) => j.trigger);
    assert.equal(new Set(triggers).size, triggers.length, `no two Jobs for one trigger: ${triggers.join(', ')}`);
    assert.equal(new Set(jobs.map((j) => j.name)).size, jobs.length);
    assert.ok(jobs.length <= 2, `the first Job archived ${b1}..${b3} at once, or one more Job did: ${JSON.stringify(jobs)}`);
    assertNoOverlap(kubelet.runs.filter((r) => r.job.startsWith('crash-mysql-c')));
    assert.deepEqual(await archived(prefix, source), [b1, b2, b3]);
    assert.equal(p.status?.sources?.[0]?.gaps, 0);
    // One more rotation is archived by the third controller.
    const b4 = await db.writeAndRotate();
    await waitFor(`${b4} archived`, async () => ((await getPolicy(ns, policy)).status?.lastArchivedBinlog === `mysql-c/${b4}` ? true : undefined), 60_000, state(policy));
    assert.deepEqual(await archived(prefix, source), [b1, b2, b3, b4]);
    await third.kill('SIGTERM');
    await ok(['patch', 'bap', policy, '-n', ns, '--type=merge', '-p', '{"spec":{"suspend":true}}']);
  });

  it('two replicas: only the Lease holder reconciles and creates Jobs; when it dies the other takes over', async () => {
    const policy = 'ha';
    const lease = ['--leader-elect', '--lease-namespace', ns];
    const a = await start([...lease, '--id', 'replica-a']);
    await waitFor('replica-a to lead', async () => ((await a.metric('binlog_archiver_leader')) === 1 ? true : undefined), 30_000);
    const b = await start([...lease, '--id', 'replica-b']);
    await waitFor('replica-b to sync its caches', async () => ((await fetch(`${b.healthUrl}/readyz`)).status === 200 ? true : undefined), 30_000);
    assert.equal(await b.metric('binlog_archiver_leader'), 0, 'the standby does not lead');

    await applyPolicy(ns, { name: policy, app: 'ha', prefix });
    await kubelet.addMysqlPod({ name: 'mysql-h', labels: { app: 'ha' }, binlogDir: db.binlogDir });
    const r1 = await db.writeAndRotate();
    await waitFor(`${r1} archived`, async () => ((await getPolicy(ns, policy)).status?.lastArchivedBinlog === `mysql-h/${r1}` ? true : undefined), 90_000, state(policy));
    assert.ok(((await a.metric('binlog_archiver_jobs_created_total', { policy })) ?? 0) >= 1);
    assert.equal(await b.metric('binlog_archiver_jobs_created_total', { policy }), undefined, 'the standby created no Job');
    assert.equal(await b.metric('binlog_archiver_reconcile_total'), undefined, 'the standby reconciled nothing');
    const holder = JSON.parse(await ok(['get', 'lease', 'binlog-archiver-controller', '-n', ns, '-o', 'json'])) as { spec: { holderIdentity: string; leaseDurationSeconds: number } };
    assert.deepEqual([holder.spec.holderIdentity, holder.spec.leaseDurationSeconds], ['replica-a', 15]);

    // The leader dies without releasing the Lease: the standby takes over once the Lease expires.
    const killedAt = Date.now();
    await a.kill('SIGKILL');
    await waitFor('replica-b to lead', async () => ((await b.metric('binlog_archiver_leader')) === 1 ? true : undefined), 40_000, state(policy));
    const tookMs = Date.now() - killedAt;
    assert.ok(tookMs >= 10_000, `took over after ${tookMs} ms: not before the Lease could have expired`);
    const r2 = await db.writeAndRotate();
    await waitFor(`${r2} archived by replica-b`, async () => ((await getPolicy(ns, policy)).status?.lastArchivedBinlog === `mysql-h/${r2}` ? true : undefined), 90_000, state(policy));
    assert.ok(((await b.metric('binlog_archiver_jobs_created_total', { policy })) ?? 0) >= 1);
    const after = JSON.parse(await ok(['get', 'lease', 'binlog-archiver-controller', '-n', ns, '-o', 'json'])) as { spec: { holderIdentity: string; leaseTransitions: number } };
    assert.deepEqual([after.spec.holderIdentity, after.spec.leaseTransitions], ['replica-b', 1]);
    const text = await b.metrics();
    assert.ok((metricValue(text, 'binlog_archiver_reconcile_total') ?? 0) >= 1);

    // A graceful stop releases the Lease at once: a new replica takes over within a few seconds.
    await b.kill('SIGTERM');
    const c = await start([...lease, '--id', 'replica-c']);
    const t0 = Date.now();
    await waitFor('replica-c to lead', async () => ((await c.metric('binlog_archiver_leader')) === 1 ? true : undefined), 20_000);
    assert.ok(Date.now() - t0 < 10_000, 'a released Lease is taken without waiting for it to expire');
  });
});
