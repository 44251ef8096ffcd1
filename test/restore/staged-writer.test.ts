import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { StagedFileWriter } from '../../src/restore/staged-writer.ts';

test('the staged writer writes every byte in order across pieces and background flushes, then syncs', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blarc-staged-'));
  try {
    const file = path.join(dir, 'out');
    const handle = await fs.promises.open(file, 'wx');
    const writer = new StagedFileWriter(handle);
    const hash = createHash('sha256');
    // 40 MiB in odd-sized chunks: pieces of 1 MiB, a chunk smaller than a piece, and one background flush.
    const sizes = [4 << 20, (4 << 20) + 7, 123, ...Array.from({ length: 8 }, () => 4 << 20)];
    for (const n of sizes) {
      const chunk = randomBytes(n);
      hash.update(chunk);
      await writer.write(chunk);
    }
    await writer.sync();
    await writer.settle();
    await handle.close();
    const written = await fs.promises.readFile(file);
    assert.equal(written.length, sizes.reduce((a, b) => a + b, 0));
    assert.equal(createHash('sha256').update(written).digest('hex'), hash.digest('hex'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a write to a file that cannot take it fails with the system error', { timeout: 30_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blarc-staged-'));
  try {
    const file = path.join(dir, 'out');
    fs.writeFileSync(file, '');
    const handle = await fs.promises.open(file, 'r');
    const writer = new StagedFileWriter(handle);
    await assert.rejects(writer.write(Buffer.alloc(10)), (e: NodeJS.ErrnoException) => e.code === 'EBADF');
    await handle.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
