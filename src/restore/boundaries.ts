/**
 * Exact replay boundaries, taken from the restored bytes themselves (never from the manifest alone): where the
 * first transaction the base backup lacks starts, and where the target is reached. The target is checked before
 * every transaction that would be applied, the first one included, so a target the starting point already
 * reaches applies nothing. A restore whose bytes do not reach its target fails instead of stopping short.
 *
 * Each restored file is scanned once, while it is written (FileBoundaryScan, fed by the binlog inspector);
 * `replayBoundaries` (replay-range.ts) then combines the per-file results in file order. Positions given by the user must be
 * transaction boundaries: a replay that starts or stops inside a transaction applies half of it.
 */
import { type BinlogTransaction, type EventDetail, EventType, type GtidSet, addGtidTo, emptyGtidSet, gtidSetContains, gtidSetUnion } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';
import type { RestoreTarget } from './target.ts';

export interface ScanGoal {
  flavor: 'mysql' | 'mariadb';
  /** GTIDs the base backup holds (--from-gtid), or null. */
  from: GtidSet | null;
  target: RestoreTarget;
  targetGtids: GtidSet | null;
}

/** The transactions of one file before a point that replay applies: their GTIDs, and how many had none. */
export interface Applied {
  gtids: GtidSet;
  anonymous: number;
}

/** What the server holds at a point of a file: the executed GTIDs and the stamp of the last transaction before it. */
export interface RecoveredPoint {
  gtids: string;
  lastTimestamp: number | null;
  /** Applied before this point when replay started in an earlier file (every transaction not in the start point). */
  appliedAny: Applied;
  /** Applied before this point when replay starts in this file (from its first transaction to apply). */
  appliedAfterStart: Applied;
}

export interface FileScanResult {
  file: string;
  /**
   * Where replay starts if it starts in this file: the start position (4 without one) when there is no --from-gtid,
   * else the first transaction not in it; null when nothing in this file is to be applied.
   */
  start: number | null;
  /** Offset of the first transaction to apply if replay starts in this file (after `fromPosition`, not in `from`). */
  firstToApply: number | null;
  /** First transaction at or after `firstToApply` before which the target is reached (replay starts here). */
  stopAfterStart: number | null;
  /** First transaction before which the target is reached (replay started in an earlier file). */
  stopAny: number | null;
  /** Offset of the first transaction of the file, or null if it has none. */
  firstTransaction: number | null;
  /** GTID targets: the target is reached once every transaction of this file is applied. */
  reachedAtEnd: boolean;
  /** What stopped the scan, for the summary: e.g. `before GTID u:12 (2026-…)`. */
  stopReason: string | null;
  lastTimestamp: number | null;
  transactions: number;
  /**
   * MariaDB, which replays a binlog in order and not per domain: the first transaction that replay would apply
   * although it should not (one the base backup holds, or one past the GTID target in its domain), when replay
   * started in an earlier file / in this one. A range holding one cannot be replayed exactly (replayBoundaries).
   */
  inexactAny: string | null;
  inexactAfterStart: string | null;
  /**
   * --from-gtid: transactions without a GTID (gtid_mode OFF) after the last one the start point holds, where
   * nothing shows whether the base backup holds them: the position of the first, when the file ends with them
   * before its first transaction to apply. `heldBeforeStart`: a transaction the start point holds comes before
   * that first transaction to apply (it settles such transactions of an earlier file: the backup holds them).
   */
  undecidedAnonymous: number | null;
  heldBeforeStart: boolean;
  /** The server's state at stopAny, at stopAfterStart, and after the whole file. */
  atStopAny: RecoveredPoint | null;
  atStopAfterStart: RecoveredPoint | null;
  atEnd: RecoveredPoint | null;
}

/** 1 at the type codes of file-level events (a lookup table: consulted for every event). */
const FILE_LEVEL = new Uint8Array(256);
for (const t of [EventType.FORMAT_DESCRIPTION, EventType.ROTATE, EventType.STOP, EventType.PREVIOUS_GTIDS,
  EventType.INCIDENT, EventType.MARIA_GTID_LIST, EventType.MARIA_BINLOG_CHECKPOINT, EventType.MARIA_START_ENCRYPTION]) FILE_LEVEL[t] = 1;

