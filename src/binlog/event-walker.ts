/**
 * Walks the events of a plain binlog in constant memory: reads each header, validates its length against the
 * file and its own log_pos, verifies the CRC32 over every byte (streaming through events larger than the window),
 * and decodes only the bodies an archiver needs. Events come out in batches so the per-event cost stays a plain
 * function call, not an await.
 */
import { crc32 } from 'node:zlib';
import { checksumMismatch, corrupt, truncated } from './binlog-errors.ts';
import type { ChunkedFile } from './chunked-file.ts';
import {
  CHECKSUM_LEN,
  COMMON_HEADER_LEN,
  ENCRYPTED_EVENT_TYPE,
  EventType,
  LOG_EVENT_ARTIFICIAL_F,
  LOG_EVENT_BINLOG_IN_USE_F,
  LOG_EVENT_RELAY_LOG_F,
  MAGIC_SIZE,
  OFFSET_FLAGS,
  eventTypeName,
} from './constants.ts';
import type { BinlogEvent, EventDetail, FormatDescription } from './event-types.ts';
import { parseFormatDescription } from './fde.ts';
import { parseMariadbCheckpoint, parseMariadbGtid, parseMariadbGtidList, parseMariadbStartEncryption } from './mariadb-events.ts';
import { parseGtid, parsePayloadHeader, parsePreviousGtids, parseRotate, parseTaggedGtid } from './mysql-events.ts';

export interface WalkOptions {
  /** Verify the CRC32 of every event that has one (default true). Off, bodies are skipped without being read. */
  verifyChecksums?: boolean;
  /** On a CRC mismatch: 'throw' an EBINLOGCHECKSUM (default) or 'count' it and go on. */
  checksumFailure?: 'throw' | 'count';
}

const BATCH = 1024;
/** Bodies decoded in full (Previous_gtids, Gtid_list) are bounded so a corrupt length cannot exhaust memory. */
const MAX_DECODED_BODY = 64 * 1024 * 1024;
const MAX_FDE_LEN = 64 * 1024;
const PAYLOAD_PREFIX = 256;
const U32 = 2 ** 32;

/** Body bytes to decode for a type; 0 = skip. `Infinity` = whole body. */
function decodedLength(type: number): number {
  switch (type) {
    case EventType.ROTATE:
    case EventType.PREVIOUS_GTIDS:
    case EventType.GTID:
    case EventType.ANONYMOUS_GTID:
    case EventType.GTID_TAGGED:
    case EventType.MARIA_GTID:
    case EventType.MARIA_GTID_LIST:
    case EventType.MARIA_BINLOG_CHECKPOINT:
    case EventType.MARIA_START_ENCRYPTION:
      return Infinity;
    case EventType.TRANSACTION_PAYLOAD:
      return PAYLOAD_PREFIX;
    default:
      return 0;
  }
}

/** Decoders throw RangeError on short or inconsistent bodies; returned here so the CRC verdict can come first. */
function tryDecode(type: number, body: Buffer, serverId: number): EventDetail | RangeError | null {
  try {
    return decodeBody(type, body, serverId);
  } catch (err) {
    if (err instanceof RangeError) return err;
    throw err;
  }
}

function decodeBody(type: number, body: Buffer, serverId: number): EventDetail | null {
  switch (type) {
    case EventType.ROTATE: return parseRotate(body);
    case EventType.PREVIOUS_GTIDS: return parsePreviousGtids(body);
    case EventType.GTID: return parseGtid(body, false);
    case EventType.ANONYMOUS_GTID: return parseGtid(body, true);
    case EventType.GTID_TAGGED: return parseTaggedGtid(body);
    case EventType.TRANSACTION_PAYLOAD: return parsePayloadHeader(body);
    case EventType.MARIA_GTID: return parseMariadbGtid(body, serverId);
    case EventType.MARIA_GTID_LIST: return parseMariadbGtidList(body);
    case EventType.MARIA_BINLOG_CHECKPOINT: return parseMariadbCheckpoint(body);
    case EventType.MARIA_START_ENCRYPTION: return parseMariadbStartEncryption(body);
    default: return null;
  }
}

