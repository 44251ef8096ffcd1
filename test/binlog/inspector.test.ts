/**
 * Push-mode inspection (createBinlogInspector, inspectStream): for the same bytes, split into chunks anywhere,
 * it gives exactly what inspectBinlog gives — the same BinlogInfo, events and transactions, or the same error —
 * reports damage from `write` as soon as the damaged bytes are in, and holds no more than a cut event's prefix.
 */
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { createBinlogInspector, inspectBinlog, inspectStream } from '../../src/binlog/index.ts';
import type { BinlogEvent, BinlogInfo, BinlogTransaction, InspectorOptions, PlainBinlogInfo } from '../../src/binlog/index.ts';
import { EXPECTED, buildBinlog, encodeEvent, fdeBody, fixture, gtidBody, uuidBytes, withTempDir, writeBinlogWithHugeEvent } from './helpers.ts';
import type { SynthEvent } from './helpers.ts';

const MiB = 1024 * 1024;
const UUID = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
/** Every fixture that is a file to inspect as it is (the encrypted one included; not the gzipped one). */
const FIXTURES = EXPECTED.filter((e) => !e.path.endsWith('.gz')).map((e) => e.path);

/** Small seeded PRNG (mulberry32), so a failure names a seed that reproduces it. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Chunk sizes from 1 byte to 5 MiB, log-uniform: many tiny chunks, some huge ones. */
function chunkSizes(seed: number): () => number {
  const r = prng(seed);
  return () => Math.max(1, Math.floor(Math.exp(r() * Math.log(5 * MiB))));
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

type Outcome = { ok: string } | { code: string; message: string; offset: unknown };

function outcomeOf(err: unknown): Outcome {
  assert.ok(err instanceof ArchiverError, `expected an ArchiverError, got ${String(err)}`);
  return { code: err.code, message: err.message, offset: err.context.offset };
}

/** What inspectBinlog says about a file: info, events and transactions, or its error. */
async function viaFile(path: string, opts: InspectorOptions = {}): Promise<Outcome> {
  const events: BinlogEvent[] = [];
  const txs: BinlogTransaction[] = [];
  try {
    const info = await inspectBinlog(path, { ...opts, onEvent: (e) => events.push(e), onTransaction: (t) => txs.push(t) });
    return { ok: canonical({ info, events, txs }) };
  } catch (err) {
    return outcomeOf(err);
  }
}

/**
 * The same through the push inspector, with the bytes written in chunks of `next()` bytes that are copies in one
 * reused buffer: if the inspector kept a reference to a chunk, later chunks would overwrite what it kept.
 */
function viaPush(path: string, bytes: Buffer, next: () => number, opts: InspectorOptions = {}): Outcome & { failedAt?: number } {
  const events: BinlogEvent[] = [];
  const txs: BinlogTransaction[] = [];
  const ins = createBinlogInspector({ ...opts, path, onEvent: (e) => events.push(e), onTransaction: (t) => txs.push(t) });
  const scratch = Buffer.alloc(Math.min(bytes.length, 5 * MiB) + 1);
  let off = 0;
  try {
    while (off < bytes.length) {
      const n = Math.min(next(), bytes.length - off);
      scratch.fill(0xee);
      bytes.copy(scratch, 0, off, off + n);
      off += n;
      ins.write(scratch.subarray(0, n));
      assert.equal(ins.bytesWritten, off);
    }
    const info = ins.finish();
    return { ok: canonical({ info, events, txs }) };
  } catch (err) {
    return { ...outcomeOf(err), failedAt: off };
  }
}

function dropFailedAt(o: Outcome & { failedAt?: number }): Outcome {
  const { failedAt: _, ...rest } = o;
  return rest;
}

/** ~12 MiB of MySQL 8.0 transactions with events of 20 B to 5 MiB, a Previous_gtids and a final Rotate. */
function bigSynthetic(seed: number): Buffer {
  const r = prng(seed);
  const prev = Buffer.alloc(8 + 16 + 8 + 16);
  prev.writeBigUInt64LE(1n, 0);
  uuidBytes(UUID).copy(prev, 8);
  prev.writeBigUInt64LE(1n, 24);
  prev.writeBigInt64LE(1n, 32);
  prev.writeBigInt64LE(11n, 40);
  const events: SynthEvent[] = [{ type: 35, body: prev }];
  let bytes = 0;
  for (let gno = 11; bytes < 12 * MiB; gno++) {
    const rows: SynthEvent[] = [{ type: 2, body: Buffer.alloc(1 + Math.floor(r() * 300), 0x42) }, { type: 19, body: Buffer.alloc(30, 1) }];
    const n = 1 + Math.floor(r() * 4);
    for (let i = 0; i < n; i++) {
      const size = r() < 0.01 ? 4 * MiB + Math.floor(r() * MiB) : Math.floor(r() * r() * 20_000);
      rows.push({ type: 30, body: Buffer.alloc(size, gno & 0xff), timestamp: 1_700_000_000 + gno });
    }
    rows.push({ type: 16, body: Buffer.alloc(8, 3) });
    const trxLength = rows.reduce((s, e) => s + 23 + e.body.length, 23 + 62);
    events.push({ type: 33, body: gtidBody(UUID, gno, 1_700_000_000_000_000 + gno * 1000, trxLength), timestamp: 1_700_000_000 + gno }, ...rows);
    bytes += trxLength;
  }
  events.push({ type: 4, body: Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('binlog.000002')]) });
  return buildBinlog(events);
}

