/**
 * `node bench/txc-binlog.ts [--mib N] [--shape small|large] [--out FILE]`: a MySQL binlog written with
 * `binlog_transaction_compression=ON`, synthesised from the transaction-compressed fixtures
 * (test/fixtures/binlogs/compressed/, real MySQL 8.0.28–8.0.32 files), for issue 13's Transaction_payload
 * measurements. MariaDB cannot write Transaction_payload events, so the bench's MariaDB workloads cannot stand in.
 *
 * The fixtures' transactions (Gtid + Transaction_payload) are repeated, as bench/big-binlog.ts repeats others,
 * but not byte for byte: identical payloads would let file-level zstd match whole transactions against earlier
 * copies, which real data never allows. Each copy's inner events (decompressed from the fixture's payload) get
 * new values: every ASCII digit or letter of a rows event's body past its post-header is replaced by a
 * pseudo-random one of the same class, so the row images keep their layout and character mix but no two copies
 * share them. The inner events are then compressed again as the server does (zstd level 3, MySQL's default
 * `binlog_transaction_compression_level_zstd`), wrapped in a Transaction_payload event (TLV header updated), and
 * preceded by a copy of the fixture's Gtid event with its gno, logical clock and transaction_length updated;
 * end positions and CRC32s are recomputed. Shapes:
 * - `small`: one fixture transaction per copy (179–1255 inner bytes, OLTP-like: the server's per-transaction
 *   zstd gains little on so few bytes, and its output is mostly raw literals);
 * - `large`: each transaction's rows events repeated (with new values each) until the inner events reach
 *   ~128 KiB (bulk-like: the server's zstd output is dense, file-level zstd finds little left).
 * The head (Format_description, Previous_gtids) is apecloud/mysql-bin.000057's; a Rotate event closes the file.
 * Deterministic: the same arguments give the same bytes. Written once, cached, and reused.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { constants, crc32, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { cacheRoot } from '../testenv/versions.ts';

const FIXTURES = path.join(import.meta.dirname, '../test/fixtures/binlogs/compressed');
const HEAD_FIXTURE = 'apecloud/mysql-bin.000057';
const PAYLOAD_FIXTURES = ['apecloud/mysql-bin.000057', 'osheroff/mysql-bin.compressed', 'rust_mysql_common/transaction_compression.000001'];
const GTID = 33;
const PAYLOAD = 40;
const ROTATE = 4;
const ROWS_TYPES = new Set([30, 31, 32]); // Write/Update/Delete_rows v2
const HEADER = 19;

export type TxcShape = 'small' | 'large';

interface Event { type: number; bytes: Buffer }

function events(file: string): Event[] {
  const b = fs.readFileSync(file);
  const out: Event[] = [];
  for (let at = 4; at < b.length;) {
    const size = b.readUInt32LE(at + 9);
    out.push({ type: b[at + 4] as number, bytes: b.subarray(at, at + size) });
    at += size;
  }
  return out;
}

function lenenc(v: number): Buffer {
  if (v < 251) return Buffer.from([v]);
  if (v < 0x10000) return Buffer.from([0xfc, v & 0xff, v >> 8]);
  if (v < 0x1000000) return Buffer.from([0xfd, v & 0xff, (v >> 8) & 0xff, v >> 16]);
  const b = Buffer.alloc(9);
  b[0] = 0xfe;
  b.writeBigUInt64LE(BigInt(v), 1);
  return b;
}

function readLenenc(b: Buffer, off: number): { value: number; next: number } {
  const f = b[off] as number;
  if (f < 251) return { value: f, next: off + 1 };
  if (f === 0xfc) return { value: b.readUInt16LE(off + 1), next: off + 3 };
  if (f === 0xfd) return { value: b.readUIntLE(off + 1, 3), next: off + 4 };
  return { value: Number(b.readBigUInt64LE(off + 1)), next: off + 9 };
}

/** The inner events of a Transaction_payload event (TLV header, then one zstd stream). */
function innerEvents(ev: Buffer): Buffer[] {
  let off = HEADER;
  for (;;) {
    const t = readLenenc(ev, off);
    off = t.next;
    if (t.value === 0) break;
    const l = readLenenc(ev, off);
    off = l.next + l.value;
  }
  const inner = zstdDecompressSync(ev.subarray(off, ev.length - 4));
  const out: Buffer[] = [];
  for (let j = 0; j < inner.length;) {
    const size = inner.readUInt32LE(j + 9);
    out.push(inner.subarray(j, j + size));
    j += size;
  }
  return out;
}

