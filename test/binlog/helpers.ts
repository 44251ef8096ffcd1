/**
 * Shared test helpers: fixture paths and expectations, temp files, and a builder of synthetic binlogs (correct
 * headers, log_pos and CRC32) for shapes the real fixtures lack — huge events, cut files, flipped bits.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';

export const FIXTURES = fileURLToPath(new URL('../fixtures/binlogs/', import.meta.url));

export function fixture(rel: string): string {
  return join(FIXTURES, rel);
}

/** One row of expected.json, as written by the independent parser. */
export interface Expected {
  path: string;
  size: number;
  sha256: string;
  magic: string | null;
  server_version: string | null;
  binlog_version: number | null;
  checksum_alg: string | null;
  in_use_flag: boolean | null;
  server_id: number | null;
  n_events: number | null;
  event_counts: Record<string, number> | null;
  crc32: { ok?: number; bad?: number };
  previous_gtids: string;
  gtid_events: number | null;
  gtid_first: string;
  gtid_last: string;
  note: string;
}

export const EXPECTED: Expected[] = JSON.parse(readFileSync(fixture('expected.json'), 'utf8')) as Expected[];

export function expectedFor(rel: string): Expected {
  const e = EXPECTED.find((x) => x.path === rel);
  if (e === undefined) throw new Error(`no expected.json row for ${rel}`);
  return e;
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'binlog-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface SynthEvent {
  type: number;
  body: Buffer;
  timestamp?: number;
  serverId?: number;
  flags?: number;
}

const FDE_POST_HEADER_LENGTHS = Buffer.alloc(41, 0);

/** FDE body for a v4 binlog with a CRC32 algorithm byte (server version ≥ 5.6.1). */
export function fdeBody(serverVersion = '8.0.36', alg = 1): Buffer {
  const fixed = Buffer.alloc(57);
  fixed.writeUInt16LE(4, 0);
  fixed.write(serverVersion, 2, 'latin1');
  fixed.writeUInt32LE(0, 52);
  fixed[56] = 19;
  return Buffer.concat([fixed, FDE_POST_HEADER_LENGTHS, Buffer.from([alg])]);
}

/** Encodes one event at `position` with correct length, log_pos and (if `crc`) CRC32. */
export function encodeEvent(ev: SynthEvent, position: number, crc: boolean): Buffer {
  const len = 19 + ev.body.length + (crc ? 4 : 0);
  const h = Buffer.alloc(19);
  h.writeUInt32LE(ev.timestamp ?? 1_700_000_000, 0);
  h[4] = ev.type;
  h.writeUInt32LE(ev.serverId ?? 7, 5);
  h.writeUInt32LE(len, 9);
  h.writeUInt32LE((position + len) % 2 ** 32, 13);
  h.writeUInt16LE(ev.flags ?? 0, 17);
  const parts = [h, ev.body];
  if (crc) {
    const c = Buffer.alloc(4);
    c.writeUInt32LE(crc32(ev.body, crc32(h)), 0);
    parts.push(c);
  }
  return Buffer.concat(parts);
}

/** A whole binlog: magic, an FDE (CRC32), then `events`, each with CRC32. */
export function buildBinlog(events: SynthEvent[], opts: { fdeFlags?: number; serverVersion?: string } = {}): Buffer {
  const out: Buffer[] = [Buffer.from([0xfe, 0x62, 0x69, 0x6e])];
  let pos = 4;
  const all: SynthEvent[] = [{ type: 15, body: fdeBody(opts.serverVersion), flags: opts.fdeFlags ?? 0 }, ...events];
  for (const ev of all) {
    const bytes = encodeEvent(ev, pos, true);
    out.push(bytes);
    pos += bytes.length;
  }
  return Buffer.concat(out);
}

export function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

/** Gtid_log_event (33) body as MySQL 8.0 writes it (no original timestamp / server version split). */
export function gtidBody(uuid: string, gno: number, commitUs: number, trxLength: number): Buffer {
  const b = Buffer.alloc(42 + 7 + 9 + 4);
  b[0] = 0; // flags
  uuidBytes(uuid).copy(b, 1);
  b.writeBigInt64LE(BigInt(gno), 17);
  b[25] = 2; // logical timestamp typecode
  b.writeBigInt64LE(0n, 26);
  b.writeBigInt64LE(1n, 34);
  b.writeUIntLE(commitUs % 2 ** 48, 42, 6);
  b[48] = Math.floor(commitUs / 2 ** 48);
  b[49] = 254; // transaction_length as an 8-byte length-encoded integer: fixed size whatever the value
  b.writeBigUInt64LE(BigInt(trxLength), 50);
  b.writeUInt32LE(80036, 58);
  return b;
}

/** Length of a synthetic event with CRC, given its body length. */
export function eventLen(bodyLength: number): number {
  return 19 + bodyLength + 4;
}

/**
 * Writes a binlog holding a transaction with one event of `bigBodyBytes` (type 30) straight to disk in 1 MiB
 * pieces, so the test itself never holds it in memory. Returns the declared transaction length.
 */
export async function writeBinlogWithHugeEvent(path: string, bigBodyBytes: number, uuid: string): Promise<{ trxStart: number; trxLength: number; size: number }> {
  const fh = await open(path, 'w');
  try {
    const head = buildBinlog([]);
    let pos = head.length;
    await fh.write(head, 0, head.length, 0);
    const xidBody = Buffer.alloc(8, 1);
    const trxLength = eventLen(62) + eventLen(bigBodyBytes) + eventLen(xidBody.length);
    const gtid = encodeEvent({ type: 33, body: gtidBody(uuid, 1, 1_700_000_000_123_456, trxLength) }, pos, true);
    const trxStart = pos;
    await fh.write(gtid, 0, gtid.length, pos);
    pos += gtid.length;
    // The big event: header, body in pieces, CRC computed as it goes.
    const len = eventLen(bigBodyBytes);
    const h = Buffer.alloc(19);
    h.writeUInt32LE(1_700_000_001, 0);
    h[4] = 30;
    h.writeUInt32LE(7, 5);
    h.writeUInt32LE(len, 9);
    h.writeUInt32LE(pos + len, 13);
    let crc = crc32(h);
    await fh.write(h, 0, 19, pos);
    let off = pos + 19;
    const piece = Buffer.alloc(1024 * 1024, 0xab);
    for (let left = bigBodyBytes; left > 0; ) {
      const n = Math.min(piece.length, left);
      crc = crc32(piece.subarray(0, n), crc);
      await fh.write(piece, 0, n, off);
      off += n;
      left -= n;
    }
    const c = Buffer.alloc(4);
    c.writeUInt32LE(crc, 0);
    await fh.write(c, 0, 4, off);
    pos += len;
    const xid = encodeEvent({ type: 16, body: xidBody }, pos, true);
    await fh.write(xid, 0, xid.length, pos);
    pos += xid.length;
    const rotate = encodeEvent({ type: 4, body: Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('binlog.000002')]) }, pos, true);
    await fh.write(rotate, 0, rotate.length, pos);
    pos += rotate.length;
    return { trxStart, trxLength, size: pos };
  } finally {
    await fh.close();
  }
}