describe('push-mode inspector', () => {
  test('every fixture gives what inspectBinlog gives, whatever the chunking (1 byte to 5 MiB)', async () => {
    assert.ok(FIXTURES.length >= 40);
    for (const rel of FIXTURES) {
      const path = fixture(rel);
      const bytes = await readFile(path);
      const expected = await viaFile(path);
      for (const seed of [1, 2, 3]) {
        assert.deepEqual(dropFailedAt(viaPush(path, bytes, chunkSizes(seed))), expected, `${rel}, seed ${seed}`);
      }
      assert.deepEqual(dropFailedAt(viaPush(path, bytes, () => 1)), expected, `${rel}, 1-byte chunks`);
      assert.deepEqual(dropFailedAt(viaPush(path, bytes, () => bytes.length)), expected, `${rel}, one chunk`);
    }
  });

  test('12 MiB with events of up to 5 MiB: same result for random chunkings, with and without checksums', async () => {
    const bytes = bigSynthetic(7);
    await withTempDir(async (dir) => {
      const path = join(dir, 'binlog.000001');
      await writeFile(path, bytes);
      for (const verifyChecksums of [true, false]) {
        const expected = await viaFile(path, { verifyChecksums });
        assert.ok('ok' in expected);
        const parsed = JSON.parse(expected.ok) as { info: PlainBinlogInfo; events: BinlogEvent[] };
        const info = parsed.info;
        assert.ok(parsed.events.some((e) => e.length > 4 * MiB), 'has events larger than the default 4 MiB read');
        assert.equal(info.size, bytes.length);
        assert.equal(info.closed, true);
        assert.ok(info.transactionCount > 50, `${info.transactionCount} transactions`);
        assert.ok((info.eventCounts[30] ?? 0) > 100);
        assert.equal(info.crc.ok, verifyChecksums ? info.eventCount : 0);
        for (const seed of [11, 12, 13, 14, 15, 16]) {
          assert.deepEqual(dropFailedAt(viaPush(path, bytes, chunkSizes(seed), { verifyChecksums })), expected, `seed ${seed}`);
        }
      }
    });
  });

  test('random damage (bit flips, cuts) is reported alike by inspectBinlog and the push inspector', async () => {
    const sources = ['mysql80/lightning/binlog.000002', 'mariadb/rust_mysql_common/mariadb-bin.000001', 'relaylog/kingbus/5.7/flikedev1-c8pyy-relay-bin.000284', 'other-versions/osheroff/mysql-bin.checksum-none']
      .filter((rel) => EXPECTED.some((e) => e.path === rel));
    assert.equal(sources.length, 4);
    const r = prng(99);
    const seen = new Set<string>();
    await withTempDir(async (dir) => {
      for (const rel of sources) {
        const original = await readFile(fixture(rel));
        for (let k = 0; k < 40; k++) {
          const bytes = Buffer.from(original);
          const at = Math.floor(r() * bytes.length);
          let damaged = bytes;
          if (k % 4 === 3) damaged = bytes.subarray(0, at);
          else bytes[at] = (bytes[at] as number) ^ (1 << Math.floor(r() * 8));
          const path = join(dir, `damaged-${k}`);
          await writeFile(path, damaged);
          const expected = await viaFile(path);
          seen.add('ok' in expected ? 'ok' : expected.code);
          const pushed = viaPush(path, damaged, chunkSizes(k));
          assert.deepEqual(dropFailedAt(pushed), expected, `${rel}: ${k % 4 === 3 ? `cut at ${at}` : `bit flipped at ${at}`}`);
        }
      }
    });
    // The damage exercised every kind of verdict.
    assert.deepEqual([...seen].sort(), ['EBINLOGCHECKSUM', 'EBINLOGCORRUPT', 'EBINLOGTRUNCATED', 'ok']);
  });

  test('damage is thrown by the write that completes the damaged part, not at finish; then every call rethrows it', async () => {
    const path = fixture('mysql80/lightning/binlog.000002');
    const original = await readFile(path);
    const events: BinlogEvent[] = [];
    await inspectBinlog(path, { onEvent: (e) => events.push(e) });
    const victim = events[40] as BinlogEvent;

    // CRC: thrown by the 1-byte write of the event's last byte.
    const flipped = Buffer.from(original);
    flipped[victim.position + 25] = (flipped[victim.position + 25] as number) ^ 0x10;
    const crc = viaPush('flipped', flipped, () => 1);
    assert.equal('code' in crc && crc.code, 'EBINLOGCHECKSUM');
    assert.equal(crc.failedAt, victim.position + victim.length);

    // Corrupt length (log_pos disagrees): thrown as soon as the header is in.
    const badLen = Buffer.from(original);
    badLen[victim.position + 9] = (badLen[victim.position + 9] as number) ^ 0x04;
    const corrupt = viaPush('bad-length', badLen, () => 1);
    assert.equal('code' in corrupt && corrupt.code, 'EBINLOGCORRUPT');
    assert.equal(corrupt.failedAt, victim.position + 19);

    // Not a binlog: thrown by the write that completes the 4-byte magic number.
    const text = viaPush('notes.txt', Buffer.from('hello, binlog\n'), () => 1);
    assert.equal('code' in text && text.code, 'ENOTBINLOG');
    assert.equal(text.failedAt, 4);

    // Sticky: once failed, write and finish throw the same error.
    const ins = createBinlogInspector({ path: 'flipped' });
    assert.throws(() => ins.write(flipped), (err: unknown) => err instanceof ArchiverError && err.code === 'EBINLOGCHECKSUM');
    let again: unknown;
    try {
      ins.write(Buffer.alloc(10));
    } catch (err) {
      again = err;
    }
    let atFinish: unknown;
    try {
      ins.finish();
    } catch (err) {
      atFinish = err;
    }
    assert.ok(again instanceof ArchiverError && again === atFinish);
    assert.equal(again.context.offset, victim.position);
  });

  test('a cut stream fails at finish with the offset of the event that was cut, like a cut file', async () => {
    const path = fixture('mysql80/lightning/binlog.000002');
    const bytes = await readFile(path);
    const events: BinlogEvent[] = [];
    await inspectBinlog(path, { onEvent: (e) => events.push(e) });
    const ev = events[50] as BinlogEvent;
    for (const cut of [2, 4, 10, ev.position + 5, ev.position + 19, ev.position + ev.length - 1]) {
      const ins = createBinlogInspector({ path: 'cut' });
      ins.write(bytes.subarray(0, cut));
      assert.throws(
        () => ins.finish(),
        (err: unknown) => err instanceof ArchiverError && err.code === 'EBINLOGTRUNCATED' && err.message.startsWith('cut is truncated') && err.message.endsWith(`(${cut} bytes)`),
        `cut at ${cut}`,
      );
    }
    // Cut exactly at an event boundary: valid, just not closed.
    const atBoundary = createBinlogInspector({ path: 'cut' });
    atBoundary.write(bytes.subarray(0, ev.position));
    const info = atBoundary.finish() as PlainBinlogInfo;
    assert.deepEqual([info.eventCount, info.endPosition, info.closed], [50, ev.position, false]);
    // Nothing written at all: an empty input is not a binlog.
    assert.throws(() => createBinlogInspector().finish(), (err: unknown) => err instanceof ArchiverError && err.code === 'ENOTBINLOG' && err.message.includes('<stream>'));
  });

  test('a 48 MiB event pushed in chunks up to 5 MiB is checksummed without being held', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'binlog.000001');
      const written = await writeBinlogWithHugeEvent(path, 48 * MiB, UUID);
      const next = chunkSizes(5);
      const scratch = Buffer.alloc(5 * MiB);
      const fh = await open(path, 'r');
      const txs: BinlogTransaction[] = [];
      let info: BinlogInfo;
      const before = process.memoryUsage().arrayBuffers;
      let peak = before;
      try {
        const ins = createBinlogInspector({ path, onTransaction: (t) => txs.push(t) });
        for (let off = 0; off < written.size; ) {
          const { bytesRead } = await fh.read(scratch, 0, Math.min(next(), written.size - off), off);
          ins.write(scratch.subarray(0, bytesRead));
          off += bytesRead;
          peak = Math.max(peak, process.memoryUsage().arrayBuffers);
        }
        info = ins.finish();
      } finally {
        await fh.close();
      }
      assert.equal(info.magic, 'plain');
      assert.deepEqual(info.crc, { ok: 5, bad: 0, skipped: 0, badPositions: [] });
      assert.equal(info.size, written.size);
      assert.equal(txs[0]?.declaredLength, written.trxLength);
      assert.equal(txs[0]?.complete, true);
      assert.ok(peak - before < 2 * MiB, `ArrayBuffer growth ${peak - before} bytes`);
    });
  });

  test('inspectStream over a file read stream; an encrypted binlog shows its header', async () => {
    for (const rel of ['mysql80/lightning/binlog.000002', 'encrypted/lightning/binlog.encrypted']) {
      const path = fixture(rel);
      const expected = await inspectBinlog(path);
      const streamed = await inspectStream(createReadStream(path, { highWaterMark: 333 }), { path });
      assert.equal(canonical(streamed), canonical(expected), rel);
    }
    const enc = await inspectStream([await readFile(fixture('encrypted/lightning/binlog.encrypted'))]);
    assert.equal(enc.magic, 'mysql-encrypted');
    assert.equal(enc.path, '<stream>');
    assert.ok(enc.magic === 'mysql-encrypted' && enc.encryption.encryptedBodySize === enc.size - 512);
  });

  test('finish ends the input: writing or finishing again is a usage error', () => {
    const bytes = buildBinlog([{ type: 4, body: Buffer.concat([Buffer.alloc(8), Buffer.from('binlog.000002')]) }]);
    const ins = createBinlogInspector();
    ins.write(bytes);
    assert.equal((ins.finish() as PlainBinlogInfo).endsWithRotate, true);
    assert.throws(() => ins.write(bytes), (err: unknown) => err instanceof ArchiverError && err.code === 'EINTERNAL' && /write after finish/.test(err.message));
    assert.throws(() => ins.finish(), (err: unknown) => err instanceof ArchiverError && err.code === 'EINTERNAL' && /finish called twice/.test(err.message));
  });

  test('an FDE cut by a chunk boundary, with the in-use flag set, still has its CRC verified', () => {
    const fde = encodeEvent({ type: 15, body: fdeBody('10.11.19-MariaDB-log'), flags: 0 }, 4, true);
    fde[17] = 1; // in use: outside the CRC
    const bytes = Buffer.concat([Buffer.from([0xfe, 0x62, 0x69, 0x6e]), fde]);
    for (let split = 1; split < bytes.length; split++) {
      const ins = createBinlogInspector();
      ins.write(bytes.subarray(0, split));
      ins.write(bytes.subarray(split));
      const info = ins.finish() as PlainBinlogInfo;
      assert.deepEqual([info.inUse, info.crc.ok, info.flavor], [true, 1, 'mariadb'], `split at ${split}`);
    }
  });
});
