/**
 * Body decoders for the MySQL events an archiver needs. Each takes the event body (after the common header,
 * without the CRC trailer) and throws RangeError when it is too short; the walker reports that as corruption.
 */
import { readLenenc, readUInt56LE, readVarlenInt, readVarlenString, readVarlenUint, uuidFromBytes } from './codec.ts';
import type { GtidDetail, PayloadDetail, PreviousGtidsDetail, RotateDetail } from './event-types.ts';
import { MysqlGtidSet } from './mysql-gtid-set.ts';

/** Rotate (4): 8-byte position, then the next file's name up to the end (no NUL). */
export function parseRotate(body: Buffer): RotateDetail {
  if (body.length < 8) throw new RangeError(`Rotate body is ${body.length} bytes, needs at least 8`);
  return { kind: 'rotate', position: Number(body.readBigUInt64LE(0)), nextFile: body.toString('utf8', 8) };
}

/**
 * Previous_gtids (35), `Gtid_set::encode`. The 8-byte count's top byte is the format (8.3+): 0 = untagged
 * (count in the low 56 bits), 1 = tagged (count in bits 8..55, and a tag after each UUID). Interval ends are exclusive.
 */
export function parsePreviousGtids(body: Buffer): PreviousGtidsDetail {
  if (body.length < 8) throw new RangeError(`Previous_gtids body is ${body.length} bytes, needs at least 8`);
  const format = body[7] as number;
  const raw = body.readBigUInt64LE(0);
  let nSids: bigint;
  if (format === 0) nSids = raw & 0x00ff_ffff_ffff_ffffn;
  else if (format === 1) nSids = (raw >> 8n) & 0xffff_ffff_ffffn;
  else throw new RangeError(`Previous_gtids names unknown GTID set format ${format}`);
  const tagged = format === 1;
  const set = MysqlGtidSet.empty();
  let off = 8;
  for (let i = 0n; i < nSids; i++) {
    const uuid = uuidFromBytes(body, off);
    off += 16;
    let tag = '';
    if (tagged) {
      const t = readVarlenString(body, off);
      tag = t.value;
      off = t.next;
    }
    if (off + 8 > body.length) throw new RangeError('Previous_gtids ends inside an interval count');
    const nIntervals = body.readBigUInt64LE(off);
    off += 8;
    if (BigInt(body.length - off) < nIntervals * 16n) throw new RangeError(`Previous_gtids announces ${nIntervals} intervals past its end`);
    for (let j = 0n; j < nIntervals; j++) {
      const start = body.readBigInt64LE(off);
      const endExclusive = body.readBigInt64LE(off + 8);
      off += 16;
      set.addInterval(uuid, start, endExclusive - 1n, tag);
    }
  }
  return { kind: 'previous-gtids', set, tagged };
}

// Consecutive GTID events nearly always share a UUID: reuse its text instead of re-encoding 16 bytes each time.
const lastSid = Buffer.alloc(16);
let lastUuid = uuidFromBytes(lastSid, 0);

function sidText(body: Buffer, off: number): string {
  if (body.compare(lastSid, 0, 16, off, off + 16) !== 0) {
    body.copy(lastSid, 0, off, off + 16);
    lastUuid = uuidFromBytes(lastSid, 0);
  }
  return lastUuid;
}

/** Gtid (33) / Anonymous_gtid (34): fixed layout, later fields present only if the writer had them ("if can read"). */
export function parseGtid(body: Buffer, anonymous: boolean): GtidDetail {
  if (body.length < 25) throw new RangeError(`Gtid body is ${body.length} bytes, needs at least 25`);
  const flags = body[0] as number;
  const uuid = sidText(body, 1);
  const gno = body.readBigInt64LE(17);
  let lastCommitted: bigint | null = null;
  let sequenceNumber: bigint | null = null;
  let immediate: number | null = null;
  let original: number | null = null;
  let transactionLength: number | null = null;
  let immediateServerVersion: number | null = null;
  let originalServerVersion: number | null = null;
  let off = 25;
  if (body.length >= off + 17 && body[off] === 2) {
    lastCommitted = body.readBigInt64LE(off + 1);
    sequenceNumber = body.readBigInt64LE(off + 9);
    off += 17;
    if (body.length >= off + 7) {
      const hi = body[off + 6] as number;
      // Bit 55 flags an original timestamp; mask it before combining (2^55 is past exact doubles).
      immediate = body.readUIntLE(off, 6) + (hi & 0x7f) * 2 ** 48;
      off += 7;
      if ((hi & 0x80) !== 0) {
        original = readUInt56LE(body, off);
        off += 7;
      } else {
        original = immediate;
      }
    }
    if (off < body.length) {
      const len = readLenenc(body, off);
      transactionLength = len.value;
      off = len.next;
    }
    if (body.length >= off + 4) {
      const v = body.readUInt32LE(off);
      off += 4;
      immediateServerVersion = v & 0x7fffffff;
      originalServerVersion = (v & 0x80000000) !== 0 ? body.readUInt32LE(off) : immediateServerVersion;
    }
  }
  return {
    kind: 'gtid',
    gtid: anonymous ? null : { uuid, tag: '', gno },
    flags,
    lastCommitted,
    sequenceNumber,
    immediateCommitTimestampUs: immediate,
    originalCommitTimestampUs: original,
    transactionLength,
    immediateServerVersion,
    originalServerVersion,
  };
}

