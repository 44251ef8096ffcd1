/**
 * When a time target counts as reached at the end of the planned binlogs: only when the last of them was closed (its
 * Rotate, or a shutdown's Stop, stamped) after the target's second. A transaction stamped in that second could
 * otherwise still come in the next binlog, not archived yet: a restore that stopped there would be silently short.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyGtidSet } from '../../src/binlog/index.ts';
import { ArchiverError } from '../../src/errors.ts';
import type { FileScanResult, ScanGoal } from '../../src/restore/boundaries.ts';
import { replayBoundaries } from '../../src/restore/replay-range.ts';

const T = Date.UTC(2026, 0, 2, 3, 4, 5) / 1000; // the target's second
const goal: ScanGoal = { flavor: 'mariadb', from: null, target: { kind: 'time', until: new Date(T * 1000 + 500) }, targetGtids: null };

/** A scanned binlog whose transactions are all stamped at or before the target (none stopped the scan). */
function scanned(file: string, lastTimestamp: number | null, transactions: number): FileScanResult {
  const applied = { gtids: emptyGtidSet('mariadb'), anonymous: 0 };
  const point = { gtids: '0-1-5', lastTimestamp, appliedAny: applied, appliedAfterStart: applied };
  return { file, start: 4, firstToApply: transactions > 0 ? 256 : null, stopAfterStart: null, stopAny: null, firstTransaction: transactions > 0 ? 256 : null,
    reachedAtEnd: false, stopReason: null, lastTimestamp, transactions, inexactAny: null, inexactAfterStart: null, undecidedAnonymous: null, heldBeforeStart: false, atStopAny: null, atStopAfterStart: null, atEnd: point };
}
const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

describe('where a time target is reached: the end of the planned binlogs, the base backup', () => {
  it('is not reached when the newest archived binlog was closed in the target\'s second: ETARGET, not a short restore', () => {
    assert.throws(() => replayBoundaries(goal, [scanned('b.000001', T, 3)], { endsArchive: true, closedAt: iso(T) }),
      (e: unknown) => e instanceof ArchiverError && e.code === 'ETARGET' && /not recoverable from the archive yet/.test(e.message));
  });

  it('is reached when it was closed after the target\'s second, even if its last transaction is stamped in it', () => {
    const b = replayBoundaries(goal, [scanned('b.000001', T, 3)], { endsArchive: true, closedAt: iso(T + 1) });
    assert.equal(b.apply, true);
    assert.equal(b.stopPosition, null);
    assert.match(b.reached, /closed at .* after the target/);
  });

  it('is reached at an empty binlog planned after the one rotated after the target (not a false EVERIFY)', () => {
    const b = replayBoundaries(goal, [scanned('b.000001', T - 30, 3), scanned('b.000002', null, 0)], { endsArchive: false, closedAt: iso(T + 100) });
    assert.equal(b.apply, true);
    assert.equal(b.firstFile, 0);
    assert.equal(b.recovered?.until, iso(T - 30));
  });

  it('is not reached, and says the bytes disagree, when a binlog that is not the newest was closed before the target', () => {
    assert.throws(() => replayBoundaries(goal, [scanned('b.000001', T - 30, 3)], { endsArchive: false, closedAt: iso(T - 1) }),
      (e: unknown) => e instanceof ArchiverError && e.code === 'EVERIFY');
  });

  const fromGoal: ScanGoal = { ...goal, from: emptyGtidSet('mariadb') };
  const withStop = (r: FileScanResult, stopAny: number, firstToApply: number | null): FileScanResult => ({
    ...r, start: firstToApply, firstToApply, stopAny, stopAfterStart: firstToApply === null ? null : Math.max(stopAny, firstToApply), stopReason: `before GTID 0-1-4 at ${r.file}:${stopAny}, stamped ${iso(T + 1)}`,
  });

  it('refuses a time target before the base backup: a transaction the backup holds is stamped after it (ETARGET, not "nothing to replay")', () => {
    const past = (scans: FileScanResult[]): void => assert.throws(() => replayBoundaries(fromGoal, scans, { endsArchive: true, closedAt: iso(T + 5) }),
      (e: unknown) => e instanceof ArchiverError && e.code === 'ETARGET' && /is before the start point: the base backup \(--from-gtid\) already holds a transaction stamped after it \(before GTID 0-1-4/.test(e.message));
    // In the binlog where replay would start, before the first transaction to apply.
    past([withStop(scanned('b.000001', T + 1, 6), 300, 500)]);
    // In a binlog the backup holds whole.
    past([withStop(scanned('b.000001', T + 1, 6), 300, null), scanned('b.000002', T + 2, 2)]);
  });

  it('applies nothing when the first transaction the backup lacks is the first stamped after the target', () => {
    const b = replayBoundaries(fromGoal, [withStop(scanned('b.000001', T + 1, 6), 500, 500)], { endsArchive: true, closedAt: iso(T + 5) });
    assert.equal(b.apply, false);
    assert.match(b.reached, /the start point already reaches the target/);
  });
});
