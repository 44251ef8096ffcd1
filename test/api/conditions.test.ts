import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  completeCondition, continuousArchivingCondition, plannedCondition, readyCondition, reconcilingCondition, setCondition, stalledCondition,
  type Clock, type PlanFacts, type PolicyFacts, type SourceFacts,
} from '../../src/api/index.ts';

const T0 = '2025-02-01T10:00:00Z';
const clockAt = (iso: string): Clock => ({ now: () => new Date(iso) });
const ctx = { generation: 4, clock: clockAt('2025-02-01T10:00:00.123Z') };

const healthy: SourceFacts = { server: 'shop-mysql-0', archived: 12, pendingBinlogs: 0, lagSeconds: 0, gaps: 0 };
const base: PolicyFacts = { suspended: false, storage: { ok: true }, keyProvider: { ok: true }, sources: [healthy], purgeThresholdSeconds: 3600 };
const facts = (over: Partial<PolicyFacts>, sources?: Array<Partial<SourceFacts>>): PolicyFacts =>
  ({ ...base, ...over, ...(sources === undefined ? {} : { sources: sources.map((s, i) => ({ ...healthy, server: `shop-mysql-${i}`, ...s })) }) });

type Row = [string, PolicyFacts, 'True' | 'False' | 'Unknown', string, RegExp];

describe('readyCondition', () => {
  const rows: Row[] = [
    ['all well', base, 'True', 'ArchivingSucceeded', /^1 source\(s\) archiving$/],
    ['nothing archived yet', facts({}, [{ archived: 0 }]), 'True', 'AwaitingFirstArchive', /no binlog archived yet/],
    ['suspended wins over everything', facts({ suspended: true, storage: { ok: false, message: 'x' } }), 'False', 'Suspended', /spec.suspend is true/],
    ['storage down', facts({ storage: { ok: false, message: 'HeadBucket: 503' }, keyProvider: { ok: false, message: 'y' } }), 'False', 'StorageUnavailable', /object storage is unavailable: HeadBucket: 503/],
    ['key provider down', facts({ keyProvider: { ok: false, message: 'AccessDeniedException' } }), 'False', 'KeyProviderUnavailable', /key provider is unavailable: AccessDeniedException/],
    ['no pods', facts({ sources: [] }), 'False', 'NoSourcePods', /no pod matches spec.source.selector/],
    ['a pod with an emptyDir', facts({}, [{}, { unarchivable: 'volume data is of type emptyDir' }]), 'False', 'SourceNotArchivable', /shop-mysql-1: volume data is of type emptyDir/],
    ['a gap', facts({}, [{ gaps: 2 }]), 'False', 'BinlogGapDetected', /gaps in the archived binlog chain of shop-mysql-0 \(2\)/],
    ['a failed Job', facts({}, [{ lastRunFailure: 'EKEY: wrong key' }]), 'False', 'ArchiveJobFailed', /failed for shop-mysql-0 \(EKEY: wrong key\)/],
    ['at risk of purge does not make it unready', facts({}, [{ pendingBinlogs: 3, secondsUntilPurge: 60 }]), 'True', 'ArchivingSucceeded', /archiving/],
  ];
  for (const [name, f, status, reason, message] of rows) {
    it(name, () => {
      const c = readyCondition(f, ctx);
      assert.deepEqual({ ...c, message: '' }, { type: 'Ready', status, reason, observedGeneration: 4, lastTransitionTime: T0, message: '' });
      assert.match(c.message, message);
    });
  }
});

