/** The edges digest (src/store/binlog-edges.ts): streamed in any chunking, it equals the definition. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { edgesSha256File } from '../../src/pipeline/file-hash.ts';
import { EDGE_BYTES, EdgesCollector, edgesDigest } from '../../src/store/binlog-edges.ts';
import { tempDir } from '../support/archive.ts';

function definition(b: Buffer): string {
  const n = Math.min(b.length, 65536);
  const size = Buffer.alloc(8);
  size.writeBigUInt64BE(BigInt(b.length));
  return createHash('sha256').update(size).update(b.subarray(0, n)).update(b.subarray(b.length - n)).digest('hex');
}

test('EdgesCollector, edgesDigest and edgesSha256File agree with the definition at every size and chunking', async () => {
  assert.equal(EDGE_BYTES, 65536);
  const dir = tempDir();
  for (const size of [0, 1, 100, EDGE_BYTES - 1, EDGE_BYTES, EDGE_BYTES + 1, 2 * EDGE_BYTES - 1, 2 * EDGE_BYTES, 2 * EDGE_BYTES + 7, (1 << 20) + 3]) {
    const data = randomBytes(size);
    const want = definition(data);
    for (const chunk of [1, 7, 4096, EDGE_BYTES - 1, EDGE_BYTES + 1, 200_000, Math.max(1, size)]) {
      if (chunk === 1 && size > 200_000) continue;
      const c = new EdgesCollector();
      for (let at = 0; at < size; at += chunk) c.update(data.subarray(at, at + chunk));
      assert.equal(c.digest(), want, `size ${size}, chunks of ${chunk}`);
    }
    const n = Math.min(size, EDGE_BYTES);
    assert.equal(edgesDigest(size, data.subarray(0, n), data.subarray(size - n)), want);
    const file = path.join(dir, `b${size}`);
    fs.writeFileSync(file, data);
    assert.deepEqual(await edgesSha256File(file), { size, edgesSha256: want });
  }
  assert.throws(() => edgesDigest(10, Buffer.alloc(9), Buffer.alloc(10)), /edges of a 10-byte binlog are 10 bytes each/);
});

test('edgesSha256File refuses what is not a regular file', async () => {
  const dir = tempDir();
  fs.symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'link'));
  await assert.rejects(edgesSha256File(path.join(dir, 'link')));
  await assert.rejects(edgesSha256File(dir));
});
