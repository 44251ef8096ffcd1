/**
 * The S3 store through a fault-injecting proxy in front of the real VersityGW: 503 SlowDown, 500, reset
 * connections, stalls, lost responses, damaged bodies and a lying ETag, on a schedule. Uploads complete,
 * every fault costs exactly one counted retry, and the backoff delays recorded through the timing seam grow
 * (caps double) with full jitter.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { once, readAll } from '../../src/store/object-store.ts';
import type { S3StoreOptions } from '../../src/store/s3-options.ts';
import type { S3Store } from '../../src/store/s3-store.ts';
import { FaultProxy, scripted } from '../support/fault-proxy.ts';
import { skipUnlessIn } from '../support/testenv.ts';
import {
  MiB, allKeys, deterministicBody, deterministicBytes, incompleteUploads, prefixOf, rawClient, s3, sha256Of, sha256OfDeterministic, testStore,
} from './helpers.ts';

describe('S3 store under injected faults', { skip: skipUnlessIn('s3') }, () => {
  let proxy: FaultProxy;
  let endpoint: string;
  const client = (): ReturnType<typeof rawClient> => rawClient();
  const stores: S3Store[] = [];

  before(async () => {
    proxy = new FaultProxy(s3().endpoint);
    endpoint = await proxy.listen();
  });
  after(async () => {
    for (const s of stores) s.destroy();
    await proxy?.close();
  });

  function proxied(name: string, options: Partial<S3StoreOptions> = {}): S3Store {
    const slept: number[] = [];
    const store = testStore({
      name, endpoint, multipartThreshold: 5 * MiB, partSize: 5 * MiB, concurrency: 2, socketTimeoutMs: 5000, // only the injected stall may reach it, on a loaded machine too
      retry: { baseDelayMs: 25, maxDelayMs: 2000, maxAttempts: 8 },
      timing: { sleep: (ms) => new Promise((r) => setTimeout(r, ms)).then(() => void slept.push(ms)) },
      ...options,
    });
    stores.push(store);
    return store;
  }

  it('completes a resumable multipart upload and its read-back through SlowDown, 500s, resets, a stall and a lost response', async (t) => {
    const store = proxied('faults');
    const size = 22 * MiB + 77; // 5 parts of 5 MiB
    proxy.log.length = 0;
    proxy.schedule = scripted({
      HeadObject: ['slowdown', 'slowdown', 'slowdown', 'slowdown'],
      ListMultipartUploads: ['internal'],
      CreateMultipartUpload: ['reset'],
      PutObject: ['slowdown'], // the upload state object
      UploadPart: ['slowdown', 'reset', 'stall', 'slowdown', 'internal'],
      CompleteMultipartUpload: ['reset-after-forward'], // S3 completed it, the answer never arrived
      GetObject: ['reset-after-forward'],
    });
    const res = await store.put('binlogs/src/0000000001-big.blarc', deterministicBody('faults', size), { resumable: true, resumeMeta: { run: 'a' } });
    assert.equal(res.size, size);
    assert.equal(res.parts, 5);
    assert.equal(res.sha256, sha256OfDeterministic('faults', size));
    const back = await sha256Of(store.get('binlogs/src/0000000001-big.blarc'));
    assert.deepEqual(back, { sha256: res.sha256, size });

    const injected = proxy.faults();
    assert.equal(injected.length, 14);
    const m = store.metrics;
    assert.equal(m.totalRetries(), injected.length, JSON.stringify(m.retries));
    // A 503 to HEAD has no body, so no error code: it counts as "HTTP 503".
    assert.deepEqual(m.retries, { 'HTTP 503': 4, SlowDown: 3, InternalError: 2, ECONNRESET: 4, timeout: 1 });
    assert.equal(m.attempts.UploadPart, 5 + 5);
    assert.equal(m.partsUploaded, 5);
    // The retried Complete met NoSuchUpload (the first one had succeeded); HEAD showed the object is ours.
    assert.equal(m.attempts.CompleteMultipartUpload, 2);

    // The four consecutive SlowDowns of the first HEAD: caps double from baseDelayMs, delays are jittered below them.
    const head = m.backoffs.filter((b) => b.operation === 'HeadObject');
    assert.deepEqual(head.map((b) => [b.retry, b.capMs]), [[1, 25], [2, 50], [3, 100], [4, 200]]);
    for (const b of m.backoffs) assert.ok(b.delayMs >= 0 && b.delayMs <= b.capMs, JSON.stringify(b));
    assert.ok(new Set(m.backoffs.map((b) => b.delayMs / b.capMs)).size > 1, 'delays are jittered, not fixed fractions of the cap');
    t.diagnostic(`retries ${JSON.stringify(m.retries)}; HEAD backoffs (cap -> delay ms): ${head.map((b) => `${b.capMs}->${b.delayMs}`).join(', ')}`);
    t.diagnostic(`all backoffs: ${m.backoffs.map((b) => `${b.operation}#${b.retry} ${b.capMs}->${b.delayMs} (${b.reason})`).join('; ')}`);

    const c = client();
    assert.deepEqual(await incompleteUploads(c, `${prefixOf(store)}/`), []);
    assert.deepEqual(await allKeys(c, `${prefixOf(store)}/.uploads/`), []);
    c.destroy();
  });

  it('gives up on a fault that does not pass: ESTOREUNAVAILABLE naming bucket, key and part, and the upload is aborted', async () => {
    const store = proxied('unavailable', { retry: { baseDelayMs: 5, maxDelayMs: 50, maxAttempts: 4 } });
    proxy.schedule = ({ operation }) => (operation === 'UploadPart' ? 'slowdown' : 'pass');
    await assert.rejects(store.put('binlogs/x', deterministicBody('unavail', 11 * MiB)), (err: unknown) => {
      assert.ok(err instanceof ArchiverError);
      assert.equal(err.code, 'ESTOREUNAVAILABLE');
      assert.match(err.message, /S3 UploadPart kept failing: SlowDown \(HTTP 503\) after 4 attempts/);
      assert.match(err.message, new RegExp(`while uploading part \\d of s3://${s3().bucket}/${prefixOf(store)}/binlogs/x`));
      assert.equal(err.context.bucket, s3().bucket);
      return true;
    });
    proxy.schedule = () => 'pass';
    assert.equal(await store.head('binlogs/x'), undefined);
    const c = client();
    assert.deepEqual(await incompleteUploads(c, `${prefixOf(store)}/`), []);
    c.destroy();
  });

  it('keeps a resumable upload across a store failure; the rerun checks every listed part and re-sends only missing or different ones', async () => {
    const store = proxied('resume-verify', { concurrency: 1, retry: { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 2 } });
    const size = 27 * MiB + 5; // 6 parts
    let passed = 0;
    proxy.schedule = ({ operation }) => (operation !== 'UploadPart' ? 'pass' : ++passed <= 3 ? 'pass' : 'internal');
    await assert.rejects(store.put('binlogs/r', deterministicBody('resume-a', size), { resumable: true, resumeMeta: { batch: 'b1' } }), { code: 'ESTOREUNAVAILABLE' });
    proxy.schedule = () => 'pass';
    const pending = await store.pendingUpload('binlogs/r');
    assert.ok(pending !== undefined);
    assert.deepEqual({ parts: pending.parts, bytes: pending.bytes, partSize: pending.partSize, meta: pending.meta }, { parts: 3, bytes: 15 * MiB, partSize: 5 * MiB, meta: { batch: 'b1' } });
    // Part 2 of the rerun differs from what S3 holds: it must be detected and sent again.
    async function* changedBody(): AsyncIterable<Buffer> {
      for (let at = 0; at < size; at += MiB) {
        await Promise.resolve();
        yield deterministicBytes(at >= 5 * MiB && at < 10 * MiB ? 'resume-b' : 'resume-a', at, Math.min(MiB, size - at));
      }
    }
    const before = { ...store.metrics.attempts };
    const res = await store.put('binlogs/r', changedBody(), { resumable: true, resumeMeta: { batch: 'b1' } });
    assert.deepEqual([res.resumed, res.partsSkipped, res.partsReuploaded, res.partsUploaded], [true, 2, 1, 3]);
    assert.equal((store.metrics.attempts.UploadPart ?? 0) - (before.UploadPart ?? 0), 4);
    assert.deepEqual(await sha256Of(store.get('binlogs/r')), await sha256Of(changedBody()));
    assert.equal(await store.pendingUpload('binlogs/r'), undefined);
  });

  it('treats a conflict after a lost PutObject response as success when the object holds exactly our bytes', async () => {
    const store = proxied('lost-put');
    proxy.schedule = scripted({ PutObject: ['reset-after-forward'] });
    const data = Buffer.from('manifest entry\n');
    const res = await store.put('manifest/a.json', once(data));
    assert.equal(res.size, data.length);
    assert.equal(store.metrics.attempts.PutObject, 2);
    assert.equal(store.metrics.retries.ECONNRESET, 1);
    assert.equal((await readAll(store, 'manifest/a.json')).toString(), data.toString());
    // A real conflict is still one.
    await assert.rejects(store.put('manifest/a.json', once(data)), { code: 'ECONFLICT' });
  });

  // Bodies go unsigned (UNSIGNED-PAYLOAD): what catches a damaged one is the server's check of the signed
  // Content-MD5 header, which answers BadDigest.
  it('fails with ESTORE after a body damaged in transit was rejected twice with BadDigest', async (t) => {
    const store = proxied('digest');
    proxy.schedule = ({ operation }) => (operation === 'PutObject' ? 'corrupt-body' : 'pass');
    await assert.rejects(store.put('x/damaged', once(Buffer.alloc(4096, 7))), (err: unknown) => {
      assert.ok(err instanceof ArchiverError);
      assert.equal(err.code, 'ESTORE');
      assert.match(err.message, /S3 PutObject rejected the body 2 times: BadDigest/);
      t.diagnostic(`damaged body: ${err.message}`);
      assert.match(err.message, new RegExp(`s3://${s3().bucket}/${prefixOf(store)}/x/damaged`));
      return true;
    });
    assert.equal(store.metrics.attempts.PutObject, 2);
    proxy.schedule = () => 'pass';
    assert.equal(await store.head('x/damaged'), undefined);
  });

  it('sends bodies as UNSIGNED-PAYLOAD by default, and with their SHA-256 in the signature when signPayloads is set', async () => {
    const size = 11 * MiB;
    for (const signPayloads of [false, true]) {
      proxy.log.length = 0;
      proxy.schedule = () => 'pass';
      const store = proxied(`signing-${signPayloads}`, { signPayloads });
      await store.put('x/signed', deterministicBody('signing', size));
      await store.put('x/small', once(Buffer.from('small body')));
      const bodies = proxy.log.filter((r) => r.operation === 'UploadPart' || r.operation === 'PutObject');
      assert.deepEqual(bodies.map((r) => r.operation).sort(), ['PutObject', 'UploadPart', 'UploadPart', 'UploadPart']);
      for (const r of bodies) {
        if (signPayloads) assert.equal(r.contentSha256, r.bodySha256, `${r.operation} signs the SHA-256 of its body`);
        else assert.equal(r.contentSha256, 'UNSIGNED-PAYLOAD', r.operation);
      }
      assert.deepEqual(await sha256Of(store.get('x/signed')), { sha256: sha256OfDeterministic('signing', size), size });
    }
  });

  it('sends a part damaged in transit again after BadDigest, and the object is exact', async (t) => {
    const store = proxied('digest-part');
    const size = 12 * MiB + 5;
    proxy.log.length = 0;
    proxy.schedule = scripted({ UploadPart: ['pass', 'corrupt-body'] });
    const res = await store.put('x/part-damaged', deterministicBody('digest-part', size));
    assert.equal(res.size, size);
    assert.equal(store.metrics.retries.BadDigest, 1);
    assert.equal(store.metrics.attempts.UploadPart, 4); // 3 parts, one sent twice
    t.diagnostic(`retries ${JSON.stringify(store.metrics.retries)}`);
    assert.deepEqual(await sha256Of(store.get('x/part-damaged')), { sha256: sha256OfDeterministic('digest-part', size), size });
  });

  it('continues a download cut off half-way from the byte where it broke (Range + If-Match)', async (t) => {
    const store = proxied('truncate');
    proxy.schedule = () => 'pass';
    const size = 7 * MiB + 3;
    await store.put('x/read', deterministicBody('truncate', size));
    proxy.log.length = 0;
    proxy.schedule = scripted({ GetObject: ['truncate-response', 'truncate-response'] });
    assert.deepEqual(await sha256Of(store.get('x/read')), { sha256: sha256OfDeterministic('truncate', size), size });
    assert.deepEqual(proxy.log.filter((r) => r.operation === 'GetObject').map((r) => r.fault), ['truncate-response', 'truncate-response', 'pass']);
    assert.equal(store.metrics.attempts.GetObject, 3);
    assert.equal(store.metrics.totalRetries(), 2);
    t.diagnostic(`cut-off downloads retried as ${JSON.stringify(store.metrics.retries)}`);
  });

  it('refuses an object whose ETag on the server is not the one computed locally (EVERIFY)', async () => {
    const store = proxied('etag');
    proxy.schedule = scripted({ HeadObject: ['pass', 'wrong-etag'] });
    await assert.rejects(store.put('x/etag', once(Buffer.from('abc'))), (err: unknown) => {
      assert.ok(err instanceof ArchiverError);
      assert.equal(err.code, 'EVERIFY');
      assert.match(err.message, /ETag 00000000000000000000000000000000 != 900150983cd24fb0d6963f7d28e17f72/);
      return true;
    });
    proxy.schedule = () => 'pass';
  });
});
