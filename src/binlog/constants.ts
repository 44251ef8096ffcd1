/**
 * Byte-level constants of the MySQL/MariaDB binary log format (v4), with the names the server source uses so they
 * can be looked up there. See the project's binlog format notes for where each value was read and checked.
 */

export const BINLOG_MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);
/** MySQL 8.0.14+ `binlog_encryption=ON`: a 512-byte header precedes the AES-CTR encrypted plain binlog. */
export const ENCRYPTED_BINLOG_MAGIC = Buffer.from([0xfd, 0x62, 0x69, 0x6e]);
export const MAGIC_SIZE = 4;
export const ENCRYPTION_HEADER_SIZE = 512;

export const COMMON_HEADER_LEN = 19;
export const CHECKSUM_LEN = 4;
export const OFFSET_TYPE = 4;
export const OFFSET_SERVER_ID = 5;
export const OFFSET_EVENT_LEN = 9;
export const OFFSET_LOG_POS = 13;
export const OFFSET_FLAGS = 17;

export const LOG_EVENT_BINLOG_IN_USE_F = 0x1;
export const LOG_EVENT_ARTIFICIAL_F = 0x20;
export const LOG_EVENT_RELAY_LOG_F = 0x40;

/** Event type codes that this reader looks at (MySQL `Log_event_type`, MariaDB numbers its own from 160). */
export const EventType = {
  START_V3: 1,
  QUERY: 2,
  STOP: 3,
  ROTATE: 4,
  FORMAT_DESCRIPTION: 15,
  XID: 16,
  INCIDENT: 26,
  XA_PREPARE: 38,
  GTID: 33,
  ANONYMOUS_GTID: 34,
  PREVIOUS_GTIDS: 35,
  TRANSACTION_PAYLOAD: 40,
  GTID_TAGGED: 42,
  MARIA_ANNOTATE_ROWS: 160,
  MARIA_BINLOG_CHECKPOINT: 161,
  MARIA_GTID: 162,
  MARIA_GTID_LIST: 163,
  MARIA_START_ENCRYPTION: 164,
} as const;

/** Pseudo type for MariaDB events after Start_encryption: their type byte is ciphertext. */
export const ENCRYPTED_EVENT_TYPE = -1;

const NAMES: Record<number, string> = {
  0: 'UNKNOWN_EVENT',
  1: 'START_EVENT_V3',
  2: 'QUERY_EVENT',
  3: 'STOP_EVENT',
  4: 'ROTATE_EVENT',
  5: 'INTVAR_EVENT',
  7: 'SLAVE_EVENT',
  9: 'APPEND_BLOCK_EVENT',
  11: 'DELETE_FILE_EVENT',
  13: 'RAND_EVENT',
  14: 'USER_VAR_EVENT',
  15: 'FORMAT_DESCRIPTION_EVENT',
  16: 'XID_EVENT',
  17: 'BEGIN_LOAD_QUERY_EVENT',
  18: 'EXECUTE_LOAD_QUERY_EVENT',
  19: 'TABLE_MAP_EVENT',
  23: 'WRITE_ROWS_EVENT_V1',
  24: 'UPDATE_ROWS_EVENT_V1',
  25: 'DELETE_ROWS_EVENT_V1',
  26: 'INCIDENT_EVENT',
  27: 'HEARTBEAT_LOG_EVENT',
  28: 'IGNORABLE_LOG_EVENT',
  29: 'ROWS_QUERY_LOG_EVENT',
  30: 'WRITE_ROWS_EVENT',
  31: 'UPDATE_ROWS_EVENT',
  32: 'DELETE_ROWS_EVENT',
  33: 'GTID_LOG_EVENT',
  34: 'ANONYMOUS_GTID_LOG_EVENT',
  35: 'PREVIOUS_GTIDS_LOG_EVENT',
  36: 'TRANSACTION_CONTEXT_EVENT',
  37: 'VIEW_CHANGE_EVENT',
  38: 'XA_PREPARE_LOG_EVENT',
  39: 'PARTIAL_UPDATE_ROWS_EVENT',
  40: 'TRANSACTION_PAYLOAD_EVENT',
  41: 'HEARTBEAT_LOG_EVENT_V2',
  42: 'GTID_TAGGED_LOG_EVENT',
  160: 'MARIA_ANNOTATE_ROWS_EVENT',
  161: 'MARIA_BINLOG_CHECKPOINT_EVENT',
  162: 'MARIA_GTID_EVENT',
  163: 'MARIA_GTID_LIST_EVENT',
  164: 'MARIA_START_ENCRYPTION_EVENT',
};

/** Human name of an event type code, e.g. `QUERY_EVENT`; `UNKNOWN(100)` for codes no server version defines. */
export function eventTypeName(type: number): string {
  if (type === ENCRYPTED_EVENT_TYPE) return 'ENCRYPTED_EVENT';
  return NAMES[type] ?? `UNKNOWN(${type})`;
}
