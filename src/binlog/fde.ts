/**
 * Format_description_event (type 15): the first event of every v4 binlog. It decides how to read the rest of the
 * file — the checksum algorithm and the common header length — and names the server version.
 */
import { COMMON_HEADER_LEN } from './constants.ts';
import { versionSplit } from './codec.ts';
import type { BinlogFlavor, ChecksumAlg, FormatDescription } from './event-types.ts';

const SERVER_VERSION_LEN = 50;
/** binlog_version 2 + server_version 50 + create_timestamp 4 + header_length 1 (`START_V3_HEADER_LEN + 1`). */
const FIXED_PART = 57;

/** `checksum_version_split`: MySQL wrote the algorithm byte from 5.6.1 on, MariaDB from 5.3.0 on. */
function writesChecksumAlg(serverVersion: string, flavor: BinlogFlavor): boolean {
  const [a, b, c] = versionSplit(serverVersion);
  const v = a * 65536 + b * 256 + c;
  return flavor === 'mariadb' ? v >= 5 * 65536 + 3 * 256 : v >= 5 * 65536 + 6 * 256 + 1;
}

export type FdeResult = FormatDescription | { kind: 'error'; message: string };

/** Decodes a whole FDE event (`event` starts at its common header). */
export function parseFormatDescription(event: Buffer): FdeResult {
  const body = COMMON_HEADER_LEN;
  if (event.length < body + FIXED_PART) {
    return { kind: 'error', message: `Format_description_event is ${event.length} bytes, shorter than its fixed part (${body + FIXED_PART})` };
  }
  const binlogVersion = event.readUInt16LE(body);
  const raw = event.subarray(body + 2, body + 2 + SERVER_VERSION_LEN);
  const nul = raw.indexOf(0);
  const serverVersion = raw.toString('latin1', 0, nul === -1 ? raw.length : nul);
  const createTimestamp = event.readUInt32LE(body + 52);
  const commonHeaderLen = event[body + 56] as number;
  const flavor: BinlogFlavor = /mariadb/i.test(serverVersion) ? 'mariadb' : 'mysql';
  if (binlogVersion !== 4) {
    return { kind: 'error', message: `Format_description_event declares binlog version ${binlogVersion}; only version 4 (MySQL 5.0+, MariaDB) is supported` };
  }
  if (commonHeaderLen < COMMON_HEADER_LEN) {
    return { kind: 'error', message: `Format_description_event declares a common header of ${commonHeaderLen} bytes, less than the minimum 19` };
  }
  let checksumAlg: ChecksumAlg = 'undef';
  let hasCrc = false;
  if (writesChecksumAlg(serverVersion, flavor)) {
    if (event.length < body + FIXED_PART + 5) {
      return { kind: 'error', message: `Format_description_event of ${serverVersion} is too short to hold its checksum algorithm and CRC` };
    }
    const alg = event[event.length - 5] as number;
    if (alg === 0) checksumAlg = 'none';
    else if (alg === 1) checksumAlg = 'crc32';
    else if (alg === 255) checksumAlg = 'undef';
    else return { kind: 'error', message: `Format_description_event names unknown checksum algorithm ${alg}` };
    hasCrc = alg !== 255;
  }
  return { kind: 'fde', binlogVersion, serverVersion, flavor, createTimestamp, commonHeaderLen, checksumAlg, hasCrc };
}