describe('continuousArchivingCondition', () => {
  const rows: Row[] = [
    ['keeping up', facts({}, [{ lagSeconds: 5 }, { lagSeconds: 42 }]), 'True', 'ArchivingSucceeded', /largest lag 42s/],
    ['suspended', facts({ suspended: true }), 'False', 'Suspended', /not archived/],
    ['a gap comes before purge risk', facts({}, [{ gaps: 1, pendingBinlogs: 1, secondsUntilPurge: 10 }]), 'False', 'BinlogGapDetected', /take a new base backup/],
    ['purge within the threshold', facts({}, [{ pendingBinlogs: 2, secondsUntilPurge: 1800 }, { pendingBinlogs: 1, secondsUntilPurge: 900 }]), 'False', 'AtRiskOfPurge', /shop-mysql-0, shop-mysql-1 may be purged in 900s \(threshold 3600s\)/],
    ['purge exactly at the threshold', facts({}, [{ pendingBinlogs: 1, secondsUntilPurge: 3600 }]), 'False', 'AtRiskOfPurge', /3600s/],
    ['purge beyond the threshold', facts({}, [{ pendingBinlogs: 1, secondsUntilPurge: 3601, lagSeconds: 7 }]), 'True', 'ArchivingSucceeded', /7s/],
    ['overdue (negative seconds) reads as 0s', facts({}, [{ pendingBinlogs: 1, secondsUntilPurge: -5 }]), 'False', 'AtRiskOfPurge', /in 0s/],
    ['nothing pending is never at risk', facts({}, [{ pendingBinlogs: 0, secondsUntilPurge: 1 }]), 'True', 'ArchivingSucceeded', /every source/],
    ['unknown expiry is not at risk', facts({}, [{ pendingBinlogs: 5 }]), 'True', 'ArchivingSucceeded', /every source/],
    ['storage down', facts({ storage: { ok: false, message: 'timeout' } }), 'False', 'StorageUnavailable', /timeout/],
    ['key provider down', facts({ keyProvider: { ok: false, message: 'sealed' } }), 'False', 'KeyProviderUnavailable', /sealed/],
    ['failed Job', facts({}, [{}, { lastRunFailure: 'x' }]), 'False', 'ArchiveJobFailed', /shop-mysql-1/],
    ['no pods', facts({ sources: [] }), 'Unknown', 'NoSourcePods', /selector/],
    ['first run pending', facts({}, [{ archived: 0 }]), 'Unknown', 'AwaitingFirstArchive', /no binlog archived yet/],
    ['many sources are listed briefly', facts({}, [1, 2, 3, 4, 5].map(() => ({ gaps: 1 }))), 'False', 'BinlogGapDetected', /shop-mysql-2 \(1\) and 2 more/],
  ];
  for (const [name, f, status, reason, message] of rows) {
    it(name, () => {
      const c = continuousArchivingCondition(f, ctx);
      assert.deepEqual([c.type, c.status, c.reason], ['ContinuousArchiving', status, reason]);
      assert.match(c.message, message);
    });
  }
});

describe('BinlogRestore conditions', () => {
  const plans: Array<[PlanFacts, string, string]> = [
    [{ state: 'planning' }, 'Unknown', 'Planning'],
    [{ state: 'policyNotFound', policy: 'orders' }, 'False', 'PolicyNotFound'],
    [{ state: 'storageUnavailable', message: 'm' }, 'False', 'StorageUnavailable'],
    [{ state: 'keyProviderUnavailable', message: 'm' }, 'False', 'KeyProviderUnavailable'],
    [{ state: 'empty', message: 'no binlog of shop-mysql-0 after the starting point' }, 'False', 'NothingToRestore'],
    [{ state: 'planned', binlogs: 7, gaps: 0, acceptGaps: false }, 'True', 'PlanReady'],
    [{ state: 'planned', binlogs: 7, gaps: 1, acceptGaps: false }, 'False', 'BinlogGapDetected'],
    [{ state: 'planned', binlogs: 7, gaps: 1, acceptGaps: true }, 'True', 'GapsAccepted'],
  ];
  for (const [f, status, reason] of plans) {
    it(`Planned: ${f.state} ${'gaps' in f ? `gaps=${f.gaps} accept=${String(f.acceptGaps)}` : ''}`, () => {
      const c = plannedCondition(f, ctx);
      assert.deepEqual([c.type, c.status, c.reason], ['Planned', status, reason]);
    });
  }

  it('Complete: running, succeeded, failed', () => {
    assert.deepEqual([completeCondition({ state: 'running' }, ctx).status, completeCondition({ state: 'running' }, ctx).reason], ['Unknown', 'Restoring']);
    assert.deepEqual(completeCondition({ state: 'succeeded', message: '7 binlogs written' }, ctx),
      { type: 'Complete', status: 'True', reason: 'RestoreSucceeded', message: '7 binlogs written', observedGeneration: 4, lastTransitionTime: T0 });
    assert.equal(completeCondition({ state: 'failed', message: 'EVERIFY' }, ctx).reason, 'RestoreFailed');
  });
});