function crcResident(bytes: Buffer, maskInUse: boolean): number {
  if (!maskInUse) return crc32(bytes);
  const hdr = Buffer.from(bytes.subarray(0, COMMON_HEADER_LEN));
  hdr[OFFSET_FLAGS] = (hdr[OFFSET_FLAGS] as number) & ~LOG_EVENT_BINLOG_IN_USE_F;
  return crc32(bytes.subarray(COMMON_HEADER_LEN), crc32(hdr));
}

/** CRC32 of [from, to) of the file, streamed through the window (events larger than the window). */
async function crcRange(file: ChunkedFile, from: number, to: number): Promise<number> {
  let crc = 0;
  for (let off = from; off < to; ) {
    const n = Math.min(file.capacity, to - off);
    if (!file.has(off, n)) await file.ensure(off, n);
    crc = crc32(file.slice(off, n), crc);
    off += n;
  }
  return crc;
}

/** Yields the events of a plain binlog (`file` starts with fe 62 69 6e) in file order, in batches. */
export async function* walkEvents(file: ChunkedFile, opts: WalkOptions = {}): AsyncGenerator<BinlogEvent[]> {
  const verify = opts.verifyChecksums ?? true;
  const countBad = opts.checksumFailure === 'count';
  const { path, size } = file;
  let fde: FormatDescription | null = null;
  let relay = false;
  let encrypted = false; // after MariaDB Start_encryption
  let batch: BinlogEvent[] = [];
  let pos = MAGIC_SIZE;

  while (pos < size) {
    if (size - pos < COMMON_HEADER_LEN) {
      throw truncated(path, pos, `an event header (only ${size - pos} of its 19 bytes are present)`, size);
    }
    if (!file.has(pos, COMMON_HEADER_LEN)) await file.ensure(pos, COMMON_HEADER_LEN);
    const w = file.window;
    const at = file.indexOf(pos);
    // Encrypted MariaDB events keep only their length in clear, moved to the timestamp slot.
    const length = encrypted ? w.readUInt32LE(at) : w.readUInt32LE(at + 9);
    const type = encrypted ? ENCRYPTED_EVENT_TYPE : (w[at + 4] as number);
    const timestamp = encrypted ? 0 : w.readUInt32LE(at);
    const serverId = encrypted ? 0 : w.readUInt32LE(at + 5);
    const logPos = encrypted ? 0 : w.readUInt32LE(at + 13);
    const flags = encrypted ? 0 : w.readUInt16LE(at + 17);

    if (fde === null && type !== EventType.FORMAT_DESCRIPTION) {
      throw type === EventType.START_V3
        ? corrupt(path, pos, 'the first event is a Start_event_v3: binlog format v1/v3 (MySQL before 5.0) is not supported')
        : corrupt(path, pos, `the first event is ${eventTypeName(type)}, expected a Format_description_event`);
    }
    const crcOn = fde !== null && fde.checksumAlg === 'crc32';
    const headerLen = fde?.commonHeaderLen ?? COMMON_HEADER_LEN;
    const minLen = type === EventType.FORMAT_DESCRIPTION ? COMMON_HEADER_LEN + 57 : headerLen + (crcOn ? CHECKSUM_LEN : 0);
    if (length < minLen) {
      throw corrupt(path, pos, `${eventTypeName(type)} event declares a length of ${length} bytes, less than the minimum ${minLen}`);
    }
    // In a binlog (not a relay log) log_pos is where the next event starts: a cheap check that the length is sane,
    // which also catches damage in files without checksums.
    if (!relay && !encrypted && logPos !== 0 && (flags & LOG_EVENT_ARTIFICIAL_F) === 0 && logPos !== (pos + length) % U32) {
      throw corrupt(
        path,
        pos,
        `${eventTypeName(type)} event declares a length of ${length} bytes (next event at ${pos + length}) but its log_pos says the next event starts at ${logPos}: the length field is damaged`,
      );
    }
    if (pos + length > size) throw truncated(path, pos, `the ${eventTypeName(type)} event of ${length} bytes`, size);

    // The FDE decides whether it carries a CRC itself, so it is decoded before the checksum is known.
    let detail: EventDetail | null = null;
    if (type === EventType.FORMAT_DESCRIPTION) {
      if (length > MAX_FDE_LEN) throw corrupt(path, pos, `Format_description_event declares ${length} bytes, implausibly long`);
      if (!file.has(pos, length)) await file.ensure(pos, length);
      const parsed = parseFormatDescription(file.slice(pos, length));
      if (parsed.kind === 'error') throw corrupt(path, pos, parsed.message);
      if (fde === null) relay = (flags & LOG_EVENT_RELAY_LOG_F) !== 0;
      fde = parsed;
      detail = parsed;
    }
    const isFde = type === EventType.FORMAT_DESCRIPTION;
    const hasCrc = isFde ? (fde as FormatDescription).hasCrc : crcOn;
    const checkCrc = verify && hasCrc && !encrypted;
    const bodyLen = length - headerLen - (hasCrc ? CHECKSUM_LEN : 0);
    const want = isFde ? 0 : Math.min(decodedLength(type), bodyLen);
    if (want > MAX_DECODED_BODY) throw corrupt(path, pos, `${eventTypeName(type)} event body of ${want} bytes is larger than this reader decodes (${MAX_DECODED_BODY})`);
    // FDE CRCs are computed with the in-use flag clear: MySQL clears that bit in place when it closes the file.
    const maskInUse = isFde && (flags & LOG_EVENT_BINLOG_IN_USE_F) !== 0;
    let computed = 0;
    let stored = 0;
    let decoded: EventDetail | RangeError | null = null;
    if (!checkCrc && want === 0) {
      // Nothing to check or decode: the body is not read at all.
    } else if (length <= file.capacity) {
      // Fast path: the whole event fits in the window; no await unless the window must move.
      if (!file.has(pos, length)) await file.ensure(pos, length);
      const win = file.window;
      const i = file.indexOf(pos);
      if (checkCrc) {
        computed = crcResident(win.subarray(i, i + length - CHECKSUM_LEN), maskInUse);
        stored = win.readUInt32LE(i + length - CHECKSUM_LEN);
      }
      if (want > 0) decoded = tryDecode(type, win.subarray(i + headerLen, i + headerLen + want), serverId);
    } else {
      if (want > 0) {
        // Window starts at the event, so the CRC pass below continues from it instead of reading back.
        await file.ensure(pos, headerLen + want);
        decoded = tryDecode(type, file.slice(pos + headerLen, want), serverId);
      }
      if (checkCrc) {
        computed = await crcRange(file, pos, pos + length - CHECKSUM_LEN);
        await file.ensure(pos + length - CHECKSUM_LEN, CHECKSUM_LEN);
        stored = file.slice(pos + length - CHECKSUM_LEN, CHECKSUM_LEN).readUInt32LE(0);
      }
    }
    const crc = !checkCrc ? 'skipped' : computed === stored ? 'ok' : 'bad';
    if (crc === 'bad' && !countBad) throw checksumMismatch(path, pos, type, stored, computed);
    // Checked after the CRC: a bad checksum explains an undecodable body better than the decoder can.
    if (decoded instanceof RangeError) throw corrupt(path, pos, `${eventTypeName(type)} event body cannot be decoded: ${decoded.message}`);
    if (decoded !== null) detail = decoded;
    if (detail?.kind === 'mariadb-start-encryption') encrypted = true;
    batch.push({ position: pos, timestamp, type, serverId, length, logPos, flags, crc, detail });
    if (batch.length >= BATCH) {
      yield batch;
      batch = [];
    }
    pos += length;
  }
  if (fde === null) throw truncated(path, MAGIC_SIZE, 'the Format_description_event that must follow the magic number', size);
  if (batch.length > 0) yield batch;
}
