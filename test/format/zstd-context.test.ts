/**
 * The reusable zstd contexts the workers compress and verify with (src/format/zstd-core.js) drive node:zlib's
 * binding directly: they must give exactly the bytes of the public one-shot API (the format's determinism and
 * test vectors depend on it) and enforce the same bounds on decompression.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { zstdDecompressSync } from 'node:zlib';
import { compressSegment, native, ZstdCompressor, zstdCompressBound, ZstdDecompressor } from '../../src/format/zstd.ts';
import { compressible, pseudoRandom } from './helpers.ts';

test('the binding is driven directly on this Node version (else the slower fallback is in use)', () => {
  assert.equal(native, true);
});

test('a reused compression context writes exactly what zstdCompressSync writes, on every level and size', () => {
  const sizes = [0, 1, 96, 1024, 1120, 131_071, 131_072, 300_000, 1 << 20];
  for (let level = 1; level <= 19; level++) {
    const c = new ZstdCompressor(level);
    // Interleaved sizes and contents: a frame must not depend on the frames before it in the same context.
    for (const [i, size] of sizes.entries()) {
      if (level >= 15 && size > 300_000) continue; // slow levels: smaller inputs suffice
      const input = i % 2 === 0 ? compressible(size) : pseudoRandom(size, i + level);
      const out = new Uint8Array(zstdCompressBound(size) + 7);
      const n = c.compressInto(input, out, 7);
      assert.ok(Buffer.from(out.subarray(7, 7 + n)).equals(compressSegment(input, level)), `level ${level}, ${size} bytes`);
    }
    c.close();
  }
});

test('a context with a set match table size writes what zstdCompressSync writes with it, and not the level\'s own frame', () => {
  for (const level of [1, 2, 3]) {
    const c = new ZstdCompressor(level, 13);
    for (const [i, size] of [1 << 20, 96, 300_000].entries()) {
      const input = i % 2 === 0 ? compressible(size) : pseudoRandom(size, i + level);
      const out = new Uint8Array(zstdCompressBound(size));
      const frame = Buffer.from(out.subarray(0, c.compressInto(input, out)));
      assert.ok(frame.equals(compressSegment(input, level, 13)), `level ${level}, ${size} bytes`);
      assert.ok(zstdDecompressSync(frame).equals(input));
    }
    const big = compressible(1 << 20);
    assert.ok(!compressSegment(big, level, 13).equals(compressSegment(big, level)), `level ${level}: the table size changes the frame`);
    c.close();
  }
});

test('the documented test vector segment compresses to the documented frame, also on a reused context', () => {
  const text = Buffer.from('binlog-archiver test vector\n'.repeat(40));
  const z0 = '28b52ffd640003250100e062696e6c6f672d6172636869766572207465737420766563746f720a010084ff6a3a015176d86b';
  const c = new ZstdCompressor(3);
  const out = new Uint8Array(zstdCompressBound(1024));
  for (let i = 0; i < 3; i++) assert.equal(Buffer.from(out.subarray(0, c.compressInto(text.subarray(0, 1024), out))).toString('hex'), z0);
});

test('the output buffer must leave room for the worst case', () => {
  const c = new ZstdCompressor(3);
  assert.throws(() => c.compressInto(Buffer.alloc(1000), new Uint8Array(100)), RangeError);
});

test('decompressInto: exact content, content longer than the buffer, corrupt frames; the context survives errors', () => {
  const d = new ZstdDecompressor();
  const input = compressible(5000);
  const frame = compressSegment(input, 3);
  const out = new Uint8Array(8192);
  assert.equal(d.decompressInto(frame, out), 5000);
  assert.ok(Buffer.from(out.subarray(0, 5000)).equals(input));
  // A buffer of exactly the content size is enough; one byte less is a RangeError.
  assert.equal(d.decompressInto(frame, new Uint8Array(5000)), 5000);
  assert.throws(() => d.decompressInto(frame, new Uint8Array(4999)), RangeError);
  // Checksum and block damage are zstd errors.
  const badChecksum = Buffer.from(frame);
  badChecksum[badChecksum.length - 1] = (badChecksum[badChecksum.length - 1] as number) ^ 1;
  assert.throws(() => d.decompressInto(badChecksum, out), /checksum/i);
  const badBlock = Buffer.from(frame);
  badBlock[20] = (badBlock[20] as number) ^ 0x55;
  assert.throws(() => d.decompressInto(badBlock, out));
  // Empty content, then the same context again.
  assert.equal(d.decompressInto(compressSegment(Buffer.alloc(0), 3), new Uint8Array(0)), 0);
  assert.equal(d.decompressInto(frame, out), 5000);
  // Large frames from other writers (the CLI at -19, no content size when reading a pipe) decode too.
  const big = pseudoRandom(1 << 20, 9);
  const cli = spawnSync('/usr/bin/zstd', ['-19', '-c', '-q'], { input: big }).stdout;
  const plain = new Uint8Array(1 << 20);
  assert.equal(d.decompressInto(cli, plain), 1 << 20);
  assert.ok(Buffer.from(plain).equals(big));
  d.close();
});

test('matches (the seal step\'s verification, in pieces): equal content only; the context survives a mismatch and a corrupt frame', () => {
  const d = new ZstdDecompressor();
  const chunk = new Uint8Array(128 * 1024);
  for (const [level, size] of [[2, 4 << 20], [3, 4 << 20], [2, 300_000], [2, 0], [-131072, 1 << 20]] as const) {
    const input = level < 0 ? pseudoRandom(size, 5) : compressible(size);
    const frame = compressSegment(input, level);
    assert.equal(d.matches(frame, input, chunk), true, `level ${level}, ${size} bytes`);
    if (size === 0) continue;
    const other = Buffer.from(input);
    other.writeUInt8(other.readUInt8(size - 1) ^ 1, size - 1); // differs in its last byte only
    assert.equal(d.matches(frame, other, chunk), false, `last byte differs, ${size} bytes`);
    assert.equal(d.matches(frame, input.subarray(0, size - 1), chunk), false, 'content longer than expected');
    assert.equal(d.matches(frame, Buffer.concat([input, Buffer.alloc(1)]), chunk), false, 'content shorter than expected');
    assert.equal(d.matches(frame, input, chunk), true, 'the context is usable after a mismatch');
  }
  const frame = compressSegment(compressible(200_000), 2);
  const corrupt = Buffer.from(frame);
  corrupt.writeUInt8(corrupt.readUInt8(corrupt.length - 2) ^ 0xff, corrupt.length - 2); // the content checksum
  assert.throws(() => d.matches(corrupt, compressible(200_000), chunk));
  assert.equal(d.matches(frame, compressible(200_000), chunk), true, 'the context is usable after a corrupt frame');
  d.close();
});