describe('setCondition', () => {
  const first = readyCondition(base, { generation: 1, clock: clockAt('2025-02-01T10:00:00Z') });

  it('adds a condition of a new type', () => {
    assert.deepEqual(setCondition([], first), [first]);
  });

  it('keeps lastTransitionTime while the status stays, updating reason, message and generation', () => {
    const later = readyCondition(facts({}, [{ archived: 0 }]), { generation: 2, clock: clockAt('2025-02-01T11:00:00Z') });
    const [merged] = setCondition([first], later);
    assert.deepEqual(merged, { ...later, lastTransitionTime: '2025-02-01T10:00:00Z' });
  });

  it('moves lastTransitionTime when the status changes, and leaves other types alone', () => {
    const other = continuousArchivingCondition(base, ctx);
    const down = readyCondition(facts({ storage: { ok: false, message: 'x' } }), { generation: 2, clock: clockAt('2025-02-01T12:00:00Z') });
    assert.deepEqual(setCondition([other, first], down), [other, down]);
  });
});

describe('kstatus conditions of a policy: Stalled and Reconciling', () => {
  const rows: Array<[string, PolicyFacts, 'True' | 'False', string, 'True' | 'False', string]> = [
    ['all well', base, 'False', 'ArchivingSucceeded', 'False', 'ArchivingSucceeded'],
    ['a gap needs a person', facts({}, [{ gaps: 1 }]), 'True', 'BinlogGapDetected', 'False', 'BinlogGapDetected'],
    ['a refused key needs a person', facts({ keyProvider: { ok: false, message: 'x' }, keyRefused: 'AccessDeniedException' }), 'True', 'KeyRefused', 'False', 'KeyRefused'],
    ['a provider outage is retried, not stalled', facts({ keyProvider: { ok: false, message: 'timeout' } }), 'False', 'ArchivingSucceeded', 'False', 'ArchivingSucceeded'],
    ['an emptyDir source needs a person', facts({}, [{ unarchivable: 'emptyDir' }]), 'True', 'SourceNotArchivable', 'False', 'SourceNotArchivable'],
    ['the first archive converges', facts({}, [{ archived: 0 }]), 'False', 'ArchivingSucceeded', 'True', 'AwaitingFirstArchive'],
    ['rotated binlogs waiting converge', facts({}, [{ pendingBinlogs: 2 }]), 'False', 'ArchivingSucceeded', 'True', 'CatchingUp'],
    ['suspended is neither', facts({ suspended: true }), 'False', 'Suspended', 'False', 'Suspended'],
  ];
  for (const [name, f, stalled, stalledReason, reconciling, reconcilingReason] of rows) {
    it(name, () => {
      const s = stalledCondition(f, ctx);
      const r = reconcilingCondition(f, ctx);
      assert.deepEqual([s.type, s.status, s.reason, s.observedGeneration], ['Stalled', stalled, stalledReason, 4]);
      assert.deepEqual([r.type, r.status, r.reason, r.observedGeneration], ['Reconciling', reconciling, reconcilingReason, 4]);
      assert.ok(!(s.status === 'True' && r.status === 'True'), 'kstatus: never Stalled and Reconciling at once');
    });
  }
});
