/** The per-segment level choice (src/format/zstd-adapt.js): store what zstd would barely shrink, nothing else. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { txcBinlog } from '../../bench/txc-binlog.ts';
import { gainsTooLittle, MIN_PROBED_LENGTH, PROBE_BYTES } from '../../src/format/zstd-adapt.js';
import { compressSegment } from '../../src/format/zstd.ts';
import { compressible, decodeBuffer, encodeToBuffer, pseudoRandom, sha256 } from './helpers.ts';

const S = 256 * 1024;
const at2 = (b: Uint8Array): number => compressSegment(b, 2).length;

test('gainsTooLittle: random bytes yes; compressible, half-compressible or too short no', () => {
  assert.equal(gainsTooLittle(pseudoRandom(S, 3), at2), true);
  assert.equal(gainsTooLittle(compressible(S), at2), false);
  assert.equal(gainsTooLittle(Buffer.concat([pseudoRandom(S / 2, 4), compressible(S / 2)]), at2), false, 'the end compresses');
  assert.equal(gainsTooLittle(Buffer.concat([compressible(S / 2), pseudoRandom(S / 2, 5)]), at2), false, 'the start compresses');
  assert.equal(gainsTooLittle(pseudoRandom(MIN_PROBED_LENGTH - 1, 6), at2), false, 'too short to probe');
  // Only the two ends are sampled.
  const sampled: number[] = [];
  gainsTooLittle(pseudoRandom(S, 7), (b) => (sampled.push(b.length), b.length));
  assert.deepEqual(sampled, [PROBE_BYTES, PROBE_BYTES]);
});

test('incompressible segments are stored, decode to the same bytes, and the choice is deterministic', { timeout: 60_000 }, async () => {
  const data = Buffer.concat([pseudoRandom(2 * S, 8), compressible(2 * S)]);
  const a = await encodeToBuffer(data, { segmentSize: S });
  const b = await encodeToBuffer(data, { segmentSize: S });
  assert.equal(a.result.frames, 4);
  assert.equal(a.result.storedFrames, 2);
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

test('binlogs that compress are encoded exactly as without adapting: ordinary and small compressed transactions', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'format-adapt-'));
  try {
    const small = readFileSync(txcBinlog({ mib: 2, shape: 'small', out: join(dir, 'small.000001') }));
    const ordinary = readFileSync(join(import.meta.dirname, '../fixtures/binlogs/other-versions/osheroff/mysql-bin.checksum-none'));
    for (const [name, data, segmentSize] of [['small transactions', small, S], ['ordinary binlog', Buffer.concat(Array(8).fill(ordinary) as Buffer[]), 65536]] as const) {
      const on = await encodeToBuffer(data, { segmentSize });
      const off = await encodeToBuffer(data, { segmentSize, adapt: false });
      assert.equal(on.result.storedFrames, 0, name);
      assert.ok(on.object.equals(off.object), `${name}: the same bytes`);
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});