/** xorshift32: deterministic values for the rows' new contents. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

const DIGITS = '0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = LOWER.toUpperCase();

/** A rows event with new values: digits and letters past the post-header replaced by others of their class. */
function varied(ev: Buffer, next: () => number): Buffer {
  if (!ROWS_TYPES.has(ev[4] as number)) return ev;
  const copy = Buffer.from(ev);
  for (let i = HEADER + 10; i < copy.length; i++) {
    const c = copy[i] as number;
    const set = c >= 48 && c <= 57 ? DIGITS : c >= 97 && c <= 122 ? LOWER : c >= 65 && c <= 90 ? UPPER : null;
    if (set !== null) copy[i] = set.charCodeAt(next() % set.length);
  }
  return copy;
}

function withCrc(body: Buffer, position: number): Buffer {
  const ev = Buffer.alloc(body.length + 4);
  body.copy(ev);
  ev.writeUInt32LE(ev.length, 9);
  ev.writeUInt32LE(position + ev.length, 13);
  ev.writeUInt32LE(crc32(ev.subarray(0, ev.length - 4)) >>> 0, ev.length - 4);
  return ev;
}

/** A Gtid event like `template` (without its CRC) for gno, with the logical clock and transaction_length set. */
function gtidEvent(template: Buffer, gno: number, transactionLength: (gtidSize: number) => number): Buffer {
  const body = template.subarray(HEADER, template.length - 4);
  let off = 25 + 17 + 7; // flags, sid, gno; lt type, last_committed, sequence_number; immediate timestamp
  if (((body[25 + 17 + 6] as number) & 0x80) !== 0) off += 7;
  const tail = body.subarray(readLenenc(body, off).next);
  const fixed = Buffer.from(body.subarray(0, off));
  fixed.writeBigInt64LE(BigInt(gno), 17);
  fixed.writeBigInt64LE(BigInt(gno - 1), 26);
  fixed.writeBigInt64LE(BigInt(gno), 34);
  // transaction_length counts the Gtid event itself, whose size depends on the length's own encoding.
  for (const width of [1, 3, 4, 9]) {
    const size = HEADER + fixed.length + width + tail.length + 4;
    const enc = lenenc(transactionLength(size));
    if (enc.length === width) return Buffer.concat([template.subarray(0, HEADER), fixed, enc, tail]);
  }
  throw new Error('transaction_length does not fit a length-encoded integer');
}

function payloadEvent(template: Buffer, inner: Buffer): Buffer {
  const z = zstdCompressSync(inner, { params: { [constants.ZSTD_c_compressionLevel]: 3 } });
  const field = (type: number, v: number): Buffer => {
    const value = lenenc(v);
    return Buffer.concat([lenenc(type), lenenc(value.length), value]);
  };
  const tlv = Buffer.concat([field(1, z.length), field(2, 0), field(3, inner.length), Buffer.from([0])]);
  return Buffer.concat([template.subarray(0, HEADER), tlv, z]);
}

interface Transaction { gtid: Buffer; payload: Buffer; inner: Buffer[] }

