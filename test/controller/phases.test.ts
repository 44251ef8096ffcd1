/**
 * The controller core in-process against the real kube-apiserver, without a child process: typed resource access
 * checked at the boundary, writeStatus (normalised compare, conflict retry), the expectations, and the policy
 * reconcile's phases run one by one (observe -> compute -> write status -> act) on real objects.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Expectations } from '../../src/controller/expectations.ts';
import { KubeClient } from '../../src/controller/kube/client.ts';
import { Informer } from '../../src/controller/kube/informer.ts';
import { kinds, parsePolicy } from '../../src/controller/kube/kinds.ts';
import { JOBS, PODS, POLICIES, type Job, type Pod, type Policy, collectionPath } from '../../src/controller/kube/resources.ts';
import { systemTimers } from '../../src/controller/clock.ts';
import { EventRecorder } from '../../src/controller/events.ts';
import { createArchiveJob } from '../../src/controller/policy-act.ts';
import { policyContext } from '../../src/controller/policy-context.ts';
import { computeStatus, observePolicy } from '../../src/controller/policy-observe.ts';
import { normalise, writeStatus } from '../../src/controller/status-writer.ts';
import { silentLogger } from '../../src/logger.ts';
import { ControllerMetrics } from '../../src/metrics/metrics.ts';
import { ok } from '../api/kubectl.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';
import { policyObject, setupNamespace, teardownNamespace, waitFor } from './helpers.ts';

describe('controller core, pure parts', () => {
  it('an object that does not match its schema is refused naming every bad field', () => {
    const good = { apiVersion: 'binlog.archiver.dev/v1alpha1', kind: 'BinlogArchivePolicy', metadata: { name: 'p', namespace: 'n', uid: 'u', resourceVersion: '1' }, spec: { source: { selector: { matchLabels: { app: 'x' } }, binlogVolume: 'data' }, storage: { bucket: 'bucket' }, keyProvider: { local: { secretName: 's' } } } };
    assert.equal(parsePolicy(good).metadata.name, 'p');
    assert.throws(() => parsePolicy({ ...good, spec: { ...good.spec, storage: { bucket: 7 } }, metadata: { name: 'p', namespace: 'n', resourceVersion: '1' } }),
      (err: Error) => /EFORMAT|does not match/.test(err.message) && /\$\.spec\.storage\.bucket is not a string/.test(err.message) && /\$\.metadata\.uid is missing/.test(err.message));
    assert.throws(() => parsePolicy({ ...good, status: { conditions: [{ type: 'Ready', status: 'Maybe' }] } }), /status\.conditions\[0\]\.status is not one of True, False, Unknown/);
  });

  it('normalise drops undefined fields at every depth, so a status built with optional fields compares as stored', () => {
    assert.deepEqual(normalise({ a: 1, b: undefined, c: { d: undefined, e: [1, { f: undefined }] } }), { a: 1, c: { e: [1, {}] } });
  });

  it('expectations: a created Job counts until seen, then lapses; an unseen one lapses after the timeout', () => {
    const e = new Expectations(1000);
    e.expect('ns/pod', 'job-1', 0);
    assert.deepEqual(e.check('ns/pod', [], 500), { state: 'waiting', name: 'job-1' });
    assert.deepEqual(e.check('ns/pod', ['job-1'], 600), { state: 'seen', name: 'job-1' });
    assert.deepEqual(e.check('ns/pod', ['job-1'], 700), { state: 'none' });
    e.expect('ns/pod', 'job-2', 0);
    assert.deepEqual(e.check('ns/pod', [], 1500), { state: 'none' });
  });
});

describe('controller core on the real API server', { skip: skipUnlessIn('kube') }, () => {
  let ns: string;
  let client: KubeClient;
  const informers: Array<Informer<Policy> | Informer<Pod> | Informer<Job>> = [];

  before(async () => {
    ns = await setupNamespace('blphase');
    client = await KubeClient.fromKubeconfig(need('kube').kubeconfig);
  });

  after(async () => {
    for (const i of informers) await i.stop();
    client?.close();
    if (ns !== undefined) await teardownNamespace(ns);
  });

  it('typed access: get parses, an absent object is undefined; writeStatus writes once, then sees no change, and retries a conflict', async () => {
    await ok(['apply', '-f', '-'], JSON.stringify(policyObject(ns, { name: 'ws', app: 'none', prefix: 'phases' })));
    const k = kinds(client);
    const stored = await k.policies.get(ns, 'ws');
    assert.ok(stored !== undefined && stored.spec.storage.bucket === need('s3').bucket);
    assert.equal(await k.policies.get(ns, 'absent'), undefined);

    let calls = 0;
    const compute = (p: Policy) => {
      calls += 1;
      return { status: { observedGeneration: p.metadata.generation, lastArchivedBinlog: undefined, lagSeconds: 3 } };
    };
    const first = await writeStatus(k.policies, stored, compute, silentLogger);
    assert.equal(first?.changed, true);
    assert.deepEqual(first?.object.status, { observedGeneration: 1, lagSeconds: 3 });
    const again = await writeStatus(k.policies, first.object, compute, silentLogger);
    assert.equal(again?.changed, false, 'an undefined field is no difference');
    assert.equal(again?.object.metadata.resourceVersion, first.object.metadata.resourceVersion);

    // A stale copy (the resourceVersion before the first write): Conflict, read again, recompute, write.
    const seenVersions: string[] = [];
    const retried = await writeStatus(k.policies, stored, (p) => {
      seenVersions.push(p.metadata.resourceVersion ?? '');
      return { status: { observedGeneration: 1, lagSeconds: 9 } };
    }, silentLogger);
    assert.equal(retried?.changed, true);
    assert.equal((await k.policies.get(ns, 'ws'))?.status?.lagSeconds, 9);
    assert.deepEqual(seenVersions, [stored.metadata.resourceVersion, first.object.metadata.resourceVersion], 'recomputed from the object read after the conflict');
    assert.equal(calls, 2);
  });

  it('phases one by one: observe sees the selected pod, compute gives the status, act creates one Job under its deterministic name', async () => {
    await ok(['apply', '-f', '-'], JSON.stringify(policyObject(ns, { name: 'ph', app: 'db', prefix: 'phases' })));
    await ok(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'mysql-0', namespace: ns, labels: { app: 'db' } },
      spec: { nodeName: 'node-1', containers: [{ name: 'mysql', image: 'mariadb:10.11' }], volumes: [{ name: 'data', hostPath: { path: '/var/lib/mysql' } }] },
    }));
    const policies = new Informer<Policy>({ name: 'policies', client, path: collectionPath(POLICIES, ns), parse: parsePolicy, logger: silentLogger });
    const pods = new Informer<Pod>({ name: 'pods', client, path: collectionPath(PODS, ns), logger: silentLogger });
    const jobs = new Informer<Job>({ name: 'jobs', client, path: collectionPath(JOBS, ns), logger: silentLogger });
    informers.push(policies, pods, jobs);
    for (const i of informers) i.start();
    await Promise.all(informers.map((i) => i.waitForSync()));
    const metrics = new ControllerMetrics();
    const ctx = policyContext({
      client, policies, pods, jobs, jobPods: () => [], agents: () => undefined,
      events: new EventRecorder({ client, controller: 'test', instance: 'test', logger: silentLogger }), metrics, logger: silentLogger, timers: systemTimers,
      settings: { image: 'registry.test/x:1', safetyIntervalMs: 600_000, agentSilentAfterMs: 120_000, failureBackoffMs: 30_000, failureBackoffMaxMs: 600_000, statusRefreshMs: 60_000 },
    });
    const policy = await waitFor('the policy in the cache', () => Promise.resolve(policies.get(ns, 'ph')), 10_000);
    const obs = await observePolicy(ctx, policy, silentLogger);
    assert.deepEqual(obs.inputs.map((i) => [i.pod, i.server, i.jobs.length, i.unarchivable]), [['mysql-0', `${ns}-mysql-0`, 0, undefined]]);
    const computed = computeStatus(ctx, obs, policy);
    assert.equal(computed.status.sources?.[0]?.pod, 'mysql-0');
    assert.equal(computed.status.observedGeneration, policy.metadata.generation);
    const written = await writeStatus(ctx.kinds.policies, policy, (p) => computeStatus(ctx, obs, p), silentLogger);
    assert.equal(written?.changed, true);

    const pod = obs.sourcePods[0];
    assert.ok(pod !== undefined);
    const a = await createArchiveJob(ctx, policy, pod, 'binlog-mysql-bin.000001', 'test', undefined, silentLogger);
    const b = await createArchiveJob(ctx, policy, pod, 'binlog-mysql-bin.000001', 'test', undefined, silentLogger);
    assert.equal(a, b, 'the same trigger names the same Job');
    const created = await ctx.kinds.jobs.list(ns);
    assert.deepEqual(created.map((j) => j.metadata?.name), [a]);
    assert.equal(await metrics.registry.getSingleMetricAsString('binlog_archiver_jobs_created_total').then((t) => /} 1$/m.test(t)), true);
  });
});
