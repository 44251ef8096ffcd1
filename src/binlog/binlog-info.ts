/**
 * What `inspectBinlog` reports about one file. A plain binlog is read event by event; a MySQL-encrypted one
 * only shows its 512-byte header, so the two are separate shapes told apart by `magic`.
 *
 * Times: `...Time` fields are ISO-8601 strings, `...TimeMs` the same instant as epoch milliseconds
 * (`new Date(ms)`); commit timestamps are epoch microseconds as the server records them.
 */
import type { MysqlEncryptionHeader } from './encryption-header.ts';
import type { BinlogFlavor, ChecksumAlg } from './event-types.ts';
import type { GtidSet } from './gtid.ts';

export interface MariadbEncryption {
  readonly kind: 'mariadb';
  /** Offset of the Start_encryption event; every event after it is encrypted. */
  readonly startPosition: number;
  readonly scheme: number;
  readonly keyVersion: number;
}

export interface PlainBinlogInfo {
  readonly path: string;
  readonly size: number;
  readonly magic: 'plain';
  readonly flavor: BinlogFlavor;
  readonly serverVersion: string;
  readonly binlogVersion: number;
  /** server_id in the first Format_description_event's header. */
  readonly serverId: number;
  readonly checksumAlg: ChecksumAlg;
  /** LOG_EVENT_BINLOG_IN_USE_F on the first FDE: the server had the file open when it was copied. */
  readonly inUse: boolean;
  /** Written by a replica's I/O thread (LOG_EVENT_RELAY_LOG_F on the first FDE). */
  readonly relayLog: boolean;
  /**
   * Ends with a Rotate or Stop event and the in-use flag is clear: the server finished this file. A file whose last
   * event is complete but that has neither is readable, just not known to be finished.
   */
  readonly closed: boolean;
  readonly endsWithRotate: boolean;
  readonly endsWithStop: boolean;
  readonly eventCount: number;
  /** Events per type code (see eventTypeName). */
  readonly eventCounts: Readonly<Record<number, number>>;
  /** CRC32 results; `skipped` counts events without a checksum or with verification off. */
  readonly crc: { readonly ok: number; readonly bad: number; readonly skipped: number; readonly badPositions: readonly number[] };
  /** Offset of the first event (the FDE), always 4. */
  readonly firstEventPosition: number;
  /** Offset of the last event. */
  readonly lastEventPosition: number;
  /** Offset just past the last event; equals `size` for every file this reader accepts. */
  readonly endPosition: number;
  readonly lastEventType: number;
  /** First and last non-zero event header times (artificial relay-log events carry 0). */
  readonly firstEventTime: string | null;
  readonly firstEventTimeMs: number | null;
  readonly lastEventTime: string | null;
  readonly lastEventTimeMs: number | null;
  /** MySQL: the Previous_gtids event; MariaDB: the Gtid_list event. null when the file has neither (old servers). */
  readonly previousGtids: { readonly text: string; readonly set: GtidSet } | null;
  /** GTIDs of the transactions in this file (MariaDB: the last GTID per domain). */
  readonly gtidsAdded: GtidSet;
  readonly firstGtid: string | null;
  readonly lastGtid: string | null;
  /** Gtid, tagged Gtid and MariaDB GTID events. */
  readonly gtidEventCount: number;
  /** Anonymous_gtid events (GTID_MODE=OFF). */
  readonly anonymousGtidCount: number;
  readonly transactionCount: number;
  /** Commit timestamps of the first and last transactions (MySQL 8.0.1+), epoch microseconds. */
  readonly firstCommitTimestampUs: number | null;
  readonly lastCommitTimestampUs: number | null;
  /** binlog_transaction_compression: payload events, their compression types ('zstd', 'none') and inner bytes. */
  readonly transactionPayload: { readonly count: number; readonly compressionTypes: readonly string[]; readonly uncompressedBytes: number };
  /** The last Rotate event: where the server continued. */
  readonly rotate: { readonly nextFile: string; readonly position: number } | null;
  /** MariaDB encrypts events inside the file after a Start_encryption event. */
  readonly encryption: MariadbEncryption | null;
}

export interface EncryptedBinlogInfo {
  readonly path: string;
  readonly size: number;
  readonly magic: 'mysql-encrypted';
  readonly flavor: 'mysql';
  /** The key and header version; everything else is ciphertext this tool never decrypts. */
  readonly encryption: MysqlEncryptionHeader;
}

export type BinlogInfo = PlainBinlogInfo | EncryptedBinlogInfo;
