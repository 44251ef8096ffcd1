/**
 * SIGKILL in the middle of a multipart upload, then a rerun: the rerun finds the upload through its state
 * object and ListParts, checks every listed part against the re-produced bytes, uploads only the missing ones,
 * and the object is byte-identical to a clean run; no incomplete upload and no state object remain. The child
 * uploads through the fault proxy, which answers four parts and holds the rest: the kill lands mid-upload however
 * fast the upload runs.
 */
import { HeadObjectCommand, ListPartsCommand } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { S3Store } from '../../src/store/s3-store.ts';
import { FaultProxy, holdAfter } from '../support/fault-proxy.ts';
import { skipUnlessIn } from '../support/testenv.ts';
import {
  MiB, allKeys, credentialsEnv, deterministicBody, incompleteUploads, partMd5s, rawClient, s3, sha256Of, sha256OfDeterministic, storeUrlFor,
  testStore, uniquePrefix,
} from './helpers.ts';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'put-child.ts');

/** Runs the child and SIGKILLs it once `killAfter` parts were reported uploaded. */
function putUntilKilled(config: object, killAfter: number): Promise<{ signal: NodeJS.Signals | null; reported: number }> {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(config)], { env: { ...process.env, ...credentialsEnv() }, stdio: ['ignore', 'pipe', 'inherit'] });
  let reported = 0;
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('part ') && ++reported === killAfter) child.kill('SIGKILL');
  });
  return new Promise((resolve) => child.on('exit', (_code, signal) => resolve({ signal, reported })));
}

describe('SIGKILL during a multipart upload, then a rerun', { skip: skipUnlessIn('s3') }, () => {
  const client = rawClient();
  const stores: S3Store[] = [];
  after(() => {
    for (const s of stores) s.destroy();
    client.destroy();
  });

  it('resumes: only the missing parts are uploaded, the object is byte-identical to a clean run, nothing is left over', async (t) => {
    const prefix = uniquePrefix('sigkill');
    const key = 'binlogs/src/0000000042-mysql-bin.000042.blarc';
    const size = 100 * MiB + 4321; // 13 parts of 8 MiB (the defaults)
    const seed = 'sigkill';
    const meta = { batchId: 'batch-1', correlationId: 'corr-1' };
    const proxy = new FaultProxy(s3().endpoint, holdAfter('UploadPart', 4));
    t.after(() => proxy.close());
    const killed = await putUntilKilled({ url: storeUrlFor(prefix, '', await proxy.listen()), key, seed, size, meta }, 4);
    assert.equal(killed.signal, 'SIGKILL');

    const bucket = s3().bucket;
    const fullKey = `${prefix}/${key}`;
    const uploads = await incompleteUploads(client, fullKey);
    assert.equal(uploads.length, 1);
    const listed = (await client.send(new ListPartsCommand({ Bucket: bucket, Key: fullKey, UploadId: uploads[0]?.uploadId }))).Parts ?? [];
    const md5s = partMd5s(seed, size, 8 * MiB);
    assert.equal(md5s.length, 13);
    // Parts S3 holds with exactly the bytes a rerun re-produces (a part cut off by the kill would not count).
    const good = listed.filter((p) => p.ETag === `"${md5s[(p.PartNumber ?? 0) - 1]}"`).length;
    assert.equal(good, 4, `good parts on the server after the kill: ${good} (the proxy let four through)`);

    const store = testStore({ name: 'sigkill', prefix });
    stores.push(store);
    const pending = await store.pendingUpload(key);
    assert.deepEqual(pending && { parts: pending.parts, partSize: pending.partSize, meta: pending.meta }, { parts: listed.length, partSize: 8 * MiB, meta });

    const res = await store.put(key, deterministicBody(seed, size), { resumable: true, resumeMeta: pending?.meta ?? {} });
    assert.equal(res.resumed, true);
    assert.equal(res.partsSkipped, good);
    assert.equal(res.partsUploaded + res.partsReuploaded, 13 - good);
    assert.equal(store.metrics.attempts.UploadPart, 13 - good);
    assert.equal(store.metrics.partsSkipped, good);
    t.diagnostic(`killed after ${killed.reported} parts reported; S3 held ${listed.length} parts (${good} good); rerun skipped ${res.partsSkipped}, uploaded ${res.partsUploaded}, re-uploaded ${res.partsReuploaded}`);

    const clean = testStore({ name: 'clean' });
    stores.push(clean);
    const cleanRes = await clean.put(key, deterministicBody(seed, size));
    assert.equal(res.etag, cleanRes.etag);
    assert.equal(res.sha256, cleanRes.sha256);
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: fullKey }));
    assert.equal(head.ETag, `"${cleanRes.etag}"`);
    assert.deepEqual(await sha256Of(store.get(key)), { sha256: sha256OfDeterministic(seed, size), size });

    assert.deepEqual(await incompleteUploads(client, `${prefix}/`), []);
    assert.deepEqual(await allKeys(client, `${prefix}/.uploads/`), []);
    assert.equal(await store.pendingUpload(key), undefined);
  });
});
