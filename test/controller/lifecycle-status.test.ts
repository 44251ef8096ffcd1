/**
 * What the controller makes of a scheduled verify or expire Job: the report the CLI writes (the same encoders the
 * commands use) read back from the termination message into status.verification / status.retention, condition
 * ArchiveVerified and the metrics; a crash's log tail or a hostile message is a failed run, never a success.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { archiveVerifiedCondition } from '../../src/api/conditions.ts';
import { parseExpireReport, parseVerifyReport } from '../../src/contracts/lifecycle-report.ts';
import { recordRunMetrics, retentionAfter, verificationAfter } from '../../src/controller/lifecycle-status.ts';
import { encodeExpireReport } from '../../src/lifecycle/expire-report.ts';
import type { ExpireSummary, SourceExpiry } from '../../src/lifecycle/expire-run.ts';
import { ControllerMetrics } from '../../src/metrics/metrics.ts';
import { encodeVerifyFailure, encodeVerifyReport } from '../../src/restore/verify-report.ts';
import type { VerifySummary } from '../../src/restore/verify-run.ts';

const clock = { now: () => new Date('2026-12-03T12:00:00Z') };
const ctx = { generation: 4, clock };
const finishedAt = new Date('2026-12-03T03:31:00Z');

function verifySummary(over: Partial<VerifySummary> = {}): VerifySummary {
  return { store: 's3://b/p', sources: [{ source: 'shop-mysql-0', binlogs: 3, bytes: 300, gaps: [] }], verified: 3, bytes: 300, problems: [], orphans: [], skipped: 2, since: '2026-12-02T03:31:00.000Z', durationMs: 5, ...over };
}

const run = (message: string | undefined, phase: 'Succeeded' | 'Failed' = 'Succeeded') => ({ jobName: 'orders-verify-29412345', phase, finishedAt: '2026-12-03T03:31:05Z', message });

describe('scheduled verification in status, condition and metrics', () => {
  it('a clean run sets lastVerifiedTime, the counts and ArchiveVerified True', () => {
    const status = verificationAfter(undefined, run(encodeVerifyReport(verifySummary(), finishedAt)));
    assert.deepEqual(status, {
      lastVerifiedTime: '2026-12-03T03:31:00.000Z', lastRunTime: '2026-12-03T03:31:00.000Z', jobName: 'orders-verify-29412345', result: 'Succeeded',
      objectsVerified: 3, bytesVerified: 300, problems: 0, message: 'verified 3 object(s) (300 bytes) in 1 source(s), archived since 2026-12-02T03:31:00.000Z',
    });
    const c = archiveVerifiedCondition(status, ctx);
    assert.deepEqual([c.type, c.status, c.reason], ['ArchiveVerified', 'True', 'VerificationSucceeded']);
  });

  it('problems keep the last successful time, name the first problems, and turn ArchiveVerified False', () => {
    const problems = [{ source: 'shop-mysql-0', binlog: 'mysql-bin.000002', objectKey: 'k', code: 'EVERIFY', message: 'decodes to 10 bytes' }];
    const status = verificationAfter({ lastVerifiedTime: '2026-12-02T03:31:00Z' }, run(encodeVerifyReport(verifySummary({ problems, orphans: ['x'], verified: 2 }), finishedAt), 'Failed'));
    assert.deepEqual([status.lastVerifiedTime, status.result, status.problems, status.objectsVerified], ['2026-12-02T03:31:00Z', 'Failed', 2, 2]);
    assert.match(status.message ?? '', /2 problem\(s\) \(1 object\(s\) without a manifest entry\): EVERIFY shop-mysql-0\/mysql-bin\.000002: decodes to 10 bytes/);
    const c = archiveVerifiedCondition(status, ctx);
    assert.deepEqual([c.status, c.reason], ['False', 'VerificationProblems']);
  });

  it('a run that could not start, a crash\'s log tail, or no message at all is VerificationFailed', () => {
    const failed = verificationAfter(undefined, run(encodeVerifyFailure({ code: 'EKEYUNAVAILABLE', message: 'KMS unreachable' }, finishedAt), 'Failed'));
    assert.deepEqual([failed.result, failed.lastVerifiedTime, failed.message], ['Failed', undefined, 'verify could not run: EKEYUNAVAILABLE: KMS unreachable']);
    assert.equal(archiveVerifiedCondition(failed, ctx).reason, 'VerificationFailed');
    const crashed = verificationAfter({ lastVerifiedTime: '2026-12-01T00:00:00Z' }, run('{"level":"error","msg":"out of memory"}\nKilled', 'Failed'));
    assert.deepEqual([crashed.result, crashed.lastVerifiedTime], ['Failed', '2026-12-01T00:00:00Z']);
    assert.match(crashed.message ?? '', /without a report: [^]*Killed/);
    assert.match(verificationAfter(undefined, run(undefined, 'Failed')).message ?? '', /no report/);
    // A report that claims success on a failed Job is not a success.
    assert.equal(verificationAfter(undefined, run(encodeVerifyReport(verifySummary(), finishedAt), 'Failed')).result, 'Failed');
    assert.equal(archiveVerifiedCondition(undefined, ctx).reason, 'AwaitingVerification');
  });

  it('the readers refuse what is not a report: wrong kinds, negative or fractional counts, bad times', () => {
    const good = JSON.parse(encodeVerifyReport(verifySummary(), finishedAt)) as Record<string, unknown>;
    for (const bad of [{ kind: 'expire' }, { verified: -1 }, { bytes: 1.5 }, { finishedAt: 'yesterday' }, { problems: [{ source: 1 }] }, { ok: 'yes' }, { error: 'x' }]) {
      assert.equal(parseVerifyReport(JSON.stringify({ ...good, ...bad })), undefined, JSON.stringify(bad));
    }
    for (const text of ['', 'null', '[]', '{', '"verify"']) assert.equal(parseVerifyReport(text), undefined);
    assert.ok(parseVerifyReport(JSON.stringify(good)) !== undefined);
  });

  it('metrics: objects, bytes, problems, and seconds since the last successful verification at scrape time', async () => {
    let now = Date.parse('2026-12-03T04:31:00Z');
    const metrics = new ControllerMetrics({ defaultMetrics: false, nowMs: () => now });
    recordRunMetrics(metrics, 'shop', 'orders', { verification: verificationAfter(undefined, run(encodeVerifyReport(verifySummary(), finishedAt))) });
    let text = await metrics.text();
    assert.match(text, /binlog_archiver_verified_objects_total\{namespace="shop",policy="orders"\} 3/);
    assert.match(text, /binlog_archiver_verified_bytes_total\{namespace="shop",policy="orders"\} 300/);
    assert.match(text, /binlog_archiver_verify_problems\{namespace="shop",policy="orders"\} 0/);
    assert.match(text, /binlog_archiver_seconds_since_last_verification\{namespace="shop",policy="orders"\} 3600/);
    now += 60_000;
    text = await metrics.text();
    assert.match(text, /binlog_archiver_seconds_since_last_verification\{namespace="shop",policy="orders"\} 3660/);
    metrics.forgetPolicy('shop', 'orders');
    assert.doesNotMatch(await metrics.text(), /seconds_since_last_verification\{/);
  });
});

function source(name: string, firstRecoverableTime: string | null, held = false): SourceExpiry {
  return {
    source: name, basis: 'window-start', anchorKey: null, windowStart: '2026-11-26T12:00:00.000Z', retainedFrom: 'mysql-bin.000010', firstRecoverableTime,
    expiredBinlogs: [], deletedObjects: 2, deletedBytes: 500, retained: [], keptGaps: [], notes: held ? ['restore lease lease-1 holds the source: nothing is expired while a restore runs'] : [],
  };
}

describe('scheduled retention in status and metrics', () => {
  const summary = (sources: SourceExpiry[]): ExpireSummary => ({
    store: 's3://b/p', now: '2026-12-03T12:00:00.000Z', recoveryWindow: '168h', dryRun: false, sources, deletedObjects: 4, deletedBytes: 1000, durationMs: 3,
  });

  it('firstRecoverableTime is the latest over the sources; counts and held sources are reported', async () => {
    const text = encodeExpireReport(summary([source('a', '2026-11-26T10:00:00.000Z'), source('b', '2026-11-26T11:00:00.000Z', true), source('c', null)]));
    assert.ok(parseExpireReport(text) !== undefined);
    const status = retentionAfter(undefined, { jobName: 'orders-expire-1', phase: 'Succeeded', finishedAt: '2026-12-03T12:00:05Z', message: text });
    assert.deepEqual(status, {
      firstRecoverableTime: '2026-11-26T11:00:00.000Z', lastExpiryTime: '2026-12-03T12:00:00.000Z', jobName: 'orders-expire-1', result: 'Succeeded',
      objectsExpired: 4, bytesExpired: 1000, message: 'expired 4 object(s) (1000 bytes) outside the 168h recovery window; held back by a restore lease or a gap: b',
    });
    const metrics = new ControllerMetrics({ defaultMetrics: false });
    recordRunMetrics(metrics, 'shop', 'orders', { retention: status });
    const m = await metrics.text();
    assert.match(m, /binlog_archiver_expired_objects_total\{namespace="shop",policy="orders"\} 4/);
    assert.match(m, /binlog_archiver_expired_bytes_total\{namespace="shop",policy="orders"\} 1000/);
  });

  it('a failed expire Job keeps the previous window and says why', () => {
    const status = retentionAfter({ firstRecoverableTime: '2026-11-20T00:00:00Z' }, { jobName: 'orders-expire-2', phase: 'Failed', finishedAt: '2026-12-03T13:00:05Z', message: 'error ESTORE: access denied' });
    assert.deepEqual([status.firstRecoverableTime, status.result, status.objectsExpired, status.message],
      ['2026-11-20T00:00:00Z', 'Failed', 0, 'expire Job orders-expire-2 failed: error ESTORE: access denied']);
  });
});