/**
 * Tagged Gtid (42), MySQL 8.3+ serialization library: a format version byte, then a message
 * `<size> <last_non_ignorable_field_id> { <field_id> <value> }*` where size counts the whole message.
 */
export function parseTaggedGtid(body: Buffer): GtidDetail {
  if (body.length < 1) throw new RangeError('tagged Gtid body is empty');
  const size = readVarlenUint(body, 1);
  const lastNonIgnorable = readVarlenUint(body, size.next);
  const end = Number(size.value);
  if (end > body.length || end < lastNonIgnorable.next) throw new RangeError(`tagged Gtid message size ${end} does not fit its ${body.length}-byte body`);
  let off = lastNonIgnorable.next;
  let flags = 0;
  let uuid = '';
  let gno = 0n;
  let tag = '';
  let lastCommitted: bigint | null = null;
  let sequenceNumber: bigint | null = null;
  let immediate: number | null = null;
  let original: number | null = null;
  let transactionLength: number | null = null;
  let immediateServerVersion: number | null = null;
  let originalServerVersion: number | null = null;
  while (off < end) {
    const id = readVarlenUint(body, off);
    off = id.next;
    const field = Number(id.value);
    if (field === 1) {
      // The UUID is a fixed array of 16 varlen-encoded bytes.
      const bytes = Buffer.alloc(16);
      for (let i = 0; i < 16; i++) {
        const b = readVarlenUint(body, off);
        bytes[i] = Number(b.value & 0xffn);
        off = b.next;
      }
      uuid = uuidFromBytes(bytes, 0);
      continue;
    }
    if (field === 3) {
      const t = readVarlenString(body, off);
      tag = t.value.toLowerCase();
      off = t.next;
      continue;
    }
    const signed = field === 2 || field === 4 || field === 5;
    const v = signed ? readVarlenInt(body, off) : readVarlenUint(body, off);
    off = v.next;
    switch (field) {
      case 0: flags = Number(v.value); break;
      case 2: gno = v.value; break;
      case 4: lastCommitted = v.value; break;
      case 5: sequenceNumber = v.value; break;
      case 6: immediate = Number(v.value); break;
      case 7: original = Number(v.value); break;
      case 8: transactionLength = Number(v.value); break;
      case 9: immediateServerVersion = Number(v.value); break;
      case 10: originalServerVersion = Number(v.value); break;
      case 11: break; // commit_group_ticket
      default:
        // A newer writer's field: its encoding is unknown, so stop; refuse only if the writer says it matters.
        if (id.value <= lastNonIgnorable.value) throw new RangeError(`tagged Gtid has unknown non-ignorable field ${field}`);
        off = end;
    }
  }
  if (uuid === '' || tag === '') throw new RangeError('tagged Gtid lacks its UUID or tag');
  return {
    kind: 'gtid',
    gtid: { uuid, tag, gno },
    flags,
    lastCommitted,
    sequenceNumber,
    immediateCommitTimestampUs: immediate,
    originalCommitTimestampUs: original ?? immediate,
    transactionLength,
    immediateServerVersion,
    originalServerVersion: originalServerVersion ?? immediateServerVersion,
  };
}

/**
 * Transaction_payload (40): TLV fields (type, length, value, all length-encoded) up to an end mark, then the
 * compressed inner events. The post-header is empty whatever the FDE announces for type 40 (a known MySQL quirk),
 * so the TLV starts right after the common header. Only a prefix of the body is needed.
 */
export function parsePayloadHeader(prefix: Buffer): PayloadDetail {
  let off = 0;
  let compressionType: number | null = null;
  let payloadSize: number | null = null;
  let uncompressedSize: number | null = null;
  for (;;) {
    const type = readLenenc(prefix, off);
    off = type.next;
    if (type.value === 0) break; // OTW_PAYLOAD_HEADER_END_MARK
    const len = readLenenc(prefix, off);
    off = len.next;
    if (type.value === 1 || type.value === 2 || type.value === 3) {
      const v = readLenenc(prefix, off).value;
      if (type.value === 1) payloadSize = v;
      else if (type.value === 2) compressionType = v;
      else uncompressedSize = v;
    }
    off += len.value; // unknown fields are skipped, as the server's decoder does
    if (off > prefix.length) throw new RangeError('Transaction_payload header runs past the event');
  }
  if (compressionType === null) throw new RangeError('Transaction_payload header has no compression type');
  return { kind: 'payload', compressionType, payloadSize, uncompressedSize };
}
