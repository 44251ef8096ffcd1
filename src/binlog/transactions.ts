/**
 * Groups events into transactions for restore planning: a transaction starts at its GTID event (Gtid,
 * Anonymous_gtid, tagged Gtid, MariaDB GTID) and ends where the next one starts, at a file-level event (Rotate,
 * Stop, FDE, Previous_gtids, Gtid_list, Binlog_checkpoint, Incident) or at the end of the file. Files without GTID
 * events (MySQL before 5.7.6 with GTIDs off, MariaDB before 10.0) yield no transactions.
 */
import { EventType } from './constants.ts';
import type { EventDetail } from './event-types.ts';
import { formatGtid } from './gtid.ts';
import type { Gtid } from './gtid.ts';
import type { MariadbGtid } from './mariadb-gtid-list.ts';
import type { MysqlGtid } from './mysql-gtid-set.ts';

export interface BinlogTransaction {
  /** Text form (`uuid:5`, `uuid:tag:5`, `0-1-100`); null for anonymous transactions (GTID_MODE=OFF). */
  readonly gtid: string | null;
  readonly gtidValue: Gtid | null;
  /** Offset of the GTID event: `mysqlbinlog --start-position` / `--stop-position` for this transaction. */
  readonly startPosition: number;
  /** Offset just past the transaction's last event. */
  readonly endPosition: number;
  /** Header time of the GTID event, Unix seconds (what `mysqlbinlog --stop-datetime` compares). */
  readonly timestamp: number;
  /** Header time of the transaction's last event, Unix seconds. */
  readonly lastEventTimestamp: number;
  /** Commit time on the server that wrote this binlog, microseconds since the epoch (MySQL 8.0.1+). */
  readonly commitTimestampUs: number | null;
  /** Commit time on the server where the transaction originated, microseconds (MySQL 8.0.1+). */
  readonly originalCommitTimestampUs: number | null;
  /** Transaction length recorded in the GTID event (MySQL 8.0.2+), null otherwise. */
  readonly declaredLength: number | null;
  readonly eventCount: number;
  /** Contains a Transaction_payload event (binlog_transaction_compression=ON). */
  readonly compressed: boolean;
  /**
   * Whether every event of the transaction is in this file: exact when the GTID event records the length, true when
   * another transaction or a file-level event follows it; at the end of a file, true after an Xid/XA_PREPARE, false
   * when only the GTID event is there, null when it cannot be told without decoding statements.
   */
  readonly complete: boolean | null;
}

/** 1 at the type codes of file-level events (a lookup table: this is consulted for every event). */
const BOUNDARY = new Uint8Array(256);
for (const t of [
  EventType.ROTATE,
  EventType.STOP,
  EventType.FORMAT_DESCRIPTION,
  EventType.PREVIOUS_GTIDS,
  EventType.INCIDENT,
  EventType.MARIA_GTID_LIST,
  EventType.MARIA_BINLOG_CHECKPOINT,
]) {
  BOUNDARY[t] = 1;
}

/** Types not counted by `outside`: file-level events, and MariaDB's Start_encryption (also a file's preamble). */
const NOT_OUTSIDE = BOUNDARY.slice();
NOT_OUTSIDE[EventType.MARIA_START_ENCRYPTION] = 1;

/**
 * Called when a transaction ends, with its commit time (MySQL 8.0.1+, else null): what a consumer that only counts
 * needs, without the BinlogTransaction object.
 */
export type TransactionEnded = (commitTimestampUs: number | null) => void;

/**
 * Follows the open transaction in fields of its own, reused from one transaction to the next: on a binlog of small
 * transactions (hundreds of thousands per file) an object per transaction was most of what the archive's main
 * thread allocated, and what made its young generation grow (docs/PERFORMANCE.md 4e). The BinlogTransaction, its
 * GTID and the GTID's text are built only for a consumer that asked for them (`emit`).
 */
