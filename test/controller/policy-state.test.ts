/**
 * The pure part of the reconcile: from agent state, store index and Job reports to the status, the condition
 * facts and the Job decision. Real values throughout; time from a fixed clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgentBinlog, AgentView } from '../../src/controller/agent-watch.ts';
import { decide, type DecideSettings } from '../../src/controller/decide.ts';
import type { JobView } from '../../src/controller/jobs.ts';
import { type SourceInput, computePolicy, notices } from '../../src/controller/policy-state.ts';
import { type RunReport, REPORT_SCHEMA, encodeReport, parseTerminationMessage, reportFromError, TERMINATION_MESSAGE_MAX } from '../../src/controller/run-report.ts';
import type { IndexView } from '../../src/controller/store-view.ts';
import type { IndexRecord } from '../../src/store/manifest.ts';

const NOW = Date.parse('2025-02-01T10:00:00Z');
const clock = { now: () => new Date(NOW) };

function binlog(seq: number, ageSeconds: number, closed = true): AgentBinlog {
  return { name: `mysql-bin.${String(seq).padStart(6, '0')}`, sequence: seq, size: 1000 * seq, mtime: new Date(NOW - ageSeconds * 1000).toISOString(), closed };
}

function agent(binlogs: AgentBinlog[], expire: number | null = null): AgentView {
  return {
    url: 'http://127.0.0.1:9471', watchedSince: NOW - 600_000, receivedAt: NOW,
    state: { generation: 7, binlogDir: '/binlogs', active: binlogs.find((b) => !b.closed)?.name ?? null, binlogs, expireLogsSeconds: expire, now: new Date(NOW).toISOString() },
  };
}

function record(seq: number, prev: string, added: string): IndexRecord {
  const name = `mysql-bin.${String(seq).padStart(6, '0')}`;
  return {
    name, sequence: seq, size: 1000, sha256: 'x', firstEventTime: `2025-02-01T09:0${seq}:00Z`, lastEventTime: `2025-02-01T09:0${seq}:30Z`,
    previousGtids: prev, gtidsAdded: added, lastGtid: null, entryKey: `manifest/s/${seq}`, objectKey: `binlogs/s/${seq}.blarc`, flavor: 'mariadb',
  };
}

function index(entries: IndexRecord[], missing: string[] = []): IndexView {
  return { ok: true, entries, missingObjects: missing, updatedAt: '2025-02-01T09:59:00.000Z', readAt: NOW };
}

function report(over: Partial<RunReport> = {}): RunReport {
  return {
    schema: REPORT_SCHEMA, ok: true, source: 'db-mysql-0', batchId: 'b', archived: 2, skipped: 1, adopted: 0, archivedBytes: 5000, objectBytes: 900,
    first: { binlog: 'mysql-bin.000002', sequence: 2, lastEventTime: '2025-02-01T09:02:30Z', lastGtid: '0-1-20' },
    last: { binlog: 'mysql-bin.000003', sequence: 3, lastEventTime: '2025-02-01T09:03:30Z', lastGtid: '0-1-30' },
    newest: { binlog: 'mysql-bin.000003', sequence: 3, lastEventTime: '2025-02-01T09:03:30Z', lastGtid: '0-1-30' },
    activeBinlog: 'mysql-bin.000004', gaps: 0, gapDetails: [], durationMs: 1500, error: null, ...over,
  };
}

function job(over: Partial<JobView> = {}): JobView {
  return {
    name: 'p-mysql-0-aaaa', uid: 'u1', namespace: 'db', policy: 'p', pod: 'mysql-0', trigger: 'mysql-bin.000003', correlationId: 'bl-1',
    phase: 'Succeeded', created: NOW - 120_000, startTime: '2025-02-01T09:58:00Z', completionTime: '2025-02-01T09:58:05Z', report: report(), reported: false, pods: 1, ...over,
  };
}

function source(over: Partial<SourceInput> = {}): SourceInput {
  return { pod: 'mysql-0', server: 'db-mysql-0', jobs: [], ...over };
}

const settings: DecideSettings = { now: NOW, suspended: false, safetyIntervalMs: 600_000, agentSilentAfterMs: 120_000, failureBackoffMs: 30_000, failureBackoffMaxMs: 600_000 };

describe('policy state', () => {
  it('with the store index: pending, lag, seconds until purge, recoverable window and archived GTIDs', () => {
    const c = computePolicy({
      generation: 3, suspended: false, purgeThresholdSeconds: 3600, clock,
      sources: [source({
        agent: agent([binlog(1, 900), binlog(2, 600), binlog(3, 300), binlog(4, 0, false)], 7200),
        index: index([record(1, '', '0-1-10'), record(2, '0-1-10', '0-1-20')]),
      })],
    });
    const s = c.status.sources?.[0];
    assert.deepEqual(s, {
      pod: 'mysql-0', server: 'db-mysql-0', lastArchivedBinlog: 'mysql-bin.000002', lastArchivedTime: '2025-02-01T09:59:00Z',
      archivedGtidSet: '0-1-20', firstRecoverableTime: '2025-02-01T09:01:00Z', lastRecoverableTime: '2025-02-01T09:02:30Z',
      pendingBinlogs: 1, lagSeconds: 300, secondsUntilPurge: 7200 - 300, gaps: 0,
    });
    assert.equal(c.status.observedGeneration, 3);
    assert.equal(c.status.lastArchivedBinlog, 'mysql-0/mysql-bin.000002');
    assert.equal(c.status.recoverableUntil, '2025-02-01T09:02:30Z');
    assert.equal(c.status.expireLogsSeconds, 7200, 'from the agent when the spec does not say');
    const ready = c.status.conditions?.find((x) => x.type === 'Ready');
    assert.deepEqual([ready?.status, ready?.reason], ['True', 'ArchivingSucceeded']);
    const d = decide(c.sources[0]!, settings);
    assert.deepEqual(d, { create: true, trigger: 'mysql-bin.000003', why: '1 closed binlog(s) pending, newest mysql-bin.000003' });
  });

  it('AtRiskOfPurge when the oldest pending binlog expires within the threshold, with one event on the transition', () => {
    const input = {
      generation: 1, suspended: false, purgeThresholdSeconds: 3600, expireLogsSeconds: 4000, clock,
      sources: [source({ agent: agent([binlog(5, 600), binlog(6, 0, false)]), index: index([record(4, '', '0-1-5')]) })],
    };
    const c = computePolicy(input);
    assert.equal(c.status.sources?.[0]?.secondsUntilPurge, 3400);
    const cont = c.status.conditions?.find((x) => x.type === 'ContinuousArchiving');
    assert.deepEqual([cont?.status, cont?.reason], ['False', 'AtRiskOfPurge']);
    assert.match(cont?.message ?? '', /db-mysql-0 may be purged in 3400s \(threshold 3600s\)/);
    const n = notices('db', undefined, c, 3600);
    assert.deepEqual(n.map((x) => [x.type, x.reason, x.note]), [['Warning', 'AtRiskOfPurge',
      'The oldest unarchived binlog of db/mysql-0 (mysql-bin.000005) may be purged in 3400s (binlog_expire_logs_seconds 4000, threshold 3600s)']]);
    assert.deepEqual(notices('db', c.status, computePolicy({ ...input, previous: c.status }), 3600), [], 'the same state: no new event');
  });

  it('a skipped sequence number and a missing object are gaps: BinlogGapDetected', () => {
    const c = computePolicy({
      generation: 1, suspended: false, purgeThresholdSeconds: 3600, clock,
      sources: [source({ agent: agent([binlog(9, 10, false)]), index: index([record(1, '', '0-1-1'), record(2, '0-1-1', '0-1-2'), record(4, '0-1-3', '0-1-4')], ['mysql-bin.000002']) })],
    });
    assert.equal(c.status.sources?.[0]?.gaps, 2);
    for (const type of ['Ready', 'ContinuousArchiving']) {
      const x = c.status.conditions?.find((y) => y.type === type);
      assert.deepEqual([x?.status, x?.reason], ['False', 'BinlogGapDetected'], type);
    }
    const n = notices('db', undefined, c, 3600);
    assert.equal(n[0]?.reason, 'BinlogGapDetected');
    assert.match(n[0]?.note ?? '', /^Binlog gap in the archive of db\/mysql-0: 1 binlog between mysql-bin.000002 and mysql-bin.000004 \(sequence 3\) never archived; mysql-bin.000002 is in the manifest but its archive object is missing from the store/);
  });

  it('a Job that failed with EKEYUNAVAILABLE makes the key provider unavailable; retries back off', () => {
    const failed = job({ phase: 'Failed', report: reportFromError({ code: 'EKEYUNAVAILABLE', message: 'KMS GenerateDataKey failed: connect ECONNREFUSED 127.0.0.1:1' }), completionTime: '2025-02-01T09:59:50Z', trigger: 'mysql-bin.000003' });
    const c = computePolicy({
      generation: 1, suspended: false, purgeThresholdSeconds: 3600, clock,
      sources: [source({ agent: agent([binlog(3, 60), binlog(4, 0, false)]), jobs: [failed], previous: { pod: 'mysql-0', server: 'db-mysql-0', lastArchivedBinlog: 'mysql-bin.000002' } })],
    });
    const ready = c.status.conditions?.find((x) => x.type === 'Ready');
    assert.deepEqual([ready?.status, ready?.reason], ['False', 'KeyProviderUnavailable']);
    assert.match(ready?.message ?? '', /EKEYUNAVAILABLE: KMS GenerateDataKey failed/);
    assert.equal(c.facts.storage.ok, true);
    assert.deepEqual(decide(c.sources[0]!, settings), { create: false, why: 'backing off after 1 failed Job(s)', retryInMs: 20_000 });
    const later = decide(c.sources[0]!, { ...settings, now: NOW + 25_000 });
    assert.deepEqual(later, { create: true, trigger: 'mysql-bin.000003~2', why: '1 closed binlog(s) pending, newest mysql-bin.000003' }, 'a new name for the retry');
    assert.equal(c.status.recentRuns?.[0]?.result, 'Failed');
    assert.deepEqual(notices('db', undefined, c, 3600).map((x) => x.reason), ['KeyProviderUnavailable']);
  });

  it('without the store: the previous status moved on by the latest Job report; a running Job blocks another', () => {
    const c = computePolicy({
      generation: 2, suspended: false, purgeThresholdSeconds: 3600, clock,
      sources: [source({
        agent: agent([binlog(2, 400), binlog(3, 300), binlog(4, 10), binlog(5, 0, false)]),
        previous: { pod: 'mysql-0', server: 'db-mysql-0', lastArchivedBinlog: 'mysql-bin.000001', firstRecoverableTime: '2025-02-01T08:00:00Z' },
        jobs: [job(), job({ name: 'p-mysql-0-bbbb', uid: 'u2', correlationId: 'bl-2', phase: 'Running', created: NOW - 5000, report: undefined, completionTime: undefined, trigger: 'mysql-bin.000004' })],
      })],
    });
    const s = c.status.sources?.[0];
    assert.equal(s?.lastArchivedBinlog, 'mysql-bin.000003');
    assert.equal(s?.lastArchivedTime, '2025-02-01T09:58:05Z');
    assert.equal(s?.firstRecoverableTime, '2025-02-01T08:00:00Z');
    assert.equal(s?.lastRecoverableTime, '2025-02-01T09:03:30Z');
    assert.equal(s?.pendingBinlogs, 1);
    assert.deepEqual(decide(c.sources[0]!, settings), { create: false, why: 'Job p-mysql-0-bbbb is running' });
    assert.deepEqual(c.status.recentRuns?.map((r) => [r.jobName, r.result, r.binlogsArchived]), [['p-mysql-0-bbbb', 'Running', undefined], ['p-mysql-0-aaaa', 'Succeeded', 2]]);
  });

  it('a silent agent: after the grace period, a Job on the safety schedule, named by the time window', () => {
    const silent: AgentView = { url: 'http://127.0.0.1:1', watchedSince: NOW - 300_000, error: 'connect ECONNREFUSED', errorSince: NOW - 300_000 };
    const c = computePolicy({ generation: 1, suspended: false, purgeThresholdSeconds: 3600, clock, sources: [source({ agent: silent })] });
    const d = decide(c.sources[0]!, settings);
    assert.deepEqual(d, { create: true, trigger: `schedule-${Math.floor(NOW / 600_000)}`, why: 'agent silent: safety schedule' });
    const fresh = decide(c.sources[0]!, { ...settings, now: NOW - 250_000 });
    assert.equal(fresh.create, false, 'not within the grace period');
    const recent = computePolicy({ generation: 1, suspended: false, purgeThresholdSeconds: 3600, clock, sources: [source({ agent: silent, jobs: [job({ created: NOW - 60_000 })] })] });
    assert.deepEqual(decide(recent.sources[0]!, settings), { create: false, why: 'agent silent; safety schedule not due', retryInMs: 540_000 });
  });

  it('suspended: no Job, Ready False Suspended', () => {
    const c = computePolicy({ generation: 1, suspended: true, purgeThresholdSeconds: 3600, clock, sources: [source({ agent: agent([binlog(3, 60), binlog(4, 0, false)]) })] });
    assert.equal(c.status.conditions?.find((x) => x.type === 'Ready')?.reason, 'Suspended');
    assert.deepEqual(decide(c.sources[0]!, { ...settings, suspended: true }), { create: false, why: 'suspended' });
  });
});

describe('run report (the termination message)', () => {
  it('stays under 4096 bytes whatever the error and gap texts', () => {
    const big = report({ gaps: 500, gapDetails: ['x'.repeat(5000), 'y'.repeat(5000), 'z'.repeat(5000)], error: { code: 'ESTORE', message: 'm'.repeat(10_000), hint: 'h'.repeat(5000) } });
    const text = encodeReport(big);
    assert.ok(Buffer.byteLength(text) <= TERMINATION_MESSAGE_MAX, `${Buffer.byteLength(text)} bytes`);
    const back = parseTerminationMessage(text);
    assert.equal(back?.gaps, 500);
    assert.equal(back?.error?.code, 'ESTORE');
    assert.deepEqual(parseTerminationMessage(encodeReport(report())), report());
  });

  it('carries the store retries by reason, at most 8 of them plus "other", and nothing when none happened', () => {
    const retries = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`reason-${String(i).padStart(2, '0')}`, 20 - i]));
    const failed = reportFromError({ code: 'ESTOREUNAVAILABLE', message: 'gave up' }, null, { requests: 300, retries: { ...retries, zero: 0 } });
    const kept = failed.storeRetries ?? {};
    assert.deepEqual(Object.keys(kept), ['reason-00', 'reason-01', 'reason-02', 'reason-03', 'reason-04', 'reason-05', 'reason-06', 'reason-07', 'other']);
    assert.equal(kept.other, 12 + 11 + 10);
    assert.deepEqual(parseTerminationMessage(encodeReport(failed))?.storeRetries, kept);
    assert.equal('storeRetries' in reportFromError({ code: 'ESTORE', message: 'x' }, null, { requests: 3, retries: {} }), false);
    assert.equal('storeRetries' in reportFromError({ code: 'ESTORE', message: 'x' }), false);
  });

  it('reads a log tail (FallbackToLogsOnError) as a failure with the CLI\'s error code', () => {
    const tail = '{"level":"info","msg":"Discovered binlogs"}\nbinlog-archiver: error EKEYUNAVAILABLE: KMS unreachable at http://127.0.0.1:1\n  check the endpoint\n';
    assert.deepEqual(parseTerminationMessage(tail)?.error, { code: 'EKEYUNAVAILABLE', message: 'KMS unreachable at http://127.0.0.1:1' });
    assert.equal(parseTerminationMessage('Killed')?.error?.code, 'EUNKNOWN');
    assert.equal(parseTerminationMessage(''), undefined);
  });
});
