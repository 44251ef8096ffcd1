/**
 * Walks a binlog pushed to it as chunks of bytes, split anywhere: checks the magic number, reads each event
 * header, validates its length against its own log_pos, verifies the CRC32 over every byte and decodes only the
 * bodies an archiver needs, handing each event to a sink as soon as its last byte arrives: as scalar arguments, so no
 * object is built for the row and statement events that make up most of a binlog (docs/PERFORMANCE.md 8.1).
 *
 * It is synchronous and keeps no reference to a chunk once `write` returns. Events that lie wholly inside a chunk
 * are checked in place; only an event cut by a chunk boundary is carried over, and even then only its 19-byte
 * header and the prefix that gets decoded (at most MAX_DECODED_BODY; a whole Format_description_event, at most
 * 64 KiB) are copied — the rest is checksummed as it streams past. Memory does not grow with events or files.
 *
 * For a MySQL-encrypted binlog (magic fd 62 69 6e) only the 512-byte header is read; the ciphertext after it is
 * counted, not parsed.
 */
import { ArchiverError } from '../errors.ts';
import { checksumMismatch, corrupt, notBinlog, truncated } from './binlog-errors.ts';
import {
  BINLOG_MAGIC,
  CHECKSUM_LEN,
  COMMON_HEADER_LEN,
  ENCRYPTED_BINLOG_MAGIC,
  ENCRYPTED_EVENT_TYPE,
  ENCRYPTION_HEADER_SIZE,
  EventType,
  LOG_EVENT_ARTIFICIAL_F,
  LOG_EVENT_BINLOG_IN_USE_F,
  LOG_EVENT_RELAY_LOG_F,
  MAGIC_SIZE,
  OFFSET_FLAGS,
  eventTypeName,
} from './constants.ts';
import { CRC32_RESIDUE, crc32Range, crcAppendIntact, viewOf } from './crc.ts';
import { parseEncryptionHeader } from './encryption-header.ts';
import type { MysqlEncryptionHeader } from './encryption-header.ts';
import type { BinlogFlavor, EventDetail, FormatDescription } from './event-types.ts';
import { parseFormatDescription } from './fde.ts';
import { parseMariadbCheckpoint, parseMariadbGtid, parseMariadbGtidList, parseMariadbStartEncryption } from './mariadb-events.ts';
import { parseGtid, parsePayloadHeader, parsePreviousGtids, parseRotate, parseTaggedGtid } from './mysql-events.ts';

export interface WalkOptions {
  /**
   * Verify the CRC32 of every event that has one (default true). Off, bodies are not checksummed, and a file
   * reader skips the bodies of large events without reading them.
   */
  verifyChecksums?: boolean;
  /** On a CRC mismatch: 'throw' an EBINLOGCHECKSUM (default) or 'count' it and go on. */
  checksumFailure?: 'throw' | 'count';
}

export type BinlogMagic = 'plain' | 'mysql-encrypted';

/** The CRC verdict of an event: no checksum (or not verified), verified, or mismatched (with checksumFailure 'count'). */
export const CRC_SKIPPED = 0;
export const CRC_OK = 1;
export const CRC_BAD = 2;
export type CrcVerdict = typeof CRC_SKIPPED | typeof CRC_OK | typeof CRC_BAD;

/**
 * Receives every event, in file order, once its last byte is in: the header's fields and, for the few types the
 * walker decodes, the detail (null for all others). Called for each of millions of events: arguments, no object.
 */
export interface EventSink {
  event(position: number, type: number, length: number, timestamp: number, serverId: number, logPos: number, flags: number, crc: CrcVerdict, detail: EventDetail | null): void;
}

/** Bodies decoded in full (Previous_gtids, Gtid_list) are bounded so a corrupt length cannot exhaust memory. */
const MAX_DECODED_BODY = 64 * 1024 * 1024;
const MAX_FDE_LEN = 64 * 1024;
const PAYLOAD_PREFIX = 256;
/** A carried-over prefix buffer larger than this is dropped after its event instead of being kept for reuse. */
const KEEP_RETAIN = 1024 * 1024;

