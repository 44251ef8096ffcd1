/**
 * The per-segment choice (src/format/zstd-adapt.js): store what zstd would barely shrink, a small match table for
 * what compresses well at levels 1–3, the level's own parameters otherwise.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { txcBinlog } from '../../bench/txc-binlog.ts';
import { MIN_PROBED_LENGTH, PROBE_BYTES, segmentEncoding, SMALL_TABLE_HASH_LOG, STORED_LEVEL } from '../../src/format/zstd-adapt.js';
import { compressSegment } from '../../src/format/zstd.ts';
import { compressible, decodeBuffer, encodeToBuffer, pseudoRandom, sha256 } from './helpers.ts';

const S = 256 * 1024;
const choose = (b: Uint8Array, level = 2): ReturnType<typeof segmentEncoding> =>
  segmentEncoding(b, level, (sample, hashLog) => compressSegment(sample, level, hashLog).length);
/** Random and compressible pieces interleaved: shrinks, but not below half. */
function halfRandom(n: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i * 1024 < n; i++) parts.push(i % 3 === 2 ? compressible(1024) : pseudoRandom(1024, 100 + i));
  return Buffer.concat(parts).subarray(0, n);
}

test('segmentEncoding: stored, small table or the level\'s own, from the bytes', () => {
  const SMALL = { level: 2, hashLog: SMALL_TABLE_HASH_LOG };
  const OWN = { level: 2, hashLog: 0 };
  const STORED = { level: STORED_LEVEL, hashLog: 0 };
  assert.deepEqual(choose(pseudoRandom(S, 3)), STORED);
  assert.deepEqual(choose(compressible(S)), SMALL);
  const mixed = halfRandom(S);
  const ratio = compressSegment(mixed.subarray(0, PROBE_BYTES), 2, SMALL_TABLE_HASH_LOG).length / PROBE_BYTES;
  assert.ok(ratio > 0.5 && ratio < 31 / 32, `the mixed sample compresses to ${ratio}`);
  assert.deepEqual(choose(mixed), OWN, 'shrinks, not below half: the level\'s own table');
  assert.deepEqual(choose(Buffer.concat([pseudoRandom(S / 2, 4), compressible(S / 2)])), OWN, 'the end compresses');
  assert.deepEqual(choose(Buffer.concat([compressible(S / 2), pseudoRandom(S / 2, 5)])), SMALL, 'the start compresses well');
  assert.deepEqual(choose(compressible(MIN_PROBED_LENGTH - 1)), OWN, 'too short to probe');
  // Above level 3 the small table is never chosen, storing still is.
  assert.deepEqual(choose(compressible(S), 5), { level: 5, hashLog: 0 });
  assert.deepEqual(choose(pseudoRandom(S, 3), 5), STORED);
  // Only the two ends are sampled, with the table the choice is about.
  const sampled: [number, number][] = [];
  segmentEncoding(pseudoRandom(S, 7), 2, (b, hashLog) => (sampled.push([b.length, hashLog]), b.length));
  assert.deepEqual(sampled, [[PROBE_BYTES, SMALL_TABLE_HASH_LOG], [PROBE_BYTES, SMALL_TABLE_HASH_LOG]]);
  sampled.length = 0;
  segmentEncoding(pseudoRandom(S, 7), 4, (b, hashLog) => (sampled.push([b.length, hashLog]), b.length));
  assert.deepEqual(sampled, [[PROBE_BYTES, 0], [PROBE_BYTES, 0]]);
});

test('incompressible segments are stored, decode to the same bytes, and the choice is deterministic', { timeout: 60_000 }, async () => {
  // The compressible half shrinks but not below half: the level's own table, as with adapt: false.
  const data = Buffer.concat([pseudoRandom(2 * S, 8), halfRandom(2 * S)]);
  const a = await encodeToBuffer(data, { segmentSize: S });
  const b = await encodeToBuffer(data, { segmentSize: S });
  assert.equal(a.result.frames, 4);
  assert.equal(a.result.storedFrames, 2);
  assert.equal(a.result.smallTableFrames, 0);
  assert.ok(a.object.equals(b.object), 'same input, same bytes');
  const off = await encodeToBuffer(data, { segmentSize: S, adapt: false });
  assert.equal(off.result.storedFrames, 0);
  // Stored frames are larger than zstd's (which gains a little on random bytes even so), never by much.
  assert.ok(a.result.compressedLength >= off.result.compressedLength);
  assert.ok(a.result.compressedLength <= off.result.compressedLength + 2 * (S >>> 5));
  const { plaintext, result } = await decodeBuffer(a.object);
  assert.ok(plaintext.equals(data));
  assert.equal(result.plaintextSha256, sha256(data));
});

test('binlogs: ordinary ones get the small table, small compressed transactions the level\'s own', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'format-adapt-'));
  try {
    const small = readFileSync(txcBinlog({ mib: 2, shape: 'small', out: join(dir, 'small.000001') }));
    const on = await encodeToBuffer(small, { segmentSize: S });
    const off = await encodeToBuffer(small, { segmentSize: S, adapt: false });
    assert.equal(on.result.storedFrames, 0);
    assert.equal(on.result.smallTableFrames, 0);
    assert.ok(on.object.equals(off.object), 'small compressed transactions: the same bytes as without adapting');

    const ordinary = readFileSync(join(import.meta.dirname, '../fixtures/binlogs/other-versions/osheroff/mysql-bin.checksum-none'));
    const data = Buffer.concat(Array(8).fill(ordinary) as Buffer[]);
    const segmentSize = 65536;
    const adapted = await encodeToBuffer(data, { segmentSize });
    const plain = await encodeToBuffer(data, { segmentSize, adapt: false });
    const probed = Array.from({ length: adapted.result.frames }, (_, i) => Math.min(segmentSize, data.length - i * segmentSize) >= MIN_PROBED_LENGTH).filter(Boolean).length;
    assert.ok(probed > 0);
    assert.equal(adapted.result.storedFrames, 0);
    assert.equal(adapted.result.smallTableFrames, probed, 'every probed segment of an ordinary binlog');
    assert.equal(plain.result.smallTableFrames, 0);
    assert.ok(!adapted.object.equals(plain.object));
    // Within 2 % of the level's own size either way.
    assert.ok(Math.abs(adapted.result.compressedLength / plain.result.compressedLength - 1) < 0.02, `${adapted.result.compressedLength} against ${plain.result.compressedLength}`);
    const { plaintext } = await decodeBuffer(adapted.object);
    assert.ok(plaintext.equals(data));
  } finally {
    rmSync(dir, { recursive: true });
  }
});
