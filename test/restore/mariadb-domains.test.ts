/**
 * MariaDB binlogs with several replication domains: replay applies a binlog in order, not per domain, so a start
 * point or a GTID target that does not cut that order at one place cannot be replayed exactly. Such a restore is
 * refused (ETARGET) instead of applying a transaction twice, or one past the target in its domain.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BinlogTransaction, parseGtid, parseGtidSet } from '../../src/binlog/index.ts';
import { ArchiverError } from '../../src/errors.ts';
import { FileBoundaryScan, type ScanGoal } from '../../src/restore/boundaries.ts';
import { replayBoundaries } from '../../src/restore/replay-range.ts';

/** Transactions of one binlog, 100 bytes each from position 256, one second apart. */
function scan(goal: ScanGoal, gtids: string[]): ReturnType<FileBoundaryScan['finish']> {
  const s = new FileBoundaryScan(goal, 'mariadb-bin.000001');
  gtids.forEach((gtid, i) => {
    const t: BinlogTransaction = {
      gtid, gtidValue: parseGtid('mariadb', gtid), startPosition: 256 + 100 * i, endPosition: 356 + 100 * i, timestamp: 1_700_000_000 + i,
      lastEventTimestamp: 1_700_000_000 + i, commitTimestampUs: null, originalCommitTimestampUs: null, declaredLength: null, eventCount: 3, compressed: false, complete: true,
    };
    s.onTransaction(t);
  });
  return s.finish();
}

const ORDER = ['0-1-100', '1-1-50', '0-1-101', '1-1-51', '0-1-102'];
const goal = (from: string | null, until: string | null): ScanGoal => ({
  flavor: 'mariadb', from: from === null ? null : parseGtidSet('mariadb', from),
  target: until === null ? { kind: 'latest' } : { kind: 'gtid', text: until },
  targetGtids: until === null ? null : parseGtidSet('mariadb', until),
});
const end = { endsArchive: true, closedAt: null };
const refused = (g: ScanGoal, why: RegExp): void => {
  assert.throws(() => replayBoundaries(g, [scan(g, ORDER)], end), (e: unknown) => e instanceof ArchiverError && e.code === 'ETARGET' && why.test(e.message));
};

describe('MariaDB replication domains that interleave', () => {
  it('refuses a start point that a transaction it holds comes after (it would be applied twice)', () => {
    refused(goal('0-1-100,1-1-51', null), /transaction 1-1-51 at mariadb-bin\.000001:556, which the start point \(--from-gtid\) already holds, comes after the first one it lacks/);
  });

  it('refuses a GTID target that one domain passes before the other reaches it', () => {
    refused(goal(null, '0-1-102,1-1-50'), /transaction 1-1-51 at mariadb-bin\.000001:556, past the target in domain 1, comes before the target is reached in every domain/);
  });

  it('replays exactly what cuts the order at one place', () => {
    const g = goal('0-1-100,1-1-50', '0-1-101,1-1-51');
    const b = replayBoundaries(g, [scan(g, ORDER)], end);
    assert.deepEqual([b.apply, b.startPosition, b.stopPosition], [true, 456, 656]);
    assert.equal(b.replayed?.gtids.format(), '0-1-101,1-1-51');
    const all = goal('0-1-100,1-1-50', null);
    assert.equal(replayBoundaries(all, [scan(all, ORDER)], end).startPosition, 456);
  });
});