// Walker states: before the first event (magic number, encryption header, ciphertext), then between events,
// inside a cut header, inside a cut event.
const S_MAGIC = 0;
const S_ENC_HEADER = 1;
const S_ENC_BODY = 2;
const S_IDLE = 3;
const S_HEADER = 4;
const S_BODY = 5;
const S_ENDED = 6;

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

/** The flavour the FDE names, when `detail` is an event only the other flavour writes (damage, or a forgery). */
function foreignTo(flavor: BinlogFlavor, detail: EventDetail): string | null {
  const kind = detail.kind;
  const mysqlOnly = kind === 'gtid' || kind === 'previous-gtids' || kind === 'payload';
  const mariadbOnly = kind === 'mariadb-gtid' || kind === 'mariadb-gtid-list' || kind === 'mariadb-checkpoint' || kind === 'mariadb-start-encryption';
  return (flavor === 'mariadb' && mysqlOnly) || (flavor === 'mysql' && mariadbOnly) ? flavor : null;
}

/**
 * Decodes the body b[start, end). Decoders throw RangeError on short or inconsistent bodies; returned here so the CRC
 * verdict can come first.
 */
function tryDecode(type: number, b: Buffer, start: number, end: number, serverId: number): EventDetail | RangeError | null {
  try {
    // The GTID event of every MariaDB transaction is decoded in place, without a view of its body.
    return type === EventType.MARIA_GTID ? parseMariadbGtid(b, serverId, start, end) : decodeBody(type, b.subarray(start, end));
  } catch (err) {
    if (err instanceof RangeError) return err;
    throw err;
  }
}

function decodeBody(type: number, body: Buffer): EventDetail | null {
  switch (type) {
    case EventType.ROTATE: return parseRotate(body);
    case EventType.PREVIOUS_GTIDS: return parsePreviousGtids(body);
    case EventType.GTID: return parseGtid(body, false);
    case EventType.ANONYMOUS_GTID: return parseGtid(body, true);
    case EventType.GTID_TAGGED: return parseTaggedGtid(body);
    case EventType.TRANSACTION_PAYLOAD: return parsePayloadHeader(body);
    case EventType.MARIA_GTID_LIST: return parseMariadbGtidList(body);
    case EventType.MARIA_BINLOG_CHECKPOINT: return parseMariadbCheckpoint(body);
    case EventType.MARIA_START_ENCRYPTION: return parseMariadbStartEncryption(body);
    default: return null;
  }
}

// Little-endian header fields by hand: Buffer's read methods are wrappers that cost more than the read itself.
function u32(b: Buffer, i: number): number {
  return ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24)) >>> 0;
}

function u16(b: Buffer, i: number): number {
  return (b[i] as number) | ((b[i + 1] as number) << 8);
}

/** CRC32 of an FDE's bytes before its checksum, with the in-use flag clear: MySQL clears it in place on close. */
function fdeCrc(b: Buffer, at: number, end: number, maskInUse: boolean): number {
  if (!maskInUse) return crc32Range(b, null, at, end);
  const hdr = Buffer.from(b.subarray(at, at + COMMON_HEADER_LEN));
  hdr[OFFSET_FLAGS] = (hdr[OFFSET_FLAGS] as number) & ~LOG_EVENT_BINLOG_IN_USE_F;
  return crc32Range(b, null, at + COMMON_HEADER_LEN, end, crc32Range(hdr, null, 0, COMMON_HEADER_LEN));
}

/**
 * The magic number of a file from its first bytes: the kind, or null while fewer than 4 bytes are known and
 * `final` is false. Throws ENOTBINLOG (or EBINLOGTRUNCATED for a file cut inside a real magic number).
 */
