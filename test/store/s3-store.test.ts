/**
 * The S3 store against the real VersityGW: the 100 MiB multipart path with default options, the threshold
 * boundary, stale uploads, no-overwrite under a race (conditional write and HEAD fallback), object lock, the
 * default credential chain, and permanent errors that fail fast.
 */
import { CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, PutObjectLegalHoldCommand } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { once, readAll } from '../../src/store/object-store.ts';
import { openStore } from '../../src/store/open-store.ts';
import { S3Store } from '../../src/store/s3-store.ts';
import { skipUnlessIn } from '../support/testenv.ts';
import {
  MiB, allKeys, credentialsEnv, deterministicBody, incompleteUploads, partMd5s, prefixOf, rawClient, s3, sha256Of, sha256OfDeterministic,
  storeUrlFor, testStore, uniquePrefix,
} from './helpers.ts';

describe('S3 store on VersityGW', { skip: skipUnlessIn('s3') }, () => {
  const stores: S3Store[] = [];
  const client = rawClient();
  const track = (s: S3Store): S3Store => (stores.push(s), s);
  after(() => {
    for (const s of stores) s.destroy();
    client.destroy();
  });

  it('uploads a 100 MiB+ body as a multipart upload of 8 MiB parts with default options, byte-identical', async (t) => {
    const store = track(testStore({ name: 'big' }));
    const size = 100 * MiB + 4321;
    const res = await store.put('binlogs/s/0000000001-huge.blarc', deterministicBody('big', size));
    const md5s = partMd5s('big', size, 8 * MiB);
    const expectedEtag = `${createHash('md5').update(Buffer.concat(md5s.map((m) => Buffer.from(m, 'hex')))).digest('hex')}-${md5s.length}`;
    assert.equal(md5s.length, 13);
    assert.deepEqual([res.parts, res.partsUploaded, res.size, res.etag], [13, 13, size, expectedEtag]);
    assert.equal(store.metrics.attempts.UploadPart, 13);
    assert.equal(store.metrics.attempts.PutObject, undefined);
    const head = await client.send(new HeadObjectCommand({ Bucket: s3().bucket, Key: `${prefixOf(store)}/binlogs/s/0000000001-huge.blarc` }));
    assert.equal(head.ETag, `"${expectedEtag}"`);
    assert.equal(head.ContentLength, size);
    assert.deepEqual(await sha256Of(store.get('binlogs/s/0000000001-huge.blarc')), { sha256: sha256OfDeterministic('big', size), size });
    assert.deepEqual(await incompleteUploads(client, `${prefixOf(store)}/`), []);
    t.diagnostic(`13 parts, ETag ${expectedEtag}`);
  });

  it('sends a body one byte below the threshold as a single PutObject, and one at the threshold as multipart', async () => {
    const store = track(testStore({ name: 'threshold', multipartThreshold: 5 * MiB, partSize: 5 * MiB }));
    const below = await store.put('a', deterministicBody('t', 5 * MiB - 1));
    const at = await store.put('b', deterministicBody('t', 5 * MiB));
    assert.deepEqual([below.parts, below.etag], [1, partMd5s('t', 5 * MiB - 1, 5 * MiB)[0]]);
    assert.equal(at.parts, 1);
    assert.match(at.etag, /^[0-9a-f]{32}-1$/);
    assert.deepEqual(store.metrics.attempts.PutObject, 1);
    assert.deepEqual(store.metrics.attempts.UploadPart, 1);
  });

  it('aborts stale multipart uploads of the key it writes, and only of that key', async () => {
    const store = track(testStore({ name: 'stale', multipartThreshold: 5 * MiB, partSize: 5 * MiB }));
    const base = `${prefixOf(store)}/`;
    for (const key of ['obj.zst.aes', 'obj.zst.aes', 'obj.zst.aes.json']) {
      await client.send(new CreateMultipartUploadCommand({ Bucket: s3().bucket, Key: `${base}${key}` }));
    }
    await store.put('obj.zst.aes', deterministicBody('stale', 6 * MiB), { resumable: true });
    assert.equal(store.metrics.uploadsAborted, 2);
    assert.deepEqual((await incompleteUploads(client, base)).map((u) => u.key), [`${base}obj.zst.aes.json`]);
    // The periodic sweep removes the rest.
    assert.deepEqual(await store.abortStaleUploads({ olderThanMs: 0 }), { aborted: 1 });
    assert.deepEqual(await incompleteUploads(client, base), []);
  });

  for (const conditionalWrites of [true, false]) {
    it(`never overwrites an object that appears while the body is produced (${conditionalWrites ? 'If-None-Match: *' : 'HEAD check'})`, async () => {
      const store = track(testStore({ name: 'race', multipartThreshold: 5 * MiB, partSize: 5 * MiB, conditionalWrites }));
      const Bucket = s3().bucket;
      for (const [key, size] of [['small', 1000], ['large', 11 * MiB]] as const) {
        const Key = `${prefixOf(store)}/${key}`;
        async function* racing(): AsyncIterable<Buffer> {
          yield* deterministicBody('race', size - 100);
          // Another writer stores the key after our existence check, before our commit.
          await client.send(new PutObjectCommand({ Bucket, Key, Body: Buffer.from('the other writer') }));
          yield Buffer.alloc(100);
        }
        await assert.rejects(store.put(key, racing()), (err: unknown) => {
          assert.ok(err instanceof ArchiverError);
          assert.equal(err.code, 'ECONFLICT', err.message);
          assert.match(err.message, new RegExp(`s3://${Bucket}/${Key} already exists`));
          return true;
        });
        assert.equal((await readAll(store, key)).toString(), 'the other writer');
      }
      assert.deepEqual(await incompleteUploads(client, `${prefixOf(store)}/`), []);
    });
  }

  it('applies object lock retention to single and multipart puts', async () => {
    const Bucket = `lock-${randomBytes(4).toString('hex')}`;
    await client.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true }));
    const e = s3();
    const store = track(new S3Store({
      bucket: Bucket, endpoint: e.endpoint, region: e.region, forcePathStyle: true, credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey },
      multipartThreshold: 5 * MiB, partSize: 5 * MiB, objectLock: { mode: 'GOVERNANCE', days: 7 },
    }));
    const started = Date.now();
    await store.put('single', once(Buffer.from('locked')));
    await store.put('multi', deterministicBody('lock', 6 * MiB));
    for (const Key of ['single', 'multi']) {
      const head = await client.send(new HeadObjectCommand({ Bucket, Key }));
      assert.equal(head.ObjectLockMode, 'GOVERNANCE', Key);
      const until = head.ObjectLockRetainUntilDate?.getTime() ?? 0;
      assert.ok(Math.abs(until - (started + 7 * 86_400_000)) < 120_000, `${Key}: retain until ${head.ObjectLockRetainUntilDate?.toISOString()}`);
    }
  });

  it('delete keeps an object under Object Lock retention or legal hold and says until when; an unlocked one goes', async () => {
    const Bucket = `lockdel-${randomBytes(4).toString('hex')}`;
    await client.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true }));
    const e = s3();
    const opts = { bucket: Bucket, endpoint: e.endpoint, region: e.region, forcePathStyle: true, credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey } };
    const locked = track(new S3Store({ ...opts, objectLock: { mode: 'GOVERNANCE', days: 1 } }));
    const plain = track(new S3Store(opts));
    await locked.put('locked', once(Buffer.from('kept')));
    await plain.put('held', once(Buffer.from('held')));
    await client.send(new PutObjectLegalHoldCommand({ Bucket, Key: 'held', LegalHold: { Status: 'ON' } }));
    await plain.put('free', once(Buffer.from('free')));
    const until = (await client.send(new HeadObjectCommand({ Bucket, Key: 'locked' }))).ObjectLockRetainUntilDate?.toISOString();
    assert.ok(until !== undefined);
    assert.deepEqual(await plain.delete('locked'), { outcome: 'retained', until, reason: 'S3 Object Lock GOVERNANCE retention' });
    assert.deepEqual(await plain.delete('held'), { outcome: 'retained', until: null, reason: 'S3 Object Lock legal hold' });
    assert.deepEqual(await plain.delete('free'), { outcome: 'deleted' });
    assert.equal((await readAll(plain, 'locked')).toString(), 'kept');
    assert.equal((await readAll(plain, 'held')).toString(), 'held');
    assert.equal(await plain.head('free'), undefined);
    // What VersityGW itself enforces: deleting the locked version directly is refused (the store never tries).
    const version = (await client.send(new HeadObjectCommand({ Bucket, Key: 'locked' }))).VersionId;
    await assert.rejects(client.send(new DeleteObjectCommand({ Bucket, Key: 'locked', ...(version === undefined ? {} : { VersionId: version }) })), /AccessDenied|locked|retention|WORM/i);
    await client.send(new PutObjectLegalHoldCommand({ Bucket, Key: 'held', LegalHold: { Status: 'OFF' } }));
    assert.deepEqual(await plain.delete('held'), { outcome: 'deleted' });
  });

  it('reads credentials from the SDK default chain (a shared credentials file) when opened from a URL', async () => {
    const env = credentialsEnv();
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    try {
      const store = openStore(storeUrlFor(uniquePrefix('chain'))) as S3Store;
      track(store);
      await store.put('k', once(Buffer.from('via the default chain')));
      assert.equal((await readAll(store, 'k')).toString(), 'via the default chain');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('fails fast on NoSuchBucket, naming bucket and key', async () => {
    const e = s3();
    const store = track(new S3Store({
      bucket: 'no-such-bucket-here', prefix: 'p', endpoint: e.endpoint, region: e.region, forcePathStyle: true,
      credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey },
    }));
    await assert.rejects(store.put('binlogs/x', once(Buffer.from('x'))), (err: unknown) => {
      assert.ok(err instanceof ArchiverError);
      assert.equal(err.code, 'ESTORE');
      assert.match(err.message, /S3 PutObject failed: NoSuchBucket \(HTTP 404\)/);
      assert.match(err.message, /while writing s3:\/\/no-such-bucket-here\/p\/binlogs\/x/);
      assert.match(err.hint ?? '', /bucket no-such-bucket-here does not exist at http:\/\/127\.0\.0\.1:\d+: create it or fix --store/);
      return true;
    });
    assert.equal(store.metrics.totalRetries(), 0);
    assert.deepEqual(store.metrics.attempts, { HeadObject: 1, PutObject: 1 });
  });

  it('fails fast on a wrong secret (HTTP 403), naming bucket and key, for put, get and list', async () => {
    const e = s3();
    const store = track(new S3Store({
      bucket: e.bucket, prefix: 'p', endpoint: e.endpoint, region: e.region, forcePathStyle: true,
      credentials: { accessKeyId: e.accessKeyId, secretAccessKey: `${e.secretAccessKey}-wrong` },
    }));
    const denied = (what: RegExp) => (err: unknown): boolean => {
      assert.ok(err instanceof ArchiverError);
      assert.equal(err.code, 'ESTORE');
      assert.match(err.message, /failed: (AccessDenied|SignatureDoesNotMatch) \(HTTP 403\)/);
      assert.match(err.message, what);
      assert.match(err.hint ?? '', /default chain/);
      return true;
    };
    await assert.rejects(store.put('binlogs/x', once(Buffer.from('x'))), denied(new RegExp(`while writing s3://${e.bucket}/p/binlogs/x`)));
    await assert.rejects(readAll(store, 'binlogs/x'), denied(new RegExp(`while reading s3://${e.bucket}/p/binlogs/x`)));
    await assert.rejects(async () => {
      for await (const _ of store.list('binlogs/')) break;
    }, denied(new RegExp(`while listing s3://${e.bucket}/p/binlogs/`)));
    assert.equal(store.metrics.totalRetries(), 0);
    assert.equal(store.metrics.totalAttempts(), 3);
  });

  it('hides its upload state from list and refuses keys under .uploads/', async () => {
    const store = track(testStore({ name: 'hidden' }));
    await assert.rejects(store.put('.uploads/x.json', once(Buffer.from('x'))), /reserved for the S3 store's upload state/);
    await store.replace('a', Buffer.from('1'));
    await client.send(new PutObjectCommand({ Bucket: s3().bucket, Key: `${prefixOf(store)}/.uploads/zz.json`, Body: '{}' }));
    const keys: string[] = [];
    for await (const info of store.list('')) keys.push(info.key);
    assert.deepEqual(keys, ['a']);
    assert.deepEqual(await allKeys(client, `${prefixOf(store)}/`), [`${prefixOf(store)}/.uploads/zz.json`, `${prefixOf(store)}/a`]);
  });
});
