/**
 * The replay range of a restore: the per-file boundary scans (boundaries.ts) combined in file order into where
 * replay starts and stops, how the target is reached, and what the server holds afterwards; or why the restore
 * cannot stop exactly at its target.
 */
import { gtidSetUnion } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';
import type { ManifestEntry } from '../store/manifest.ts';
import { type Applied, type FileScanResult, type RecoveredPoint, type ScanGoal, anonymousStart, copyApplied } from './boundaries.ts';

export interface ReplayBoundaries {
  /** Index range of the planned files that replay reads; `apply` false when nothing is to be applied. */
  apply: boolean;
  firstFile: number;
  lastFile: number;
  startPosition: number;
  /** Offset in the last file where replay stops; null = its end. */
  stopPosition: number | null;
  /** How the bytes show the target is reached, for the summary. */
  reached: string;
  /** The server's state once the replay is applied (null when nothing is replayed). */
  recovered: { gtids: string; until: string | null } | null;
  /** The transactions the replay applies (null when nothing is replayed): what the server must show afterwards. */
  replayed: Applied | null;
}

const nothing = (reached: string): ReplayBoundaries => ({ apply: false, firstFile: 0, lastFile: -1, startPosition: 4, stopPosition: null, reached, recovered: null, replayed: null });

/** What replay applies from file `first` (after its start) up to `point` of file `i`. */
function replayedUpTo(scans: readonly FileScanResult[], first: number, i: number, point: RecoveredPoint | null): Applied | null {
  const parts: (Applied | undefined)[] = i === first ? [point?.appliedAfterStart] : [scans[first]?.atEnd?.appliedAfterStart, ...scans.slice(first + 1, i).map((s) => s.atEnd?.appliedAny), point?.appliedAny];
  let out: Applied | null = null;
  for (const p of parts) {
    if (p === undefined) return null;
    out = out === null ? copyApplied(p) : { gtids: gtidSetUnion(out.gtids, p.gtids), anonymous: out.anonymous + p.anonymous };
  }
  return out;
}

/** The state at `point` of file `i`; the stamp of the last replayed transaction may lie in an earlier file. */
function recoveredAt(scans: readonly FileScanResult[], i: number, point: RecoveredPoint | null): ReplayBoundaries['recovered'] {
  let stamp = point?.lastTimestamp ?? null;
  for (let j = i - 1; stamp === null && j >= 0; j--) stamp = scans[j]?.atEnd?.lastTimestamp ?? null;
  return { gtids: point?.gtids ?? '', until: stamp === null ? null : new Date(stamp * 1000).toISOString() };
}

function notReached(goal: ScanGoal, last: FileScanResult | undefined, endsArchive: boolean): ArchiverError {
  const target = goal.target.kind === 'time' ? `--until ${goal.target.until.toISOString()}` : goal.target.kind === 'gtid' ? `--until-gtid ${goal.target.text}` : 'the target';
  const where = last === undefined ? 'no binlog' : `${last.file} (last transaction stamped ${last.lastTimestamp === null ? 'never' : new Date(last.lastTimestamp * 1000).toISOString()})`;
  if (endsArchive && goal.target.kind === 'time') {
    return new ArchiverError('ETARGET', `${target} is after the last archived transaction, in ${where}: not recoverable from the archive yet`, { hint: 'wait for the next rotation to be archived, or pick an earlier time' });
  }
  return new ArchiverError('EVERIFY', `the restored binlogs end at ${where} without reaching ${target}, although the manifest said they would`, {
    hint: 'the manifest disagrees with the archived bytes: run `binlog-archiver verify`; nothing was replayed and no replay.sh was written',
  });
}

function backupPastTarget(goal: ScanGoal, s: FileScanResult): ArchiverError {
  const until = goal.target.kind === 'time' ? goal.target.until.toISOString() : '';
  return new ArchiverError('ETARGET', `--until ${until} is before the start point: the base backup (--from-gtid) already holds a transaction stamped after it (${s.stopReason ?? s.file})`, {
    hint: 'a restore cannot go back from its base backup: restore an earlier backup, or pick a later time',
  });
}

/** How the planned files end: whether the last is the newest archived binlog, and when it was closed. */
export interface PlanEnd {
  endsArchive: boolean;
  /**
   * The last planned binlog's last event (its Rotate, or the Stop of a shutdown): when it was closed. Checked
   * against the bytes before the boundaries are combined (planning fields).
   */
  closedAt: string | null;
}

export function planEnd(files: readonly ManifestEntry[], entries: readonly ManifestEntry[]): PlanEnd {
  const last = files.at(-1);
  return { endsArchive: last !== undefined && last === entries.at(-1), closedAt: last?.binlog.lastEventTime ?? null };
}

/**
 * A time target is reached at the end of the planned files only if the last of them was closed after the target's
 * second: a transaction stamped in that second may otherwise still come, in the next binlog. (A transaction
 * stamped after it would have stopped the scan before.)
 */
function closedAfter(end: PlanEnd, untilSecond: number): boolean {
  if (end.closedAt === null) return false;
  const closed = Date.parse(end.closedAt);
  return Number.isFinite(closed) && Math.floor(closed / 1000) > untilSecond;
}

