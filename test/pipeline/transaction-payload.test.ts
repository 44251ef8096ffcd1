/**
 * Binlogs of MySQL's binlog_transaction_compression: segments of already-compressed Transaction_payload events
 * are stored rather than compressed again (src/format/zstd-adapt.js), the manifest entry says so, the binlog
 * restores byte-identical, and the real `zstd -d` reads the object's frames; a binlog that compresses is
 * archived as before.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { txcBinlog } from '../../bench/txc-binlog.ts';
import { openKeyProvider } from '../../src/keys/open-key-provider.ts';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { runRestore } from '../../src/restore/restore-run.ts';
import { runVerify } from '../../src/restore/verify-run.ts';
import type { ManifestEntry } from '../../src/store/manifest.ts';
import { openStore } from '../../src/store/open-store.ts';
import { specDecode } from '../format/spec-decoder.ts';
import { FIXTURES, binlogDir, newKeyUrl, sha256, tempDir } from '../support/archive.ts';

async function archiveAndRestore(binlog: string, source: string): Promise<{ entry: ManifestEntry; restored: string; copy: string; object: Buffer; keyUrl: string }> {
  const { dir, names } = binlogDir([binlog]);
  const work = tempDir();
  const keyUrl = newKeyUrl(work);
  const storeDir = path.join(work, 'store');
  const store = openStore(`file://${storeDir}`);
  const archived = await runArchive({ binlogDir: dir, store, keyUrl, source });
  assert.equal(archived.archived, 1);
  const entry = JSON.parse(fs.readFileSync(path.join(storeDir, `manifest/${source}/0000000001-${names[0]}.json`), 'utf8')) as ManifestEntry;
  const out = path.join(work, 'out');
  await runRestore({ store, keyUrl, out, target: { kind: 'latest' } });
  const verified = await runVerify({ store, keyUrl });
  assert.deepEqual(verified.problems, []);
  const object = fs.readFileSync(path.join(storeDir, entry.object.key));
  return { entry, restored: path.join(out, names[0]!), copy: path.join(dir, names[0]!), object, keyUrl };
}

describe('archiving Transaction_payload binlogs', () => {
  it('stores the segments of already-compressed transactions, records it, and restores byte-identical', { timeout: 180_000 }, async () => {
    const work = tempDir();
    // 6 MiB of large compressed transactions: one full 4 MiB segment and a final ~2 MiB one.
    const binlog = txcBinlog({ mib: 6, shape: 'large', out: path.join(work, 'txc.000001') });
    const { entry, restored, copy, object, keyUrl } = await archiveAndRestore(binlog, 'txc');
    assert.equal(entry.binlog.transactionCompressed, true);
    assert.deepEqual(entry.object.compression, { level: 2, frames: 2, storedFrames: 2, smallTableFrames: 0 });
    assert.equal(sha256(restored), sha256(copy));
    // Stored frames: the object is the binlog plus per-frame and per-block overhead.
    const size = fs.statSync(copy).size;
    assert.ok(entry.object.size > size && entry.object.size < size + 4096, `object ${entry.object.size} bytes for ${size}`);
    // The real zstd reads the decrypted frames.
    const dek = await openKeyProvider(keyUrl).decryptDataKey(Buffer.from(entry.key.wrappedDek!, 'base64'), entry.key.context, entry.key.keyId);
    const stream = Buffer.concat(specDecode(object, dek).payloads);
    const z = spawnSync('/usr/bin/zstd', ['-d', '-c', '-q'], { input: stream, maxBuffer: 1 << 26 });
    assert.equal(z.status, 0, z.stderr.toString());
    assert.equal(sha256Of(z.stdout), sha256(copy));
  });

  it('compresses every segment of a binlog that compresses, with the small match table', { timeout: 120_000 }, async () => {
    // The largest fixture (1.4 MiB, MySQL 5.5 sakila): long enough to be probed.
    const plain = path.join(tempDir(), 'sakila.000001');
    fs.writeFileSync(plain, gunzipSync(fs.readFileSync(path.join(FIXTURES, 'other-versions/osheroff/mysql-bin.sakila.gz'))));
    const { entry, restored, copy } = await archiveAndRestore(plain, 'plain');
    // Compressed at level 2 with the small match table (zstd-adapt.js): it shrinks below half.
    assert.deepEqual(entry.object.compression, { level: 2, frames: 1, storedFrames: 0, smallTableFrames: 1 });
    assert.ok(entry.object.size < entry.binlog.size / 2);
    assert.equal(sha256(restored), sha256(copy));
  });

  it('a small compressed-transaction binlog (still 40 % compressible) is compressed, not stored', { timeout: 120_000 }, async () => {
    const work = tempDir();
    const binlog = txcBinlog({ mib: 1, shape: 'small', out: path.join(work, 'small.000001') });
    const { entry, restored, copy } = await archiveAndRestore(binlog, 'small');
    assert.equal(entry.binlog.transactionCompressed, true);
    assert.deepEqual(entry.object.compression, { level: 2, frames: 1, storedFrames: 0, smallTableFrames: 0 });
    assert.ok(entry.object.size < entry.binlog.size * 0.8);
    assert.equal(sha256(restored), sha256(copy));
  });
});

function sha256Of(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
