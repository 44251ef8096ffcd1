/**
 * Binlog reader: inspect MySQL/MariaDB binary logs in constant memory — from a file, or pushed chunk by chunk
 * while they stream elsewhere (createBinlogInspector) — stream their transactions, find them on disk, and do
 * GTID set algebra. Import from here; the other files are internals.
 */
export { inspectBinlog, readBinlogTransactions, detectBinlogMagic, readFdeHead } from './inspect.ts';
export type { InspectOptions, ReadOptions, BinlogMagic, FdeHead } from './inspect.ts';
export { openRegularFile, statRegularFile } from './chunked-file.ts';
export { createBinlogInspector, inspectStream } from './inspector.ts';
export type { BinlogInspector, InspectorOptions } from './inspector.ts';
export type { BinlogInfo, PlainBinlogInfo, EncryptedBinlogInfo, MariadbEncryption } from './binlog-info.ts';
export type { MysqlEncryptionHeader } from './encryption-header.ts';
export type { BinlogTransaction } from './transactions.ts';
export type { BinlogEvent, EventDetail, ChecksumAlg, BinlogFlavor } from './event-types.ts';
export { EventType, eventTypeName } from './constants.ts';
export {
  MysqlGtidSet,
  MariadbGtidList,
  parseGtidSet,
  emptyGtidSet,
  parseGtid,
  formatGtid,
  addGtidTo,
  gtidSetContains,
  gtidSetUnion,
} from './gtid.ts';
export type { GtidSet, Gtid, GtidFlavor, MysqlGtid, MariadbGtid } from './gtid.ts';
export { parseMysqlGtid, formatMysqlGtid, normalizeUuid, normalizeTag, MAX_GNO } from './mysql-gtid-set.ts';
export type { GnoInterval, GtidSetEntry } from './mysql-gtid-set.ts';
export { parseMariadbGtid, formatMariadbGtid } from './mariadb-gtid-list.ts';
export { readBinlogIndex, parseBinlogIndex, listBinlogFiles, parseBinlogName, parseSequence } from './index-file.ts';
export type { BinlogFileName, BinlogIndexEntry, BinlogDirEntry } from './index-file.ts';
