/**
 * What the streaming reader hands out per event: the common header plus, for the few event types an archiver
 * needs, a decoded detail. Bodies of all other events are skipped (but still covered by the CRC check).
 */
import type { MariadbGtid, MariadbGtidList } from './mariadb-gtid-list.ts';
import type { MysqlGtid, MysqlGtidSet } from './mysql-gtid-set.ts';

export type ChecksumAlg = 'none' | 'crc32' | 'undef';
export type BinlogFlavor = 'mysql' | 'mariadb';

export interface FormatDescription {
  readonly kind: 'fde';
  readonly binlogVersion: number;
  readonly serverVersion: string;
  readonly flavor: BinlogFlavor;
  /** Non-zero only in the first binlog after a server start (Unix seconds). */
  readonly createTimestamp: number;
  readonly commonHeaderLen: number;
  /** 'undef' for writers older than MySQL 5.6.1 / MariaDB 5.3, whose FDE has no algorithm byte. */
  readonly checksumAlg: ChecksumAlg;
  /** Whether this FDE itself ends in a CRC32 (true even for alg 'none', see the format notes §4). */
  readonly hasCrc: boolean;
}

export interface RotateDetail {
  readonly kind: 'rotate';
  readonly nextFile: string;
  readonly position: number;
}

export interface PreviousGtidsDetail {
  readonly kind: 'previous-gtids';
  readonly set: MysqlGtidSet;
  readonly tagged: boolean;
}

/** Gtid (33), Anonymous_gtid (34) and tagged Gtid (42) events. */
export interface GtidDetail {
  readonly kind: 'gtid';
  /** null for Anonymous_gtid (GTID_MODE=OFF). */
  readonly gtid: MysqlGtid | null;
  readonly flags: number;
  readonly lastCommitted: bigint | null;
  readonly sequenceNumber: bigint | null;
  /** Microseconds since the epoch; null for writers older than 8.0.1. */
  readonly immediateCommitTimestampUs: number | null;
  readonly originalCommitTimestampUs: number | null;
  /** Bytes of the whole transaction including this event (8.0.2+). */
  readonly transactionLength: number | null;
  readonly immediateServerVersion: number | null;
  readonly originalServerVersion: number | null;
}

export interface PayloadDetail {
  readonly kind: 'payload';
  /** 0 = zstd, 255 = none (`mysql::binlog::event::compression::type`). */
  readonly compressionType: number;
  readonly payloadSize: number | null;
  readonly uncompressedSize: number | null;
}

export interface MariadbGtidDetail {
  readonly kind: 'mariadb-gtid';
  readonly gtid: MariadbGtid;
  readonly flags: number;
  /** FL_STANDALONE: the event group is one statement with no BEGIN/COMMIT (e.g. DDL). */
  readonly standalone: boolean;
}

export interface MariadbGtidListDetail {
  readonly kind: 'mariadb-gtid-list';
  readonly list: MariadbGtidList;
}

export interface MariadbCheckpointDetail {
  readonly kind: 'mariadb-checkpoint';
  readonly file: string;
}

export interface MariadbStartEncryptionDetail {
  readonly kind: 'mariadb-start-encryption';
  readonly scheme: number;
  readonly keyVersion: number;
}

export type EventDetail =
  | FormatDescription
  | RotateDetail
  | PreviousGtidsDetail
  | GtidDetail
  | PayloadDetail
  | MariadbGtidDetail
  | MariadbGtidListDetail
  | MariadbCheckpointDetail
  | MariadbStartEncryptionDetail;

export interface BinlogEvent {
  /** File offset of the event's first byte. */
  readonly position: number;
  /** Header timestamp, Unix seconds (0 on artificial relay-log events). */
  readonly timestamp: number;
  /** Event type code; ENCRYPTED_EVENT_TYPE (-1) after a MariaDB Start_encryption event. */
  readonly type: number;
  readonly serverId: number;
  /** Whole event length in bytes, header and checksum included. */
  readonly length: number;
  readonly logPos: number;
  readonly flags: number;
  /** 'skipped': no checksum on this event, or verification turned off. */
  readonly crc: 'ok' | 'bad' | 'skipped';
  readonly detail: EventDetail | null;
}
