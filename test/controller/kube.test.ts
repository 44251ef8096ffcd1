// test-resources: cpu:shared
/**
 * The controller's Kubernetes plumbing, in-process against the real kube-apiserver: the REST client (request
 * metrics by verb and resource), the informer (list, watch, handlers, cache), and leader election (one leader,
 * release hands over at once, a leader whose Lease is taken stops within the renew deadline). Plus the pure
 * helpers: label selectors, the agent answer's validation, durations and addresses.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAgentState } from '../../src/controller/agent-watch.ts';
import { parseAddress } from '../../src/controller/http.ts';
import { KubeClient, type RequestRecord, isNotFound, resourceOf } from '../../src/controller/kube/client.ts';
import { Informer } from '../../src/controller/kube/informer.ts';
import type { KubeObject } from '../../src/controller/kube/resources.ts';
import { LeaderElector } from '../../src/controller/leader.ts';
import { parseDurationMs } from '../../src/controller/options.ts';
import { matchesSelector, selectorString } from '../../src/controller/selector.ts';
import { silentLogger } from '../../src/logger.ts';
import { deleteNamespace, ok } from '../api/kubectl.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';
import { waitFor } from './helpers.ts';

describe('pure helpers', () => {
  it('label selectors as the API server defines them', () => {
    const sel = { matchLabels: { app: 'mysql' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['db', 'cache'] }, { key: 'canary', operator: 'DoesNotExist' }] };
    assert.equal(matchesSelector(sel, { app: 'mysql', tier: 'db' }), true);
    assert.equal(matchesSelector(sel, { app: 'mysql', tier: 'web' }), false);
    assert.equal(matchesSelector(sel, { app: 'mysql', tier: 'db', canary: '' }), false);
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web'] }] }, {}), true);
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'x', operator: 'Exists' }] }, { x: '' }), true);
    assert.equal(matchesSelector({}, { app: 'mysql' }), false, 'an empty selector selects nothing here');
    assert.equal(selectorString(sel), 'app=mysql,tier in (db,cache),!canary');
  });

  it('the agent answer is checked against the contract', () => {
    const good = { generation: 3, binlogDir: '/b', active: 'mysql-bin.000002', binlogs: [{ name: 'mysql-bin.000001', sequence: 1, size: 10, mtime: '2025-02-01T10:00:00Z', closed: true }], expireLogsSeconds: 86400, now: '2025-02-01T10:00:01Z' };
    assert.deepEqual(parseAgentState(good), good);
    assert.throws(() => parseAgentState({ ...good, generation: 'x' }), /generation is not a number/);
    assert.throws(() => parseAgentState({ ...good, binlogs: [{ name: 'a' }] }), /binlogs\[0\] lacks name, sequence, mtime or closed/);
    assert.throws(() => parseAgentState({ ...good, binlogs: [{ ...good.binlogs[0], mtime: 'yesterday' }] }), /mtime is not a time/);
    assert.equal(parseAgentState({ ...good, expireLogsSeconds: null }).expireLogsSeconds, null);
  });

  it('durations, addresses and resources of API paths', () => {
    assert.deepEqual(['15s', '1m30s', '500ms', '2h', '0s', '5', 'x'].map(parseDurationMs), [15_000, 90_000, 500, 7_200_000, undefined, undefined, undefined]);
    assert.deepEqual(parseAddress(':8080'), { host: undefined, port: 8080 });
    assert.deepEqual(parseAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseAddress('[::1]:9090'), { host: '::1', port: 9090 });
    assert.throws(() => parseAddress('8080'), /not \[HOST\]:PORT/);
    assert.equal(resourceOf('/api/v1/namespaces/x/pods/y/status'), 'pods/status');
    assert.equal(resourceOf('/apis/batch/v1/namespaces/x/jobs'), 'jobs');
    assert.equal(resourceOf('/apis/binlog.archiver.dev/v1alpha1/binlogarchivepolicies'), 'binlogarchivepolicies');
    assert.equal(resourceOf('/api/v1/namespaces/x'), 'namespaces');
  });
});

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

describe('REST client, informer and leader election on the real API server', { skip: skipUnlessIn('kube') }, () => {
  let ns: string;
  let client: KubeClient;
  const records: RequestRecord[] = [];

  before(async () => {
    ns = `blkube-${Date.now().toString(36)}`;
    await ok(['create', 'namespace', ns]);
    client = await KubeClient.fromKubeconfig(need('kube').kubeconfig, { onRequest: (r) => records.push(r) });
  });

  after(async () => {
    client?.close();
    if (ns !== undefined) await deleteNamespace(ns, 'configmaps,leases');
  });

  it('requests: JSON in and out, typed errors, and one record per request with verb, resource and code', async () => {
    const cm = await client.request<ConfigMap>('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { k: 'v' } } });
    assert.equal(cm.data?.k, 'v');
    await assert.rejects(client.request('GET', `/api/v1/namespaces/${ns}/configmaps/missing`), (err: unknown) => isNotFound(err) && /404 NotFound configmaps "missing" not found/.test((err as Error).message));
    await client.request('GET', `/api/v1/namespaces/${ns}/configmaps`);
    assert.deepEqual(records.slice(-3).map((r) => [r.verb, r.resource, r.code]), [['create', 'configmaps', '201'], ['get', 'configmaps', '404'], ['list', 'configmaps', '200']]);
  });

  it('an informer lists, then follows the watch: handlers see adds, updates and deletes; the cache matches', async () => {
    const seen: string[] = [];
    const informer = new Informer<ConfigMap>({ name: 'cm', client, path: `/api/v1/namespaces/${ns}/configmaps`, logger: silentLogger, pageSize: 2 });
    informer.on({
      add: (o) => seen.push(`add ${o.metadata?.name ?? ''}`),
      update: (_a, b) => seen.push(`update ${b.metadata?.name ?? ''} ${b.data?.k ?? ''}`),
      delete: (o) => seen.push(`delete ${o.metadata?.name ?? ''}`),
    });
    for (const name of ['b', 'c']) await client.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: '1' } } });
    informer.start();
    await informer.waitForSync();
    assert.ok(informer.hasSynced());
    const initial = informer.list(ns).map((o) => o.metadata?.name).sort();
    assert.ok(['a', 'b', 'c'].every((n) => initial.includes(n)), `paged list: ${initial.join(',')}`);
    await client.request('PATCH', `/api/v1/namespaces/${ns}/configmaps/b`, { contentType: 'application/merge-patch+json', body: { data: { k: '2' } } });
    await client.request('DELETE', `/api/v1/namespaces/${ns}/configmaps/c`);
    await client.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'd' } } });
    await waitFor('the watch events', () => Promise.resolve(seen.includes('add d') ? true : undefined), 10_000, () => seen.join(', '));
    assert.deepEqual(seen.filter((s) => !s.startsWith('add ') || s === 'add d').slice(-3), ['update b 2', 'delete c', 'add d']);
    assert.deepEqual(informer.list(ns).map((o) => o.metadata?.name).sort().filter((n) => n !== 'kube-root-ca.crt'), ['a', 'b', 'd']);
    assert.equal(informer.get(ns, 'b')?.data?.k, '2');
    await informer.stop();
  });

  it('leader election: one leader; release hands over at once; a leader whose Lease is taken stops within the renew deadline', async () => {
    const timing = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 };
    const elector = (identity: string) => new LeaderElector({ client, namespace: ns, name: 'test-lease', identity, logger: silentLogger, ...timing });
    const a = elector('a');
    const b = elector('b');
    const abortA = new AbortController();
    const abortB = new AbortController();
    const events: string[] = [];
    const runA = a.run(abortA.signal, { onStartedLeading: () => events.push('a leads'), onStoppedLeading: () => { events.push('a stops'); } });
    await waitFor('a to lead', () => Promise.resolve(a.isLeader() ? true : undefined), 10_000);
    const runB = b.run(abortB.signal, { onStartedLeading: () => events.push('b leads'), onStoppedLeading: () => { events.push('b stops'); } });
    await sleep(2000);
    assert.equal(b.isLeader(), false, 'b waits while a renews');
    const released = Date.now();
    abortA.abort();
    assert.equal(await runA, 'stopped');
    await waitFor('b to lead', () => Promise.resolve(b.isLeader() ? true : undefined), 10_000);
    assert.ok(Date.now() - released < 2500, 'a released Lease is taken without waiting for it to expire');
    assert.deepEqual(events, ['a leads', 'a stops', 'b leads']);

    // Someone else takes the Lease (as after a partition): b cannot renew and stops acting.
    const lease = JSON.parse(await ok(['get', 'lease', 'test-lease', '-n', ns, '-o', 'json'])) as { spec: Record<string, unknown> };
    await ok(['patch', 'lease', 'test-lease', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { ...lease.spec, holderIdentity: 'intruder', leaseDurationSeconds: 60 } })]);
    // Timed from the patch's answer: kubectl's own start-up (seconds on a loaded machine) is not b's to account for.
    const stolenAt = Date.now();
    assert.equal(await runB, 'lost');
    const stoppedAfter = Date.now() - stolenAt;
    assert.ok(stoppedAfter <= timing.renewDeadlineMs + 2 * timing.retryPeriodMs + 500, `stopped after ${stoppedAfter} ms`);
    assert.deepEqual(events.slice(-1), ['b stops']);
    abortB.abort();
  });
});