/** The start point cannot be placed: transactions without a GTID that nothing shows the backup holds (replay-range.ts too). */
export function anonymousStart(file: string, position: number): ArchiverError {
  return new ArchiverError('EUSAGE', `--from-gtid cannot place the start point: ${file} holds transactions without a GTID (gtid_mode OFF) from position ${position}, after the last transaction the start point holds, and nothing shows whether the base backup holds them`, {
    hint: 'give the start as the binlog coordinates the base backup recorded (--from-file/--from-position)',
  });
}

function insideError(option: string, file: string, position: number, from: number, to: number, what: string): ArchiverError {
  return new ArchiverError('EUSAGE', `${option} ${position} is inside ${what} of ${file} (bytes ${from}..${to}): replay would apply part of it`, {
    hint: `positions must be transaction boundaries, as SHOW BINARY LOG STATUS and backup tools report them: use ${from} or ${to}`,
  });
}

/**
 * Scans one restored binlog; the inspector feeds it every event (as its `observer`: arguments, no object per event)
 * and every transaction (`onTransaction`), then call `finish`.
 */
export class FileBoundaryScan {
  readonly #goal: ScanGoal;
  readonly #file: string;
  readonly #fromPosition: number | null;
  readonly #untilPosition: number | null;
  #state: GtidSet | null = null;
  #result: FileScanResult;
  #started = false;
  #looseEvents = 0;
  #inTransaction = false;
  #insideEvent: ArchiverError | null = null;
  #atUntil: RecoveredPoint | null = null;
  readonly #appliedAny: Applied;
  readonly #appliedAfterStart: Applied;

