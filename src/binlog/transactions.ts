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

interface Open {
  gtidValue: Gtid | null;
  startPosition: number;
  endPosition: number;
  timestamp: number;
  lastEventTimestamp: number;
  commitTimestampUs: number | null;
  originalCommitTimestampUs: number | null;
  declaredLength: number | null;
  eventCount: number;
  compressed: boolean;
  lastType: number;
}

/** Types not counted by `outside`: file-level events, and MariaDB's Start_encryption (also a file's preamble). */
const NOT_OUTSIDE = BOUNDARY.slice();
NOT_OUTSIDE[EventType.MARIA_START_ENCRYPTION] = 1;

export class TransactionTracker {
  readonly #emit: (t: BinlogTransaction) => void;
  #open: Open | null = null;
  /**
   * Events seen while no transaction was open that are neither GTID events nor file-level: what a file holds
   * outside transactions (in a file without GTID events, every event but the file-level ones).
   */
  outside = 0;

  constructor(emit: (t: BinlogTransaction) => void) {
    this.#emit = emit;
  }

  /** One event (EventSink's arguments, those it needs). */
  event(position: number, type: number, length: number, timestamp: number, d: EventDetail | null): void {
    if (d !== null && (d.kind === 'gtid' || d.kind === 'mariadb-gtid')) {
      this.#close('followed');
      const mysql = d.kind === 'gtid';
      this.#open = {
        gtidValue: mysql ? (d.gtid === null ? null : { flavor: 'mysql', ...d.gtid }) : { flavor: 'mariadb', ...d.gtid },
        startPosition: position,
        endPosition: position + length,
        timestamp,
        lastEventTimestamp: timestamp,
        commitTimestampUs: mysql ? d.immediateCommitTimestampUs : null,
        originalCommitTimestampUs: mysql ? d.originalCommitTimestampUs : null,
        declaredLength: mysql ? d.transactionLength : null,
        eventCount: 1,
        compressed: false,
        lastType: type,
      };
      return;
    }
    if (BOUNDARY[type] === 1) {
      this.#close('followed');
      return;
    }
    const t = this.#open;
    if (t === null) {
      if (NOT_OUTSIDE[type] !== 1) this.outside++;
      return;
    }
    t.endPosition = position + length;
    t.eventCount++;
    t.lastType = type;
    if (timestamp !== 0) t.lastEventTimestamp = timestamp;
    if (type === EventType.TRANSACTION_PAYLOAD) t.compressed = true;
  }

  /** Call once after the last event. */
  finish(): void {
    this.#close('eof');
  }

  #close(how: 'followed' | 'eof'): void {
    const t = this.#open;
    if (t === null) return;
    this.#open = null;
    let complete: boolean | null;
    if (t.declaredLength !== null) complete = t.endPosition - t.startPosition === t.declaredLength;
    else if (how === 'followed') complete = true;
    else if (t.lastType === EventType.XID || t.lastType === EventType.XA_PREPARE) complete = true;
    else complete = t.eventCount === 1 ? false : null;
    this.#emit({
      gtid: t.gtidValue === null ? null : formatGtid(t.gtidValue),
      gtidValue: t.gtidValue,
      startPosition: t.startPosition,
      endPosition: t.endPosition,
      timestamp: t.timestamp,
      lastEventTimestamp: t.lastEventTimestamp,
      commitTimestampUs: t.commitTimestampUs,
      originalCommitTimestampUs: t.originalCommitTimestampUs,
      declaredLength: t.declaredLength,
      eventCount: t.eventCount,
      compressed: t.compressed,
      complete,
    });
  }
}