export class TransactionTracker {
  readonly #emit: ((t: BinlogTransaction) => void) | null;
  readonly #ended: TransactionEnded | null;
  #isOpen = false;
  /** The GTID event's detail (its GTID object is shared, not copied); null for an anonymous transaction. */
  #mysqlGtid: MysqlGtid | null = null;
  #mariadbGtid: MariadbGtid | null = null;
  #startPosition = 0;
  #endPosition = 0;
  #timestamp = 0;
  #lastEventTimestamp = 0;
  #commitTimestampUs: number | null = null;
  #originalCommitTimestampUs: number | null = null;
  #declaredLength: number | null = null;
  #eventCount = 0;
  #compressed = false;
  #lastType = 0;
  /**
   * Events seen while no transaction was open that are neither GTID events nor file-level: what a file holds
   * outside transactions (in a file without GTID events, every event but the file-level ones).
   */
  outside = 0;

  /** `emit` gets every transaction as an object; `ended` only its end (either may be null). */
  constructor(emit: ((t: BinlogTransaction) => void) | null, ended: TransactionEnded | null = null) {
    this.#emit = emit;
    this.#ended = ended;
  }

  /** One event (EventSink's arguments, those it needs). */
  event(position: number, type: number, length: number, timestamp: number, d: EventDetail | null): void {
    if (d !== null && (d.kind === 'gtid' || d.kind === 'mariadb-gtid')) {
      this.#close('followed');
      const mysql = d.kind === 'gtid';
      this.#isOpen = true;
      this.#mysqlGtid = mysql ? d.gtid : null;
      this.#mariadbGtid = mysql ? null : d.gtid;
      this.#startPosition = position;
      this.#endPosition = position + length;
      this.#timestamp = timestamp;
      this.#lastEventTimestamp = timestamp;
      this.#commitTimestampUs = mysql ? d.immediateCommitTimestampUs : null;
      this.#originalCommitTimestampUs = mysql ? d.originalCommitTimestampUs : null;
      this.#declaredLength = mysql ? d.transactionLength : null;
      this.#eventCount = 1;
      this.#compressed = false;
      this.#lastType = type;
      return;
    }
    if (BOUNDARY[type] === 1) {
      this.#close('followed');
      return;
    }
    if (!this.#isOpen) {
      if (NOT_OUTSIDE[type] !== 1) this.outside++;
      return;
    }
    this.#endPosition = position + length;
    this.#eventCount++;
    this.#lastType = type;
    if (timestamp !== 0) this.#lastEventTimestamp = timestamp;
    if (type === EventType.TRANSACTION_PAYLOAD) this.#compressed = true;
  }

  /** Call once after the last event. */
  finish(): void {
    this.#close('eof');
  }

  #close(how: 'followed' | 'eof'): void {
    if (!this.#isOpen) return;
    this.#isOpen = false;
    this.#ended?.(this.#commitTimestampUs);
    if (this.#emit === null) return;
    const declared = this.#declaredLength;
    let complete: boolean | null;
    if (declared !== null) complete = this.#endPosition - this.#startPosition === declared;
    else if (how === 'followed') complete = true;
    else if (this.#lastType === EventType.XID || this.#lastType === EventType.XA_PREPARE) complete = true;
    else complete = this.#eventCount === 1 ? false : null;
    const mysql = this.#mysqlGtid;
    const mariadb = this.#mariadbGtid;
    const gtidValue: Gtid | null = mysql !== null ? { flavor: 'mysql', ...mysql } : mariadb !== null ? { flavor: 'mariadb', ...mariadb } : null;
    this.#emit({
      gtid: gtidValue === null ? null : formatGtid(gtidValue),
      gtidValue,
      startPosition: this.#startPosition,
      endPosition: this.#endPosition,
      timestamp: this.#timestamp,
      lastEventTimestamp: this.#lastEventTimestamp,
      commitTimestampUs: this.#commitTimestampUs,
      originalCommitTimestampUs: this.#originalCommitTimestampUs,
      declaredLength: declared,
      eventCount: this.#eventCount,
      compressed: this.#compressed,
      complete,
    });
  }
}