/** Refuses a range that replay cannot apply exactly (FileScanResult.inexactAny): files first..last are replayed. */
function assertExact(scans: readonly FileScanResult[], first: number, last: number): void {
  for (let j = first; j <= last; j++) {
    const problem = j === first ? scans[j]?.inexactAfterStart : scans[j]?.inexactAny;
    if (problem === null || problem === undefined) continue;
    throw new ArchiverError('ETARGET', `the restore cannot replay exactly from its start point to its target: ${problem}`, {
      hint: 'MariaDB binlogs interleave replication domains and replay applies them in binlog order: choose a start point and a target that cut that order at one place in every domain (SHOW BINLOG EVENTS shows it), or give positions (--from-file/--from-position, --until-file/--until-position)',
    });
  }
}

/** Combines the per-file scans (in planned order) into one replay range. */
export function replayBoundaries(goal: ScanGoal, scans: readonly FileScanResult[], end: PlanEnd): ReplayBoundaries {
  const { endsArchive } = end;
  let first = -1;
  let start = 4;
  /** Transactions without a GTID of an earlier file that nothing after them settled (undecidedAnonymous). */
  let undecided: { file: string; position: number } | null = null;
  for (let i = 0; i < scans.length; i++) {
    const s = scans[i]!;
    if (first === -1) {
      if (s.heldBeforeStart) undecided = null;
      if (s.undecidedAnonymous !== null) undecided = { file: s.file, position: s.undecidedAnonymous };
      if (s.start !== null && undecided !== null) throw anonymousStart(undecided.file, undecided.position);
    }
    if (first === -1 && s.start === null) {
      const stop = s.stopAny;
      // Undecided transactions before the stop: the backup may lack them, so neither verdict below is sure.
      const u = undecided;
      if (stop !== null && u !== null && (u.file !== s.file || u.position < stop || (goal.target.kind === 'time' && u.position === stop))) throw anonymousStart(u.file, u.position);
      if (stop !== null && goal.target.kind === 'position') return nothing(`the start point is already at or past ${s.stopReason ?? 'the target'}`);
      if (stop !== null && goal.target.kind === 'time') throw backupPastTarget(goal, s);
      continue;
    }
    if (first === -1) {
      first = i;
      start = s.start!;
      // A transaction the base backup holds is stamped after the target: the backup is already past it.
      if (goal.target.kind === 'time' && s.stopAny !== null && s.stopAny < (s.firstToApply ?? Infinity)) throw backupPastTarget(goal, s);
    }
    const stop = i === first ? s.stopAfterStart : s.stopAny;
    if (stop === null) continue;
    const reached = `reached ${s.stopReason ?? ''}`.trim();
    if (i === first && stop <= (s.firstToApply ?? start)) return nothing(`${reached}: the start point already reaches the target`);
    const point = i === first ? s.atStopAfterStart : s.atStopAny;
    const recovered = recoveredAt(scans, i, point);
    const replayed = replayedUpTo(scans, first, i, point);
    // The target reached before the first transaction of a later file: that file adds nothing.
    if (i > first && (s.firstTransaction === null || stop <= s.firstTransaction)) {
      assertExact(scans, first, i - 1);
      return { apply: true, firstFile: first, lastFile: i - 1, startPosition: start, stopPosition: null, reached, recovered, replayed };
    }
    assertExact(scans, first, i);
    return { apply: true, firstFile: first, lastFile: i, startPosition: start, stopPosition: stop, reached, recovered, replayed };
  }
  const last = scans.at(-1);
  const kind = goal.target.kind;
  if (first === -1) {
    if (undecided !== null) throw anonymousStart(undecided.file, undecided.position);
    // Every transaction of the planned files is already in the base backup (--from-gtid).
    if (kind !== 'gtid') return nothing('every transaction of the planned binlogs is already in the start point');
    if (last?.reachedAtEnd ?? false) return nothing('the start point already holds the target GTIDs');
    throw notReached(goal, last, endsArchive);
  }
  // Every remaining outcome replays to the end of the planned files.
  if (kind === 'latest' || (kind === 'gtid' && (last?.reachedAtEnd ?? false)) || kind === 'time') assertExact(scans, first, scans.length - 1);
  const atEnd = recoveredAt(scans, scans.length - 1, last?.atEnd ?? null);
  const replayed = replayedUpTo(scans, first, scans.length - 1, last?.atEnd ?? null);
  if (kind === 'latest') return { apply: true, firstFile: first, lastFile: scans.length - 1, startPosition: start, stopPosition: null, reached: `reached the end of ${last?.file ?? 'the archive'}`, recovered: atEnd, replayed };
  if (kind === 'gtid' && (last?.reachedAtEnd ?? false)) {
    return { apply: true, firstFile: first, lastFile: scans.length - 1, startPosition: start, stopPosition: null, reached: `reached at the end of ${last?.file ?? ''}: ${goal.targetGtids?.format() ?? ''} is executed`, recovered: atEnd, replayed };
  }
  if (kind === 'time' && last !== undefined && closedAfter(end, Math.floor(goal.target.until.getTime() / 1000))) {
    return { apply: true, firstFile: first, lastFile: scans.length - 1, startPosition: start, stopPosition: null, reached: `reached at the end of ${last.file}, closed at ${end.closedAt ?? ''}, after the target`, recovered: atEnd, replayed };
  }
  throw notReached(goal, last, endsArchive);
}