  /** `fromPosition`/`untilPosition`: set when the start or the position target lies in this file. */
  constructor(goal: ScanGoal, file: string, positions: { fromPosition?: number; untilPosition?: number } = {}) {
    this.#goal = goal;
    this.#file = file;
    this.#fromPosition = positions.fromPosition ?? null;
    this.#untilPosition = positions.untilPosition ?? null;
    this.#result = { file, start: goal.from === null ? (this.#fromPosition ?? 4) : null, firstToApply: null, stopAfterStart: null, stopAny: null, firstTransaction: null, reachedAtEnd: false, stopReason: null, lastTimestamp: null, transactions: 0,
      inexactAny: null, inexactAfterStart: null, undecidedAnonymous: null, heldBeforeStart: false, atStopAny: null, atStopAfterStart: null, atEnd: null };
    this.#appliedAny = { gtids: emptyGtidSet(goal.flavor), anonymous: 0 };
    this.#appliedAfterStart = { gtids: emptyGtidSet(goal.flavor), anonymous: 0 };
  }

  /**
   * EventObserver: only the events with a detail (GTID, Previous_gtids, Gtid_list...) unless a position lies in
   * this file, which every event is checked against; the events outside transactions are then counted here, else
   * the inspector's count comes through `end`.
   */
  get detailsOnly(): boolean {
    return this.#fromPosition === null && this.#untilPosition === null;
  }

  end(eventsOutsideTransactions: number): void {
    if (this.detailsOnly) this.#looseEvents = eventsOutsideTransactions;
  }

  event(position: number, type: number, length: number, d: EventDetail | null): void {
    if (this.#fromPosition !== null || this.#untilPosition !== null) {
      for (const [option, p] of [['--from-position', this.#fromPosition], ['--until-position', this.#untilPosition]] as const) {
        // Reported at the end unless the transaction around it is reported first (its bounds are the useful ones).
        if (p !== null && position < p && p < position + length) this.#insideEvent ??= insideError(option, this.#file, p, position, position + length, 'an event');
      }
    }
    // The file's own starting state (Previous_gtids / Gtid_list), which comes before its first transaction.
    if (d?.kind === 'previous-gtids' && this.#state === null) this.#state = this.#withFrom(d.set);
    else if (d?.kind === 'mariadb-gtid-list' && this.#state === null) this.#state = this.#withFrom(d.list);
    // Events outside transactions (counted here only when every event comes): a file of them without any
    // transaction cannot be cut by time or GTID (finish). In a file without GTID events this counts exactly the
    // events that are not file-level, as the inspector's count does.
    if (d?.kind === 'gtid' || d?.kind === 'mariadb-gtid') this.#inTransaction = true;
    else if (FILE_LEVEL[type] === 1) this.#inTransaction = false;
    else if (!this.#inTransaction) this.#looseEvents++;
  }

  onTransaction(t: BinlogTransaction): void {
    const r = this.#result;
    // Called for every transaction: no allocation for the position checks unless a position lies in this file.
    if (this.#fromPosition !== null || this.#untilPosition !== null) {
      for (const [option, p] of [['--from-position', this.#fromPosition], ['--until-position', this.#untilPosition]] as const) {
        if (p !== null && t.startPosition < p && p < t.endPosition) throw insideError(option, this.#file, p, t.startPosition, t.endPosition, `transaction ${t.gtid ?? '(anonymous)'}`);
      }
    }
    r.transactions++;
    r.firstTransaction ??= t.startPosition;
    const state = this.#stateBefore();
    const held = this.#inFrom(t);
    // Replay that started in an earlier file applies every transaction not held (appliesAny); replay that starts in
    // this file starts at a transaction with a GTID when --from-gtid places it (anonymous ones before are undecided).
    const appliesAny = (this.#fromPosition === null || t.startPosition >= this.#fromPosition) && !held;
    const anonymousUndecided = this.#goal.from !== null && t.gtidValue === null && !this.#started;
    const applies = appliesAny && !anonymousUndecided;
    if (!this.#started) this.#settleAnonymous(t, held, anonymousUndecided);
    if (applies && !this.#started) {
      this.#started = true;
      r.firstToApply = t.startPosition;
      r.start ??= t.startPosition;
    }
    const reason = this.#reachedBefore(t, state);
    if (reason !== null) {
      if (r.stopAny === null) {
        r.stopAny = t.startPosition;
        r.stopReason = reason;
        r.atStopAny = this.#point();
      }
      if (this.#started && r.stopAfterStart === null) {
        r.stopAfterStart = t.startPosition;
        r.atStopAfterStart = this.#point();
      }
    }
    const replayed = reason === null && (this.#untilPosition === null || t.startPosition < this.#untilPosition);
    if (replayed && this.#goal.flavor === 'mariadb' && t.gtidValue !== null && (r.stopAny === null || (this.#started && r.stopAfterStart === null))) {
      const problem = this.#inexact(t);
      if (problem !== null && r.stopAny === null) r.inexactAny ??= problem;
      if (problem !== null && this.#started && r.stopAfterStart === null) r.inexactAfterStart ??= problem;
    }
    if (this.#untilPosition !== null && t.startPosition >= this.#untilPosition) this.#atUntil ??= this.#point();
    if (t.gtidValue !== null) addGtidTo(state, t.gtidValue);
    if (appliesAny) addApplied(this.#appliedAny, t);
    if (applies && this.#started) addApplied(this.#appliedAfterStart, t);
    if (t.timestamp !== 0) r.lastTimestamp = t.timestamp;
  }

  finish(): FileScanResult {
    if (this.#insideEvent !== null) throw this.#insideEvent;
    const r = this.#result;
    const { target, targetGtids } = this.#goal;
    if (r.transactions === 0 && this.#looseEvents > 0 && (target.kind === 'time' || target.kind === 'gtid')) {
      throw new ArchiverError('EBADINPUT', `${this.#file} holds events but no GTID or Anonymous_gtid events, so its transaction boundaries cannot be found for a ${target.kind} target`, {
        hint: 'restore these binlogs by file and position (--until-file/--until-position), or to the latest point',
      });
    }
    if (targetGtids !== null) r.reachedAtEnd = gtidSetContains(this.#stateBefore(), targetGtids);
    r.atEnd = this.#point();
    if (this.#untilPosition !== null) {
      // A position target stops here whatever the transactions are (validated above as a boundary).
      r.stopAny ??= this.#untilPosition;
      r.stopAfterStart = this.#untilPosition;
      r.stopReason = `at ${this.#file}:${this.#untilPosition}`;
      r.atStopAny = r.atStopAfterStart = this.#atUntil ?? r.atEnd;
    }
    return r;
  }

  #point(): RecoveredPoint {
    return { gtids: this.#stateBefore().format(), lastTimestamp: this.#result.lastTimestamp, appliedAny: copyApplied(this.#appliedAny), appliedAfterStart: copyApplied(this.#appliedAfterStart) };
  }

  /** What the server holds before the next transaction: the file's starting state, the base backup, and what came since. */
  #stateBefore(): GtidSet {
    this.#state ??= this.#withFrom(emptyGtidSet(this.#goal.flavor));
    return this.#state;
  }

  #withFrom(set: GtidSet): GtidSet {
    return gtidSetUnion(emptyGtidSet(this.#goal.flavor), this.#goal.from === null ? set : gtidSetUnion(set, this.#goal.from));
  }

  #inFrom(t: BinlogTransaction): boolean {
    const from = this.#goal.from;
    if (from === null || t.gtidValue === null) return false;
    const one = emptyGtidSet(this.#goal.flavor);
    addGtidTo(one, t.gtidValue);
    return gtidSetContains(from, one);
  }

  /**
   * --from-gtid and transactions without a GTID before this file's first one to apply: those before a transaction
   * the start point holds are in the backup; those after its last one stay undecided (the backup may or may not
   * hold them). `undecidedAnonymous` is what is undecided when this file's start comes (or at its end):
   * replayBoundaries refuses a replay that starts after undecided transactions.
   */
  #settleAnonymous(t: BinlogTransaction, held: boolean, anonymousUndecided: boolean): void {
    const r = this.#result;
    if (anonymousUndecided) r.undecidedAnonymous ??= t.startPosition;
    else if (held) {
      r.undecidedAnonymous = null;
      r.heldBeforeStart = true;
    }
  }

  /** Why replaying `t` (a MariaDB transaction before the stop) would not be exact, or null. */
  #inexact(t: BinlogTransaction): string | null {
    const { targetGtids } = this.#goal;
    const g = t.gtidValue;
    if (g === null || g.flavor !== 'mariadb') return null;
    if (this.#inFrom(t)) return `transaction ${t.gtid ?? ''} at ${this.#file}:${t.startPosition}, which the start point (--from-gtid) already holds, comes after the first one it lacks: replay would apply it again`;
    if (targetGtids?.flavor === 'mariadb') {
      const limit = targetGtids.get(g.domainId);
      if (limit !== undefined && g.seqNo > limit.seqNo) return `transaction ${t.gtid ?? ''} at ${this.#file}:${t.startPosition}, past the target in domain ${g.domainId}, comes before the target is reached in every domain: replay would apply it`;
    }
    return null;
  }

  #reachedBefore(t: BinlogTransaction, state: GtidSet): string | null {
    const { target, targetGtids } = this.#goal;
    // The reason text is built only for the transaction that reaches the target, not for every one.
    const at = (): string => `${this.#file}:${t.startPosition}`;
    if (target.kind === 'time') {
      // Binlog timestamps have one-second resolution: everything stamped at or before the target second is applied.
      const limit = Math.floor(target.until.getTime() / 1000);
      return t.timestamp > limit ? `before ${t.gtid ?? 'the transaction'} at ${at()}, stamped ${new Date(t.timestamp * 1000).toISOString()}` : null;
    }
    if (targetGtids !== null && gtidSetContains(state, targetGtids)) return `before ${t.gtid ?? 'the transaction'} at ${at()}: ${targetGtids.format()} is executed`;
    return null;
  }
}

function addApplied(to: Applied, t: BinlogTransaction): void {
  if (t.gtidValue === null) to.anonymous++;
  else addGtidTo(to.gtids, t.gtidValue);
}

export function copyApplied(a: Applied): Applied {
  return { gtids: gtidSetUnion(a.gtids, emptyGtidSet(a.gtids.flavor)), anonymous: a.anonymous };
}