function fixtureTransactions(): Transaction[] {
  const gtidTemplate = events(path.join(FIXTURES, HEAD_FIXTURE)).find((e) => e.type === GTID)?.bytes;
  if (gtidTemplate === undefined) throw new Error(`${HEAD_FIXTURE}: no Gtid event`);
  const out: Transaction[] = [];
  for (const f of PAYLOAD_FIXTURES) {
    for (const e of events(path.join(FIXTURES, f))) if (e.type === PAYLOAD) out.push({ gtid: gtidTemplate, payload: e.bytes, inner: innerEvents(e.bytes) });
  }
  return out;
}

/** The inner events of copy `k` of `t`: new values; for `large`, its rows events repeated to ~128 KiB. */
function copyInner(t: Transaction, shape: TxcShape, next: () => number): Buffer {
  if (shape === 'small') return Buffer.concat(t.inner.map((e) => varied(e, next)));
  const rows = t.inner.filter((e) => ROWS_TYPES.has(e[4] as number));
  const parts: Buffer[] = [];
  let size = 0;
  for (const e of t.inner) {
    if (!ROWS_TYPES.has(e[4] as number) || e !== rows[0]) {
      if (!ROWS_TYPES.has(e[4] as number)) parts.push(e);
      continue;
    }
    while (size < 128 * 1024) {
      for (const r of rows) {
        const v = varied(r, next);
        parts.push(v);
        size += v.length;
      }
    }
  }
  return Buffer.concat(parts);
}

/** Writes (once) and returns the path of a synthesised transaction-compressed binlog of about `mib` MiB. */
export function txcBinlog(options: { mib: number; shape: TxcShape; out?: string }): string {
  const target = options.out ?? path.join(path.dirname(cacheRoot()), 'bench', `mysql-txc-${options.shape}-${options.mib}mib.000001`);
  if (fs.existsSync(target)) return target;
  const head = events(path.join(FIXTURES, HEAD_FIXTURE));
  const firstGtid = head.findIndex((e) => e.type === GTID);
  const transactions = fixtureTransactions();
  const next = prng(0x13 + options.mib + (options.shape === 'large' ? 1 << 20 : 0));
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const fd = fs.openSync(`${target}.partial`, 'w');
  let position = 0;
  const write = (b: Buffer): void => {
    fs.writeSync(fd, b);
    position += b.length;
  };
  try {
    write(Buffer.from([0xfe, 0x62, 0x69, 0x6e]));
    for (const e of head.slice(0, firstGtid)) write(withCrc(e.bytes.subarray(0, e.bytes.length - 4), position));
    const limit = options.mib * 1024 * 1024;
    // Numbered after the head's Previous_gtids (1-10), from the fixture's first gno on.
    for (let k = 0, gno = Number(head[firstGtid]?.bytes.readBigInt64LE(HEADER + 17)); position < limit; k++, gno++) {
      const t = transactions[k % transactions.length] as Transaction;
      const payload = payloadEvent(t.payload, copyInner(t, options.shape, next));
      const gtid = gtidEvent(t.gtid, gno, (gtidSize) => gtidSize + payload.length + 4);
      write(withCrc(gtid, position));
      write(withCrc(payload, position));
    }
    const rotate = Buffer.alloc(HEADER + 8 + 'binlog.000002'.length);
    head[0]?.bytes.copy(rotate, 0, 0, HEADER);
    rotate[4] = ROTATE;
    rotate.writeUInt16LE(0, 17); // no flags (the FDE's may say in use)
    rotate.writeBigUInt64LE(4n, HEADER);
    rotate.write('binlog.000002', HEADER + 8, 'latin1');
    write(withCrc(rotate, position));
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(`${target}.partial`, target);
  return target;
}

if (import.meta.filename === process.argv[1]) {
  const { values } = parseArgs({ options: { mib: { type: 'string', default: '64' }, shape: { type: 'string', default: 'small' }, out: { type: 'string' } } });
  const shape = values.shape === 'large' ? 'large' : 'small';
  process.stdout.write(`${txcBinlog({ mib: Number(values.mib), shape, ...(values.out === undefined ? {} : { out: values.out }) })}\n`);
}
