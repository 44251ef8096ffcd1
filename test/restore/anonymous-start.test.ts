/**
 * --from-gtid and transactions without a GTID (gtid_mode OFF, or switched off after the base backup): a GTID set
 * cannot say whether the backup holds them unless a transaction it holds comes after them. Where nothing settles
 * it, the restore refuses (EUSAGE, give the backup's binlog coordinates) instead of skipping them as held, which
 * lost them, or replaying them, which may apply them twice.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { type BinlogTransaction, gtidSetUnion, parseGtid, parseGtidSet } from '../../src/binlog/index.ts';
import { ArchiverError } from '../../src/errors.ts';
import { FileBoundaryScan, type FileScanResult, type ScanGoal } from '../../src/restore/boundaries.ts';
import { replayBoundaries } from '../../src/restore/replay-range.ts';
import { planRestore } from '../../src/restore/plan.ts';
import { readEntries } from '../../src/store/manifest.ts';
import { openStore } from '../../src/store/open-store.ts';
import { KINGBUS, binlogDir, newKeyUrl, tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';

const U = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
const goal: ScanGoal = { flavor: 'mysql', from: parseGtidSet('mysql', `${U}:1-5`), target: { kind: 'latest' }, targetGtids: null };

/** One binlog of transactions (a GTID, or null for an anonymous one), 100 bytes each from position 256. */
function scan(file: string, gtids: (string | null)[], g: ScanGoal = goal, positions: { untilPosition?: number } = {}): FileScanResult {
  const s = new FileBoundaryScan(g, file, positions);
  gtids.forEach((gtid, i) => {
    const t: BinlogTransaction = {
      gtid, gtidValue: gtid === null ? null : parseGtid('mysql', gtid), startPosition: 256 + 100 * i, endPosition: 356 + 100 * i, timestamp: 1_700_000_000 + i,
      lastEventTimestamp: 1_700_000_000 + i, commitTimestampUs: null, originalCommitTimestampUs: null, declaredLength: null, eventCount: 3, compressed: false, complete: true,
    };
    s.onTransaction(t);
  });
  return s.finish();
}
const end = { endsArchive: true, closedAt: null };
const ambiguous = (e: unknown): boolean => e instanceof ArchiverError && e.code === 'EUSAGE' && /--from-gtid cannot place the start point: b\.00000\d holds transactions without a GTID \(gtid_mode OFF\) from position \d+/.test(e.message)
  && /--from-file\/--from-position/.test(e.hint ?? '');

describe('--from-gtid and transactions without a GTID', () => {
  it('refuses when the archive ends with them after the last transaction the backup holds', () => {
    assert.throws(() => replayBoundaries(goal, [scan('b.000002', [null, null])], end), ambiguous);
  });

  it('refuses when they lie between the last transaction the backup holds and the first it lacks', () => {
    assert.throws(() => replayBoundaries(goal, [scan('b.000001', [`${U}:5`, null, `${U}:6`])], end), ambiguous);
    assert.throws(() => replayBoundaries(goal, [scan('b.000001', [null]), scan('b.000002', [`${U}:6`])], end), ambiguous);
  });

  it('starts after them when a transaction the backup holds comes after them (the backup holds them too)', () => {
    const b = replayBoundaries(goal, [scan('b.000001', [null, `${U}:5`, `${U}:6`])], end);
    assert.deepEqual([b.apply, b.startPosition], [true, 456]);
    const across = replayBoundaries(goal, [scan('b.000001', [null, null]), scan('b.000002', [`${U}:5`, `${U}:6`])], end);
    assert.deepEqual([across.firstFile, across.startPosition], [1, 356]);
  });

  it('replays those after the first transaction the backup lacks', () => {
    const b = replayBoundaries(goal, [scan('b.000001', [`${U}:5`, `${U}:6`, null])], end);
    assert.deepEqual([b.apply, b.startPosition, b.replayed?.anonymous], [true, 356, 1]);
  });

  it('replays them in a binlog after the one replay starts in, and counts them as replayed', () => {
    const b = replayBoundaries(goal, [scan('b.000001', [`${U}:5`, `${U}:6`]), scan('b.000002', [null, `${U}:7`]), scan('b.000003', [null, null])], end);
    assert.deepEqual([b.firstFile, b.lastFile, b.startPosition, b.replayed?.anonymous, b.replayed?.gtids.format()], [0, 2, 356, 3, `${U}:6-7`]);
  });

  it('refuses a position target or a time target whose verdict depends on them', () => {
    const at = (kind: 'position' | 'time'): ScanGoal => ({ ...goal, target: kind === 'position' ? { kind, file: 'b.000002', position: 456 } : { kind, until: new Date(1_000 * 1_700_000_000) } });
    const pos = at('position');
    assert.throws(() => replayBoundaries(pos, [scan('b.000001', [`${U}:4`, `${U}:5`], pos), scan('b.000002', [null, null, null], pos, { untilPosition: 456 })], end), ambiguous);
    // Stamped after the target but undecided: the backup may not hold it, so it is not "the backup is past the target".
    const time = at('time');
    assert.throws(() => replayBoundaries(time, [scan('b.000001', [`${U}:5`], time), scan('b.000002', [null, null], time)], end), ambiguous);
    // Held and stamped after the target: the backup is past it.
    assert.throws(() => replayBoundaries(time, [scan('b.000001', [`${U}:4`, `${U}:5`], time)], end), (e: unknown) => e instanceof ArchiverError && e.code === 'ETARGET');
  });

  it('plans a binlog that adds no GTID after the last one the backup holds, instead of skipping it as held', async () => {
    const { dir } = binlogDir(KINGBUS, 'mysql-bin');
    const work = tempDir();
    const store = `file://${path.join(work, 'store')}`;
    const r = await runCli(['archive', '--binlog-dir', dir, '--store', store, '--key', newKeyUrl(work), '--source', 'db1', '-q']);
    assert.equal(r.code, 0, r.stderr);
    const entries = await readEntries(openStore(store), 'db1');
    const [first, second] = entries;
    assert.ok(first !== undefined && second !== undefined);
    // The second binlog as gtid_mode OFF writes it: it adds no GTID, and the state after it is the first one's.
    const anonymous = structuredClone(second);
    anonymous.binlog.gtidsAdded = '';
    anonymous.binlog.previousGtids = first.binlog.previousGtids === null ? null
      : gtidSetUnion(parseGtidSet('mysql', first.binlog.previousGtids), parseGtidSet('mysql', first.binlog.gtidsAdded)).format();
    const heldByBackup = anonymous.binlog.previousGtids ?? '';
    const plan = planRestore({ entries: [first, anonymous], source: 'db1', fromGtid: heldByBackup, target: { kind: 'latest' } });
    assert.deepEqual(plan.files.map((e) => e.binlog.name), [anonymous.binlog.name]);
  });
});
