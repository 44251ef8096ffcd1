import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { DEK, compressible, encodeToBuffer, pseudoRandom } from './helpers.ts';
import { specDecode } from './spec-decoder.ts';
import { txcBinlog } from '../../bench/txc-binlog.ts';
import { MIN_PROBED_LENGTH } from '../../src/format/zstd-adapt.js';

const ZSTD = '/usr/bin/zstd';

function zstdDecompress(input: Buffer): Buffer {
  const r = spawnSync(ZSTD, ['-d', '-c', '-q'], { input, maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, `zstd -d failed: ${r.stderr.toString()}`);
  return r.stdout;
}

const inputs: [string, Buffer, number | undefined][] = [
  ['empty input', Buffer.alloc(0), 4096],
  ['compressible, many frames', compressible(200_000), 4096],
  ['random, many frames', pseudoRandom(100_000, 21), 4096],
  ['real binlog, default 4 MiB segments', readFileSync('/work/shared/fixtures/binlogs/other-versions/osheroff/mysql-bin.checksum-none'), undefined],
];

for (const [name, data, segmentSize] of inputs) {
  test(`the real zstd -d reads the concatenated decrypted frames: ${name}`, async () => {
    const { object, result } = await encodeToBuffer(data, segmentSize === undefined ? {} : { segmentSize });
    const decoded = specDecode(object, DEK);
    assert.equal(decoded.payloads.length, result.frames);
    const stream = Buffer.concat(decoded.payloads);
    assert.equal(stream.length, result.compressedLength);
    assert.equal(decoded.trailer.compressedLength, BigInt(stream.length));
    const plain = zstdDecompress(stream);
    assert.ok(plain.equals(data), 'zstd -d output differs from the plaintext');
    assert.equal(decoded.trailer.plaintextLength, BigInt(data.length));
    assert.equal(decoded.trailer.plaintextSha256.toString('hex'), createHash('sha256').update(data).digest('hex'));
    // Each payload is one complete frame with its content size and a checksum: zstd -lv lists them.
    const dir = mkdtempSync(join(tmpdir(), 'format-zstd-'));
    try {
      const file = join(dir, 'stream.zst');
      writeFileSync(file, stream);
      const list = spawnSync(ZSTD, ['-l', '-v', file]).stdout.toString();
      assert.match(list, new RegExp(`# Zstandard Frames: ${result.frames}\\n`));
      assert.match(list, new RegExp(`Decompressed Size: .*\\(${data.length} B\\)`));
      assert.match(list, /Check: XXH64/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
}

test('the real zstd -d reads a Transaction_payload-heavy binlog whose segments were stored, not compressed', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'format-zstd-txc-'));
  try {
    const data = readFileSync(txcBinlog({ mib: 4, shape: 'large', out: join(dir, 'binlog.000001') }));
    const segmentSize = 1 << 20;
    const { object, result } = await encodeToBuffer(data, { segmentSize, level: 3 });
    assert.equal(result.frames, Math.ceil(data.length / segmentSize));
    // Every segment of already-compressed transactions is stored; a final one too short to probe is compressed.
    const probed = Array.from({ length: result.frames }, (_, i) => Math.min(segmentSize, data.length - i * segmentSize) >= MIN_PROBED_LENGTH);
    assert.equal(result.storedFrames, probed.filter(Boolean).length);
    const decoded = specDecode(object, DEK);
    const stream = Buffer.concat(decoded.payloads);
    assert.ok(zstdDecompress(stream).equals(data), 'zstd -d output differs from the binlog');
    // Stored: raw blocks, so each frame is its segment plus the frame header, block headers and checksum.
    for (const [i, p] of decoded.payloads.entries()) {
      const segment = Math.min(segmentSize, data.length - i * segmentSize);
      if (probed[i] !== true) continue;
      assert.ok(p.length > segment && p.length <= segment + 3 * Math.ceil(segment / 131072) + 18, `frame ${i}: ${p.length} bytes for ${segment}`);
    }
    const file = join(dir, 'stream.zst');
    writeFileSync(file, stream);
    const list = spawnSync(ZSTD, ['-l', '-v', file]).stdout.toString();
    assert.match(list, new RegExp(`# Zstandard Frames: ${result.frames}\\n`));
    assert.match(list, /Check: XXH64/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