export function magicOf(path: string, head: Buffer, final: boolean): BinlogMagic | null {
  if (head.length >= MAGIC_SIZE) {
    const four = head.subarray(0, MAGIC_SIZE);
    if (four.equals(BINLOG_MAGIC)) return 'plain';
    if (four.equals(ENCRYPTED_BINLOG_MAGIC)) return 'mysql-encrypted';
    throw notBinlog(path, four);
  }
  if (!final) return null;
  const cut = head.length > 0;
  if (cut && (BINLOG_MAGIC.subarray(0, head.length).equals(head) || ENCRYPTED_BINLOG_MAGIC.subarray(0, head.length).equals(head))) {
    throw truncated(path, 0, 'the 4-byte magic number', head.length);
  }
  throw notBinlog(path, head);
}

export class EventWalker {
  readonly path: string;
  /** Total size when known up front (a file): a truncated event is then reported at its header, unread. */
  readonly #size: number | undefined;
  readonly #sink: EventSink;
  readonly #verify: boolean;
  readonly #countBad: boolean;

  #state = S_MAGIC;
  /** The error that stopped the walk; every later call throws it again. */
  #failed: Error | null = null;
  /** Bytes written so far. */
  #offset = 0;
  /** The magic number, then a MySQL encryption header, as they arrive. */
  readonly #head = Buffer.alloc(ENCRYPTION_HEADER_SIZE);
  #headLen = 0;
  #magic: BinlogMagic | null = null;
  #encryptionHeader: MysqlEncryptionHeader | null = null;

  #fde: FormatDescription | null = null;
  #relay = false;
  /** After a MariaDB Start_encryption event: headers are ciphertext except the length. */
  #encrypted = false;

  // The current event, from its header (#begin).
  #pos = MAGIC_SIZE;
  #length = 0;
  #type = 0;
  #timestamp = 0;
  #serverId = 0;
  #logPos = 0;
  #flags = 0;
  #headerLen = COMMON_HEADER_LEN;
  #checkCrc = false;
  #want = 0;
  /** Bytes from the event's start that must be contiguous to conclude it (header + decoded body, or a whole FDE). */
  #keepLen = 0;
  /** An error that stands once the event is known to be complete (so a cut file still reports the truncation). */
  #deferred: ArchiverError | null = null;

  // An event cut by a chunk boundary.
  readonly #hdr = Buffer.alloc(COMMON_HEADER_LEN);
  #hdrHave = 0;
  #got = 0;
  #keep: Buffer = Buffer.alloc(0);
  #crc = 0;
  readonly #stored = Buffer.alloc(CHECKSUM_LEN);

  constructor(path: string, opts: WalkOptions, sink: EventSink, size?: number) {
    this.path = path;
    this.#size = size;
    this.#sink = sink;
    this.#verify = opts.verifyChecksums ?? true;
    this.#countBad = opts.checksumFailure === 'count';
  }

  get bytesWritten(): number {
    return this.#offset;
  }

  /** The kind of file once its first 4 bytes are in; null before. */
  get magic(): BinlogMagic | null {
    return this.#magic;
  }

