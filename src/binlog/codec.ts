/**
 * Integer and identifier encodings used inside binlog event bodies. Readers throw RangeError on short input; the
 * event parsers turn that into an EBINLOGCORRUPT naming the event.
 */

export interface Read<T> {
  value: T;
  next: number;
}

function need(buf: Uint8Array, off: number, n: number): void {
  if (off < 0 || off + n > buf.length) throw new RangeError(`needs ${n} bytes at ${off}, has ${buf.length - off}`);
}

/**
 * MySQL `net_field_length` (length-encoded integer): < 251 is the value itself, 252/253/254 prefix 2/3/8 bytes.
 * Values beyond 2^53 lose precision; they are event sizes, capped at 1 GiB by the server.
 */
export function readLenenc(buf: Buffer, off: number): Read<number> {
  need(buf, off, 1);
  const first = buf[off] as number;
  if (first < 251) return { value: first, next: off + 1 };
  if (first === 252) {
    need(buf, off, 3);
    return { value: buf.readUInt16LE(off + 1), next: off + 3 };
  }
  if (first === 253) {
    need(buf, off, 4);
    return { value: buf.readUIntLE(off + 1, 3), next: off + 4 };
  }
  if (first === 254) {
    need(buf, off, 9);
    return { value: Number(buf.readBigUInt64LE(off + 1)), next: off + 9 };
  }
  throw new RangeError(`invalid length-encoded integer prefix 0x${first.toString(16)} at ${off}`);
}

/**
 * Unsigned integer of the MySQL 8.3+ serialization library (tagged GTID events, tagged GTID sets): the number of
 * trailing 1-bits of the first byte is the number of extra bytes; the value sits above those marker bits,
 * little-endian. First byte 0xff: the next 8 bytes are the value.
 */
export function readVarlenUint(buf: Buffer, off: number): Read<bigint> {
  need(buf, off, 1);
  const first = buf[off] as number;
  let extra = 0;
  while (extra < 8 && ((first >> extra) & 1) === 1) extra++;
  need(buf, off, extra + 1);
  if (extra === 8) return { value: buf.readBigUInt64LE(off + 1), next: off + 9 };
  let v = 0n;
  for (let i = extra; i >= 0; i--) v = (v << 8n) | BigInt(buf[off + i] as number);
  return { value: v >> BigInt(extra + 1), next: off + extra + 1 };
}

/** Signed integer of the serialization library: zig-zag, the sign in the lowest bit. */
export function readVarlenInt(buf: Buffer, off: number): Read<bigint> {
  const r = readVarlenUint(buf, off);
  const v = (r.value & 1n) === 0n ? r.value >> 1n : -(r.value >> 1n) - 1n;
  return { value: v, next: r.next };
}

/** A length-prefixed string of the serialization library. */
export function readVarlenString(buf: Buffer, off: number): Read<string> {
  const len = readVarlenUint(buf, off);
  const n = Number(len.value);
  need(buf, len.next, n);
  return { value: buf.toString('utf8', len.next, len.next + n), next: len.next + n };
}

/** 16 raw bytes → lowercase dashed UUID text. */
export function uuidFromBytes(buf: Buffer, off: number): string {
  need(buf, off, 16);
  const h = buf.toString('hex', off, off + 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Unsigned little-endian integer of 7 bytes (commit timestamps); exact up to 2^53. */
export function readUInt56LE(buf: Buffer, off: number): number {
  need(buf, off, 7);
  return buf.readUIntLE(off, 6) + (buf[off + 6] as number) * 2 ** 48;
}

/** Splits a server version string into its leading numbers, as MySQL's `do_server_version_split` does. */
export function versionSplit(version: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (m === null) return [0, 0, 0];
  const parts = [Number(m[1]), Number(m[2]), Number(m[3])] as [number, number, number];
  return parts.some((p) => p > 255) ? [0, 0, 0] : parts;
}
