/**
 * Timed waits of a restore (pure): spec.waitTimeout counted from status.waitingSince, WaitTimedOut with what it
 * waited for and how long, the Job of a timed-out wait stopped, a queue behind another restore never timed; and
 * the Secret a Job's Pod waits for, read from the Pod's status and the kubelet's events as the kubelet words them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyDefaults, restoreSpec } from '../../src/api/index.ts';
import { durationMs, formatDuration } from '../../src/api/duration.ts';
import type { KubeEvent } from '../../src/controller/kube/kinds.ts';
import type { Pod } from '../../src/controller/kube/resources.ts';
import { secretWait } from '../../src/controller/pod-wait.ts';
import { type RestoreObservation, type RestoreWait, type StepJob, decideRestore, restoreStatus } from '../../src/controller/restore-state.ts';

const base = { archive: { policyRef: { name: 'p' } }, sourceServer: 'shop-mysql-0', target: { latest: true }, output: { volume: { claimName: 'c' } } };
const spec = applyDefaults(restoreSpec, base);
const T0 = Date.parse('2026-12-03T10:00:00Z');
const HOUR = 3_600_000;
const claimWait: RestoreWait = { reason: 'ClaimNotFound', what: 'PersistentVolumeClaim c in namespace shop', message: 'waiting for PersistentVolumeClaim c in namespace shop' };
const secretWaitFor: RestoreWait = { reason: 'SecretNotFound', what: 'Secret s3 in namespace shop', message: 'waiting for Secret s3 in namespace shop: the plan Job p cannot start its Pod p-x', detail: 'the plan Job p could not start its Pod p-x; kubelet: secret "s3" not found' };
const obs = (o: Partial<RestoreObservation>): RestoreObservation => ({ spec, generation: 1, previous: undefined, ...o });
const since = (ms: number) => ({ phase: 'Pending' as const, waitingSince: new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') });
const running = (name: string, waitingFor?: RestoreWait): StepJob => ({ name, phase: 'Running', pods: 1, ...(waitingFor === undefined ? {} : { waitingFor, starting: true }) });
const clockAt = (ms: number) => ({ now: () => new Date(ms) });
const reasonOf = (d: ReturnType<typeof decideRestore>) => (d.facts.state === 'failed' || d.facts.state === 'waiting' ? d.facts.reason : d.facts.state);

describe('spec.waitTimeout', () => {
  it('the default is 1h; a missing claim waits from the first time it is seen, and says when it gives up', () => {
    assert.equal(spec.waitTimeout, '1h');
    const d = decideRestore(obs({ waiting: claimWait }), T0);
    assert.deepEqual([d.phase, reasonOf(d), d.create, d.waitingSince, d.recheckAfterMs], ['Pending', 'ClaimNotFound', undefined, '2026-12-03T10:00:00Z', 5000]);
    assert.equal(d.facts.message, 'waiting for PersistentVolumeClaim c in namespace shop; gives up at 2026-12-03T11:00:00Z (spec.waitTimeout 1h)');
    const status = restoreStatus(obs({ waiting: claimWait }), d, { correlationId: 'bl-1', clock: clockAt(T0) });
    assert.deepEqual([status.phase, status.waitingSince, status.startTime], ['Pending', '2026-12-03T10:00:00Z', undefined]);
  });

  it('the deadline counts from status.waitingSince, not from now: a second before it, Pending and a recheck at the deadline; at it, Failed', () => {
    const before = decideRestore(obs({ previous: since(T0), waiting: claimWait }), T0 + HOUR - 1000);
    assert.deepEqual([before.phase, before.waitingSince, before.recheckAfterMs], ['Pending', '2026-12-03T10:00:00Z', 1000]);
    const after = decideRestore(obs({ previous: since(T0), waiting: claimWait }), T0 + HOUR + 3000);
    assert.deepEqual([after.phase, reasonOf(after), after.create, after.stopJobs], ['Failed', 'WaitTimedOut', undefined, false]);
    assert.equal(after.facts.message, 'gave up after waiting 1h0m3s (spec.waitTimeout 1h, since 2026-12-03T10:00:00Z) for PersistentVolumeClaim c in namespace shop; '
      + 'nothing was applied; create a new BinlogRestore once it is there');
    const status = restoreStatus(obs({ previous: since(T0) }), after, { correlationId: 'bl-1', clock: clockAt(T0 + HOUR + 3000) });
    assert.deepEqual(status.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`), ['Ready=False/WaitTimedOut', 'Reconciling=False/WaitTimedOut', 'Stalled=True/WaitTimedOut']);
    assert.deepEqual([status.phase, status.waitingSince, status.completionTime], ['Failed', undefined, '2026-12-03T11:00:03Z']);
    // Terminal: never left, whatever appears later.
    assert.equal(decideRestore(obs({ previous: status }), T0 + 2 * HOUR).phase, 'Failed');
  });

  it('a waitTimeout of the spec is used as given; the clock keeps running when the reason changes (policy, then claim)', () => {
    const short = applyDefaults(restoreSpec, { ...base, waitTimeout: '1m30s' });
    const policy: RestoreWait = { reason: 'PolicyNotFound', what: 'BinlogArchivePolicy p in namespace shop', message: 'waiting for BinlogArchivePolicy p' };
    const d = decideRestore({ spec: short, generation: 1, previous: undefined, waiting: policy }, T0);
    const s1 = restoreStatus({ spec: short, generation: 1, previous: undefined }, d, { correlationId: 'x', clock: clockAt(T0) });
    const d2 = decideRestore({ spec: short, generation: 1, previous: s1, waiting: claimWait }, T0 + 60_000);
    assert.deepEqual([d2.phase, reasonOf(d2), d2.waitingSince], ['Pending', 'ClaimNotFound', '2026-12-03T10:00:00Z']);
    const d3 = decideRestore({ spec: short, generation: 1, previous: s1, waiting: claimWait }, T0 + 90_000);
    assert.deepEqual([d3.phase, reasonOf(d3)], ['Failed', 'WaitTimedOut']);
    assert.match(d3.facts.message, /^gave up after waiting 1m30s \(spec\.waitTimeout 1m30s, since 2026-12-03T10:00:00Z\) for PersistentVolumeClaim c in namespace shop/);
  });

  it('queueing behind another restore on the same target is not timed and resets the clock', () => {
    const queued: RestoreWait = { reason: 'WaitingForActiveRestore', what: 'BinlogRestore a', message: 'waiting for BinlogRestore a on the same target (claim c) to finish' };
    const d = decideRestore(obs({ previous: since(T0), waiting: queued }), T0 + 10 * HOUR);
    assert.deepEqual([d.phase, reasonOf(d), d.waitingSince, d.recheckAfterMs], ['Pending', 'WaitingForActiveRestore', undefined, undefined]);
    assert.equal(d.facts.message, queued.message);
    const status = restoreStatus(obs({ previous: since(T0) }), d, { correlationId: 'x', clock: clockAt(T0 + 10 * HOUR) });
    assert.equal(status.waitingSince, undefined, 'cleared: a later wait for a missing input starts its own clock');
    assert.equal(decideRestore(obs({ previous: status, waiting: claimWait }), T0 + 10 * HOUR).waitingSince, '2026-12-03T20:00:00Z');
  });

  it('a Job whose Pod waits for a Secret is Pending with SecretNotFound; once the Pod starts, Planning again; after the timeout, Failed and its Job stopped', () => {
    const d = decideRestore(obs({ previous: { phase: 'Planning', planJobName: 'p' }, planJob: running('p', secretWaitFor) }), T0);
    assert.deepEqual([d.phase, reasonOf(d), d.create, d.waitingSince], ['Pending', 'SecretNotFound', undefined, '2026-12-03T10:00:00Z']);
    assert.match(d.facts.message, /^waiting for Secret s3 in namespace shop: .*; gives up at 2026-12-03T11:00:00Z \(spec\.waitTimeout 1h\)$/);
    const waiting = restoreStatus(obs({ previous: { phase: 'Planning', planJobName: 'p', startTime: '2026-12-03T09:59:00Z' } }), d, { correlationId: 'x', clock: clockAt(T0) });
    assert.deepEqual([waiting.phase, waiting.planJobName, waiting.startTime, waiting.waitingSince], ['Pending', 'p', '2026-12-03T09:59:00Z', '2026-12-03T10:00:00Z']);
    const started = decideRestore(obs({ previous: waiting, planJob: running('p') }), T0 + 60_000);
    assert.deepEqual([started.phase, reasonOf(started), started.waitingSince], ['Planning', 'planning', undefined]);
    assert.equal(restoreStatus(obs({ previous: waiting }), started, { correlationId: 'x', clock: clockAt(T0 + 60_000) }).waitingSince, undefined);
    const late = decideRestore(obs({ previous: waiting, planJob: running('p', secretWaitFor) }), T0 + HOUR);
    assert.deepEqual([late.phase, reasonOf(late), late.stopJobs], ['Failed', 'WaitTimedOut', true]);
    assert.equal(late.facts.message, 'gave up after waiting 1h0m0s (spec.waitTimeout 1h, since 2026-12-03T10:00:00Z) for Secret s3 in namespace shop (the plan Job p could not start its Pod p-x; kubelet: secret "s3" not found); '
      + 'Job p was deleted before its container started; nothing was applied; create a new BinlogRestore once it is there');
    // The restore Job's Pod waiting for the server's credentials: the same, after a plan.
    const r = decideRestore(obs({ previous: { phase: 'Restoring' }, runJob: running('r', { ...secretWaitFor, what: 'Secret db-admin in namespace shop' }) }), T0);
    assert.deepEqual([r.phase, reasonOf(r)], ['Pending', 'SecretNotFound']);
  });

  it('a decision made on a stale cache does not move waitingSince later', () => {
    const d = decideRestore(obs({ waiting: claimWait }), T0 + 600_000);
    const status = restoreStatus(obs({ previous: since(T0) }), d, { correlationId: 'x', clock: clockAt(T0 + 600_000) });
    assert.equal(status.waitingSince, '2026-12-03T10:00:00Z');
  });

  it('durations: the CRD grammar in milliseconds; elapsed time printed as a Go duration to the second', () => {
    assert.deepEqual(['1h', '90s', '1h30m', '1.5h', '250ms', '2h0m0s'].map(durationMs), [HOUR, 90_000, 5_400_000, 5_400_000, 250, 7_200_000]);
    assert.deepEqual(['0s', '-5m', '5 minutes', '7d', '', '1h '].map(durationMs), [undefined, undefined, undefined, undefined, undefined, undefined]);
    assert.deepEqual([0, 999, 45_000, 150_000, HOUR + 3000, 26 * HOUR].map(formatDuration), ['0s', '1s', '45s', '2m30s', '1h0m3s', '26h0m0s']);
  });
});

describe('the Secret a Job Pod waits for, as the kubelet reports it', () => {
  const pod = (o: { name?: string; phase?: string; waiting?: { reason: string; message?: string }; uid?: string }): Pod => ({
    metadata: { name: o.name ?? 'p-x', namespace: 'shop', uid: o.uid ?? 'uid-1' },
    spec: { containers: [], volumes: [{ name: 'aws-credentials', secret: { secretName: 's3-creds' } }, { name: 'master-key', secret: { secretName: 'archive-key' } }] },
    status: { phase: o.phase ?? 'Pending', containerStatuses: [{ name: 'restore', image: 'i', imageID: '', ready: false, restartCount: 0, ...(o.waiting === undefined ? {} : { state: { waiting: o.waiting } }) }] },
  });
  const event = (note: string, o: { pod?: string; uid?: string; reason?: string; kubelet?: boolean; at?: string } = {}): KubeEvent => ({
    metadata: { name: `e-${Math.random()}`, namespace: 'shop', uid: 'e', resourceVersion: '1', creationTimestamp: o.at ?? '2026-12-03T10:00:00Z' },
    eventTime: null as never, reason: o.reason ?? 'FailedMount', note, type: 'Warning',
    regarding: { kind: 'Pod', name: o.pod ?? 'p-x', namespace: 'shop', uid: o.uid ?? 'uid-1' },
    ...(o.kubelet === false ? { reportingController: 'someone' } : { deprecatedSource: { component: 'kubelet', host: 'node-1' } }),
  });

  it('a secret volume: the FailedMount event names the Secret; a missing key names the volume, mapped to its Secret', () => {
    const mount = 'MountVolume.SetUp failed for volume "aws-credentials" : secret "s3-creds" not found';
    assert.deepEqual(secretWait([pod({ waiting: { reason: 'ContainerCreating' } })], () => [event(mount)]), { secret: 's3-creds', pod: 'p-x', report: mount });
    const key = 'MountVolume.SetUp failed for volume "master-key" : references non-existent secret key: key';
    assert.deepEqual(secretWait([pod({})], () => [event(key)]), { secret: 'archive-key', key: 'key', pod: 'p-x', report: key });
    // The newest report wins (one Secret created, the next one still missing).
    const older = event('MountVolume.SetUp failed for volume "master-key" : secret "archive-key" not found', { at: '2026-12-03T09:00:00Z' });
    assert.equal(secretWait([pod({})], () => [older, event(mount)])?.secret, 's3-creds');
  });

  it('a Secret referenced from the environment: CreateContainerConfigError in the Pod status, no events needed', () => {
    let asked = false;
    const w = secretWait([pod({ waiting: { reason: 'CreateContainerConfigError', message: 'secret "db-admin" not found' } })], () => {
      asked = true;
      return [];
    });
    assert.deepEqual([w?.secret, w?.report, asked], ['db-admin', 'secret "db-admin" not found', false]);
    assert.deepEqual(secretWait([pod({ waiting: { reason: 'CreateContainerConfigError', message: "couldn't find key password in Secret shop/db-admin" } })], () => []),
      { secret: 'db-admin', key: 'password', pod: 'p-x', report: "couldn't find key password in Secret shop/db-admin" });
  });

  it('nothing for a Pod that runs, events of another Pod (or an earlier Pod of the same name), events not from the kubelet, other reasons', () => {
    const mount = 'MountVolume.SetUp failed for volume "aws-credentials" : secret "s3-creds" not found';
    assert.equal(secretWait([pod({ phase: 'Running' })], () => [event(mount)]), undefined);
    assert.equal(secretWait([pod({})], () => [event(mount, { pod: 'other' })]), undefined);
    assert.equal(secretWait([pod({})], () => [event(mount, { uid: 'uid-0' })]), undefined);
    assert.equal(secretWait([pod({})], () => [event(mount, { kubelet: false })]), undefined);
    assert.equal(secretWait([pod({})], () => [event('0/1 nodes are available', { reason: 'FailedScheduling' })]), undefined);
    assert.equal(secretWait([pod({ waiting: { reason: 'ImagePullBackOff', message: 'secret "x" not found' } })], () => []), undefined);
  });
});