  /** The 512-byte header of a MySQL-encrypted binlog once it is in (encryptedBodySize as of the bytes so far). */
  get encryptionHeader(): MysqlEncryptionHeader | null {
    const h = this.#encryptionHeader;
    return h === null ? null : { ...h, encryptedBodySize: this.#offset - ENCRYPTION_HEADER_SIZE };
  }

  /** Parses as much of `chunk` as it can. Throws the walk's ArchiverErrors; after one, the walker stays failed. */
  write(chunk: Buffer): void {
    if (this.#failed !== null) throw this.#failed;
    if (this.#state === S_ENDED) throw new ArchiverError('EINTERNAL', `binlog inspector of ${this.path}: write after finish`);
    try {
      this.#write(chunk);
    } catch (err) {
      this.#failed = err instanceof Error ? err : new Error(String(err));
      throw err;
    }
  }

  /**
   * Bytes right after those written that the walker does not need to see: the rest of a MySQL-encrypted file,
   * or the body of an event that is neither checksummed nor decoded. A file reader may `skip` them.
   */
  skippable(): number {
    if (this.#state === S_ENC_BODY) return Infinity;
    if (this.#state !== S_BODY || this.#checkCrc || this.#type === EventType.FORMAT_DESCRIPTION || this.#deferred !== null) return 0;
    return this.#got < this.#keepLen ? 0 : this.#length - this.#got;
  }

  /** Accounts for `n` bytes (at most `skippable()`) as if they had been written. */
  skip(n: number): void {
    if (this.#failed !== null) throw this.#failed;
    if (n <= 0) return;
    if (n > this.skippable()) throw new ArchiverError('EINTERNAL', `binlog walker of ${this.path}: cannot skip ${n} bytes here`);
    this.#offset += n;
    if (this.#state === S_ENC_BODY) return;
    this.#got += n;
    try {
      if (this.#got === this.#length) this.#concludeCarried();
    } catch (err) {
      this.#failed = err instanceof Error ? err : new Error(String(err));
      throw err;
    }
  }

  /** Ends the input: throws EBINLOGTRUNCATED (or ENOTBINLOG) if it stopped inside something. */
  end(): void {
    if (this.#failed !== null) throw this.#failed;
    if (this.#state === S_ENDED) throw new ArchiverError('EINTERNAL', `binlog inspector of ${this.path}: finish called twice`);
    const { path } = this;
    const size = this.#offset;
    switch (this.#state) {
      case S_MAGIC:
        magicOf(path, this.#head.subarray(0, this.#headLen), true);
        break;
      case S_ENC_HEADER:
        throw truncated(path, 0, `the ${ENCRYPTION_HEADER_SIZE}-byte encryption header of a MySQL-encrypted binlog`, size);
      case S_HEADER:
        throw truncated(path, this.#pos, `an event header (only ${this.#hdrHave} of its 19 bytes are present)`, size);
      case S_BODY:
        throw truncated(path, this.#pos, `the ${eventTypeName(this.#type)} event of ${this.#length} bytes`, size);
      case S_IDLE:
        if (this.#fde === null) throw truncated(path, MAGIC_SIZE, 'the Format_description_event that must follow the magic number', size);
        break;
    }
    this.#state = S_ENDED;
  }

  #write(b: Buffer): void {
    const n = b.length;
    this.#offset += n;
    let i = 0;
    if (this.#state !== S_IDLE) {
      i = this.#state < S_IDLE ? this.#preamble(b) : this.#resume(b);
      if (this.#state !== S_IDLE) return;
    }
    // Hot loop: events wholly inside the chunk are checked in place. With CRC32 verification on (and mismatches
    // thrown, not counted), consecutive checksummed events form a run whose CRC32 is checked by one native call
    // (see crc.ts). A run ends before an event that is not in it, and at the end of the chunk; before any error
    // the run so far is checked, so a bad checksum is still reported before what it explains (a header or body
    // that cannot be decoded). Callbacks may have seen events of a chunk whose write then throws.
    const dv = viewOf(b);
    const bulk = this.#verify && !this.#countBad;
    let runStart = -1;
    let runEnd = 0;
    let runPos = 0;
    let runCrc = 0;
    try {
      while (n - i >= COMMON_HEADER_LEN) {
        this.#begin(b, i);
        const length = this.#length;
        if (length > n - i) break;
        let computed = 0;
        let stored = 0;
        if (bulk && this.#checkCrc && this.#deferred === null) {
          if (runStart < 0) {
            runStart = i;
            runPos = this.#pos;
            runCrc = CRC32_RESIDUE;
          } else {
            runCrc = crcAppendIntact(runCrc, length);
          }
          runEnd = i + length;
        } else {
          if (runStart >= 0) {
            const start = runStart;
            runStart = -1;
            this.#checkRun(b, dv, start, runEnd, runPos, runCrc);
          }
          if (this.#checkCrc) {
            const end = i + length - CHECKSUM_LEN;
            computed = crc32Range(b, dv, i, end);
            stored = u32(b, end);
          }
        }
        this.#conclude(b, i, computed, stored);
        i += length;
      }
    } catch (err) {
      // A bad checksum before the damage found here is the first error, as when every event was checked alone.
      if (runStart >= 0) this.#checkRun(b, dv, runStart, runEnd, runPos, runCrc);
      throw err;
    }
    if (runStart >= 0) this.#checkRun(b, dv, runStart, runEnd, runPos, runCrc);
    if (n - i >= COMMON_HEADER_LEN) {
      // An event cut by the end of the chunk: carried over (its header is read and checked).
      this.#state = S_BODY;
      this.#got = 0;
      this.#crc = 0;
      this.#feed(b, i, n);
      return;
    }
    if (i < n) {
      b.copy(this.#hdr, 0, i, n);
      this.#hdrHave = n - i;
      this.#state = S_HEADER;
    }
  }

  /** Checks the CRC32 of the whole events b[start, end) (file offset `pos`) against `expected`; names the first bad one. */
  #checkRun(b: Buffer, dv: DataView, start: number, end: number, pos: number, expected: number): void {
    if ((crc32Range(b, dv, start, end) | 0) === expected) return;
    for (let j = start; j < end; ) {
      const len = u32(b, j + 9);
      const crcAt = j + len - CHECKSUM_LEN;
      const computed = crc32Range(b, dv, j, crcAt);
      const stored = u32(b, crcAt);
      if (computed !== stored) throw checksumMismatch(this.path, pos + (j - start), b[j + 4] as number, stored, computed);
      j += len;
    }
  }

  /** Magic number and encryption header; returns the bytes of `b` consumed. */
  #preamble(b: Buffer): number {
    let i = 0;
    if (this.#state === S_MAGIC) {
      i = Math.min(MAGIC_SIZE - this.#headLen, b.length);
      b.copy(this.#head, this.#headLen, 0, i);
      this.#headLen += i;
      this.#magic = magicOf(this.path, this.#head.subarray(0, this.#headLen), false);
      if (this.#magic === null) return i;
      this.#state = this.#magic === 'plain' ? S_IDLE : S_ENC_HEADER;
    }
    if (this.#state === S_ENC_HEADER) {
      const take = Math.min(ENCRYPTION_HEADER_SIZE - this.#headLen, b.length - i);
      b.copy(this.#head, this.#headLen, i, i + take);
      this.#headLen += take;
      i += take;
      if (this.#headLen < ENCRYPTION_HEADER_SIZE) return i;
      const parsed = parseEncryptionHeader(this.#head, ENCRYPTION_HEADER_SIZE);
      if (parsed.kind === 'error') {
        throw new ArchiverError('EBINLOGCORRUPT', `${this.path} is corrupt at offset ${parsed.offset}: ${parsed.message}`, {
          hint: 'The encryption header of a MySQL-encrypted binlog is damaged or from an unknown MySQL version; the file cannot be restored without it. Copy it again from the server.',
          context: { path: this.path, offset: parsed.offset },
        });
      }
      this.#encryptionHeader = parsed;
      this.#state = S_ENC_BODY;
    }
    if (this.#state === S_ENC_BODY) return b.length;
    return i;
  }

  /** Continues an event cut by the previous chunk; returns the bytes of `b` consumed. */
  #resume(b: Buffer): number {
    let i = 0;
    if (this.#state === S_HEADER) {
      i = Math.min(COMMON_HEADER_LEN - this.#hdrHave, b.length);
      b.copy(this.#hdr, this.#hdrHave, 0, i);
      this.#hdrHave += i;
      if (this.#hdrHave < COMMON_HEADER_LEN) return i;
      this.#begin(this.#hdr, 0);
      this.#state = S_BODY;
      this.#got = 0;
      this.#crc = 0;
      this.#feed(this.#hdr, 0, COMMON_HEADER_LEN);
    }
    const m = Math.min(b.length - i, this.#length - this.#got);
    this.#feed(b, i, i + m);
    i += m;
    if (this.#got === this.#length) this.#concludeCarried();
    return i;
  }

  /** Reads and validates the header of the event at this.#pos, which starts at b[at]. */
  #begin(b: Buffer, at: number): void {
    const { path } = this;
    const pos = this.#pos;
    const encrypted = this.#encrypted;
    // Encrypted MariaDB events keep only their length in clear, moved to the timestamp slot.
    const length = encrypted ? u32(b, at) : u32(b, at + 9);
    const type = encrypted ? ENCRYPTED_EVENT_TYPE : (b[at + 4] as number);
    const logPos = encrypted ? 0 : u32(b, at + 13);
    const flags = encrypted ? 0 : u16(b, at + 17);
    const fde = this.#fde;
    const isFde = type === EventType.FORMAT_DESCRIPTION;
    if (fde === null && !isFde) {
      throw type === EventType.START_V3
        ? corrupt(path, pos, 'the first event is a Start_event_v3: binlog format v1/v3 (MySQL before 5.0) is not supported')
        : corrupt(path, pos, `the first event is ${eventTypeName(type)}, expected a Format_description_event`);
    }
    const crcOn = fde !== null && fde.checksumAlg === 'crc32';
    const headerLen = fde === null ? COMMON_HEADER_LEN : fde.commonHeaderLen;
    const minLen = isFde ? COMMON_HEADER_LEN + 57 : headerLen + (crcOn ? CHECKSUM_LEN : 0);
    if (length < minLen) {
      throw corrupt(path, pos, `${eventTypeName(type)} event declares a length of ${length} bytes, less than the minimum ${minLen}`);
    }
    // In a binlog (not a relay log) log_pos is where the next event starts: a cheap check that the length is sane,
    // which also catches damage in files without checksums. `>>> 0` is the 32-bit wrap (exact below 2^53), and
    // unlike `% 2 ** 32` no floating-point division, once per event.
    if (!this.#relay && !encrypted && logPos !== 0 && (flags & LOG_EVENT_ARTIFICIAL_F) === 0 && logPos !== (pos + length) >>> 0) {
      throw corrupt(
        path,
        pos,
        `${eventTypeName(type)} event declares a length of ${length} bytes (next event at ${pos + length}) but its log_pos says the next event starts at ${logPos}: the length field is damaged`,
      );
    }
    const size = this.#size;
    if (size !== undefined && pos + length > size) throw truncated(path, pos, `the ${eventTypeName(type)} event of ${length} bytes`, size);

    let deferred: ArchiverError | null = null;
    let want = 0;
    let keepLen: number;
    if (isFde) {
      // The FDE decides whether it carries a CRC itself: it is parsed whole before its checksum is known.
      keepLen = length;
      if (length > MAX_FDE_LEN) deferred = corrupt(path, pos, `Format_description_event declares ${length} bytes, implausibly long`);
      this.#checkCrc = false;
    } else {
      const bodyLen = length - headerLen - (crcOn ? CHECKSUM_LEN : 0);
      want = Math.min(decodedLength(type), bodyLen);
      keepLen = want > 0 ? headerLen + want : 0;
      if (want > MAX_DECODED_BODY) deferred = corrupt(path, pos, `${eventTypeName(type)} event body of ${want} bytes is larger than this reader decodes (${MAX_DECODED_BODY})`);
      this.#checkCrc = this.#verify && crcOn && !encrypted;
    }
    if (deferred !== null) {
      if (size !== undefined) throw deferred;
      keepLen = 0;
    }
    this.#deferred = deferred;
    this.#length = length;
    this.#type = type;
    this.#timestamp = encrypted ? 0 : u32(b, at);
    this.#serverId = encrypted ? 0 : u32(b, at + 5);
    this.#logPos = logPos;
    this.#flags = flags;
    this.#headerLen = headerLen;
    this.#want = want;
    this.#keepLen = keepLen;
  }

  /** Takes b[from, to), the next bytes of a cut event: keeps its prefix, checksums it, catches its stored CRC. */
  #feed(b: Buffer, from: number, to: number): void {
    const got = this.#got;
    const n = to - from;
    const keepLen = this.#keepLen;
    if (got < keepLen) {
      const m = Math.min(n, keepLen - got);
      if (this.#keep.length < got + m) {
        const bigger = Buffer.allocUnsafe(Math.min(keepLen, Math.max(got + m, 2 * this.#keep.length, 256)));
        this.#keep.copy(bigger, 0, 0, got);
        this.#keep = bigger;
      }
      b.copy(this.#keep, got, from, from + m);
    }
    const crcEnd = this.#length - CHECKSUM_LEN;
    if (this.#checkCrc && got < crcEnd) this.#crc = crc32Range(b, null, from, from + Math.min(n, crcEnd - got), this.#crc);
    if (got + n > crcEnd) {
      const first = Math.max(got, crcEnd);
      b.copy(this.#stored, first - crcEnd, from + (first - got), to);
    }
    this.#got = got + n;
  }

  #concludeCarried(): void {
    this.#state = S_IDLE;
    const keep = this.#keep;
    this.#conclude(keep, 0, this.#crc, this.#stored.readUInt32LE(0));
    if (keep.length > KEEP_RETAIN) this.#keep = Buffer.alloc(0);
  }

  /**
   * Finishes the current event, whose first #keepLen bytes are at b[at]: the FDE is parsed, the CRC verdict
   * given (computed/stored, unless this is an FDE, whose CRC is computed here), the body decoded, the event
   * emitted, and the position moved past it.
   */
  #conclude(b: Buffer, at: number, computed: number, stored: number): void {
    if (this.#deferred !== null) throw this.#deferred;
    const { path } = this;
    const pos = this.#pos;
    const type = this.#type;
    const length = this.#length;
    const flags = this.#flags;
    let checkCrc = this.#checkCrc;
    let detail: EventDetail | null = null;
    if (type === EventType.FORMAT_DESCRIPTION) {
      const parsed = parseFormatDescription(b.subarray(at, at + length));
      if (parsed.kind === 'error') throw corrupt(path, pos, parsed.message);
      if (this.#fde === null) this.#relay = (flags & LOG_EVENT_RELAY_LOG_F) !== 0;
      this.#fde = parsed;
      detail = parsed;
      checkCrc = this.#verify && parsed.hasCrc;
      if (checkCrc) {
        const end = at + length - CHECKSUM_LEN;
        computed = fdeCrc(b, at, end, (flags & LOG_EVENT_BINLOG_IN_USE_F) !== 0);
        stored = b.readUInt32LE(end);
      }
    }
    const crc: CrcVerdict = !checkCrc ? CRC_SKIPPED : computed === stored ? CRC_OK : CRC_BAD;
    if (crc === CRC_BAD && !this.#countBad) throw checksumMismatch(path, pos, type, stored, computed);
    const want = this.#want;
    const serverId = this.#serverId;
    if (want > 0) {
      const start = at + this.#headerLen;
      const decoded = tryDecode(type, b, start, start + want, serverId);
      // Checked after the CRC: a bad checksum explains an undecodable body better than the decoder can.
      if (decoded instanceof RangeError) throw corrupt(path, pos, `${eventTypeName(type)} event body cannot be decoded: ${decoded.message}`);
      if (decoded !== null) {
        const foreign = this.#fde === null ? null : foreignTo(this.#fde.flavor, decoded);
        if (foreign !== null) throw corrupt(path, pos, `${eventTypeName(type)} event in a binlog whose Format_description_event says ${foreign}: a ${this.#fde?.flavor ?? ''} server never writes it`);
        detail = decoded;
        if (decoded.kind === 'mariadb-start-encryption') this.#encrypted = true;
      }
    }
    this.#pos = pos + length;
    this.#sink.event(pos, type, length, this.#timestamp, serverId, this.#logPos, flags, crc, detail);
  }
}
