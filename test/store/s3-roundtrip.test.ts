/**
 * Archive and restore through S3 (VersityGW) with the real pipeline (runArchive / runRestore / runVerify), the
 * store opened from its URL with credentials from the SDK default chain: real fixture binlogs plus a synthetic,
 * incompressible 105 MiB binlog whose archive object goes up as a multipart upload. Restored files are
 * byte-identical to the originals.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { runRestore } from '../../src/restore/restore-run.ts';
import { runVerify } from '../../src/restore/verify-run.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { S3Store } from '../../src/store/s3-store.ts';
import { FIXTURES, binlogDir, newKeyUrl, newPassphraseUrl, sha256, tempDir } from '../support/archive.ts';
import { skipUnlessIn } from '../support/testenv.ts';
import { buildBinlog, encodeEvent, eventLen, gtidBody } from '../binlog/helpers.ts';
import { MiB, credentialsEnv, deterministicBytes, incompleteUploads, rawClient, s3, storeUrlFor, uniquePrefix } from './helpers.ts';

/** A MySQL 8 binlog holding one transaction with a `bodyBytes` rows event of incompressible bytes. */
async function writeBigBinlog(file: string, bodyBytes: number): Promise<void> {
  const fh = await fs.promises.open(file, 'w');
  try {
    const head = buildBinlog([]);
    let pos = head.length;
    await fh.write(head);
    const xid = Buffer.alloc(8, 1);
    const trxLength = eventLen(62) + eventLen(bodyBytes) + eventLen(xid.length);
    const gtid = encodeEvent({ type: 33, body: gtidBody('3e11fa47-71ca-11e1-9e33-c80aa9429562', 1, 1_700_000_000_123_456, trxLength) }, pos, true);
    await fh.write(gtid);
    pos += gtid.length;
    const header = Buffer.alloc(19);
    header.writeUInt32LE(1_700_000_001, 0);
    header[4] = 30; // WRITE_ROWS_EVENT v2
    header.writeUInt32LE(7, 5);
    header.writeUInt32LE(eventLen(bodyBytes), 9);
    header.writeUInt32LE(pos + eventLen(bodyBytes), 13);
    let crc = crc32(header);
    await fh.write(header);
    for (let at = 0; at < bodyBytes; at += MiB) {
      const piece = deterministicBytes('big-binlog', at, Math.min(MiB, bodyBytes - at));
      crc = crc32(piece, crc);
      await fh.write(piece);
    }
    const tail = Buffer.alloc(4);
    tail.writeUInt32LE(crc >>> 0, 0);
    await fh.write(tail);
    pos += eventLen(bodyBytes);
    const xidEvent = encodeEvent({ type: 16, body: xid }, pos, true);
    await fh.write(xidEvent);
    pos += xidEvent.length;
    await fh.write(encodeEvent({ type: 4, body: Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('fx-bin.000003')]) }, pos, true));
  } finally {
    await fh.close();
  }
}

describe('archive and restore through S3', { skip: skipUnlessIn('s3') }, () => {
  const saved: Record<string, string | undefined> = {};
  const client = rawClient();
  const stores: S3Store[] = [];
  before(() => {
    const env = credentialsEnv();
    for (const [k, v] of Object.entries(env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    for (const s of stores) s.destroy();
    client.destroy();
  });

  it('round-trips fixtures and a 105 MiB binlog (multipart object) byte-identically (gcm)', async (t) => {
    const work = tempDir();
    const big = path.join(work, 'big-source');
    await writeBigBinlog(big, 105 * MiB);
    const sources = [path.join(FIXTURES, 'mysql80/maxwell/binlog.000004'), big, path.join(FIXTURES, 'mysql80/lightning/binlog.000002')];
    const { dir, names } = binlogDir(sources);
    const prefix = uniquePrefix('roundtrip');
    const store = openStore(storeUrlFor(prefix)) as S3Store;
    stores.push(store);
    const keyUrl = newKeyUrl(work);

    const archived = await runArchive({ binlogDir: dir, store, keyUrl, source: 'rt' });
    assert.equal(archived.archived, 3);
    const bigRow = archived.binlogs[1];
    assert.ok(bigRow !== undefined && bigRow.objectBytes >= 100 * MiB, `archive object of the big binlog: ${bigRow?.objectBytes} bytes`);
    const head = await client.send(new HeadObjectCommand({ Bucket: s3().bucket, Key: `${prefix}/${bigRow.objectKey}` }));
    const parts = Math.ceil(bigRow.objectBytes / (8 * MiB));
    assert.match(head.ETag ?? '', new RegExp(`^"[0-9a-f]{32}-${parts}"$`));
    assert.equal(head.ContentLength, bigRow.objectBytes);
    assert.equal(store.metrics.attempts.UploadPart, parts);
    t.diagnostic(`big binlog ${fs.statSync(big).size} bytes -> object ${bigRow.objectBytes} bytes in ${parts} parts (ETag ${head.ETag})`);

    // A second run finds everything archived and uploads nothing.
    const again = await runArchive({ binlogDir: dir, store, keyUrl, source: 'rt' });
    assert.equal(again.skipped, 3);

    const out = path.join(work, 'out');
    const restored = await runRestore({ store, keyUrl, out, source: 'rt', target: { kind: 'latest' }, acceptGaps: true });
    assert.deepEqual(restored.files.map((f) => f.name), names);
    for (const name of names) assert.equal(sha256(path.join(out, name)), sha256(path.join(dir, name)), name); // dir holds the closed copies
    const verified = await runVerify({ store, keyUrl, source: 'rt' });
    assert.deepEqual(verified.problems, []);
    assert.equal(verified.verified, 3);
    assert.deepEqual(await incompleteUploads(client, `${prefix}/`), []);
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips fixtures in the openssl-aes-256-cbc format (object + HMAC sidecar)', async () => {
    const work = tempDir();
    const sources = [path.join(FIXTURES, 'mysql80/maxwell/binlog.000004'), path.join(FIXTURES, 'mysql80/lightning/binlog.000002')];
    const { dir, names } = binlogDir(sources);
    const store = openStore(storeUrlFor(uniquePrefix('roundtrip-cbc'))) as S3Store;
    stores.push(store);
    const keyUrl = newPassphraseUrl(work);
    const archived = await runArchive({ binlogDir: dir, store, keyUrl, source: 'cbc', format: 'openssl-aes-256-cbc' });
    assert.equal(archived.archived, 2);
    const out = path.join(work, 'out');
    await runRestore({ store, keyUrl, out, source: 'cbc', target: { kind: 'latest' }, acceptGaps: true });
    for (const name of names) assert.equal(sha256(path.join(out, name)), sha256(path.join(dir, name)), name); // dir holds the closed copies
  });
});
