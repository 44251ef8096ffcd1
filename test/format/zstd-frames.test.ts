import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { ByteReader } from '../../src/format/byte-reader.ts';
import { compressSegment } from '../../src/format/zstd.ts';
import { readZstdFrame, zstdFrameLength } from '../../src/format/zstd-frames.ts';
import { chunked, compressible, pseudoRandom } from './helpers.ts';

test('why frames are split by hand: node:zlib decodes only the first frame of a multi-frame stream', () => {
  const a = zstdCompressSync(Buffer.alloc(1000, 1));
  const b = zstdCompressSync(Buffer.alloc(2000, 2));
  assert.equal(zstdDecompressSync(Buffer.concat([a, b])).length, 1000);
  assert.equal(zstdDecompressSync(Buffer.concat([a, Buffer.from('trailing garbage')])).length, 1000);
});

test('zstdFrameLength finds the exact end of frames written by node:zlib and by the zstd CLI', () => {
  const inputs = [Buffer.alloc(0), Buffer.from('x'), compressible(300_000), pseudoRandom(200_000, 2)];
  for (const input of inputs) {
    const ours = compressSegment(input, 3);
    assert.equal(zstdFrameLength(ours), ours.length);
    assert.equal(zstdFrameLength(Buffer.concat([ours, Buffer.from('tail')])), ours.length);
    // The CLI writes frames without a content size when it reads a pipe, and larger windows at -19.
    for (const level of ['-1', '-19']) {
      const cli = spawnSync('/usr/bin/zstd', [level, '-c', '-q'], { input }).stdout;
      assert.equal(zstdFrameLength(cli), cli.length, `zstd ${level} on ${input.length} bytes`);
    }
  }
});

test('zstdFrameLength rejects what is not exactly a frame', () => {
  const f = compressSegment(compressible(5000), 3);
  assert.throws(() => zstdFrameLength(f.subarray(0, f.length - 1)), /truncated/);
  assert.throws(() => zstdFrameLength(Buffer.from('not zstd at all')), /not a zstd frame/);
  assert.throws(() => zstdFrameLength(Buffer.from('502a4d1803000000616263', 'hex')), /skippable/);
});

test('readZstdFrame splits a stream delivered in odd chunks, and bounds frame size', async () => {
  const frames = [compressible(10_000), Buffer.alloc(0), pseudoRandom(5000, 3)].map((p) => compressSegment(p, 3));
  const reader = new ByteReader(chunked(Buffer.concat(frames), [1, 2, 3, 1000]), { hash: false });
  for (const f of frames) assert.ok((await readZstdFrame(reader, 1 << 20))?.equals(f));
  assert.equal(await readZstdFrame(reader, 1 << 20), undefined);
  const big = new ByteReader([compressSegment(pseudoRandom(5000, 4), 3)], { hash: false });
  await assert.rejects(readZstdFrame(big, 1000), /longer than 1000 bytes/);
  const cut = new ByteReader([frames[0]?.subarray(0, 20) as Buffer], { hash: false });
  await assert.rejects(readZstdFrame(cut, 1 << 20), /ends inside a frame/);
});
