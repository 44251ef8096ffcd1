/**
 * `s3://bucket/prefix`: the ObjectStore on S3 (AWS or any S3-compatible server). Credentials come only from the
 * SDK's default chain. Bodies below the multipart threshold are buffered and sent as one PutObject; larger ones
 * as a multipart upload, resumable on request (s3-multipart.ts). Nothing is overwritten (If-None-Match: *, or a
 * HEAD check), and after every put the server's size, ETag and CRC32 are compared with local ones.
 */
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { ArchiverError } from '../errors.ts';
import type { Readable } from 'node:stream';
import { type DeleteResult, type ObjectInfo, type ObjectStore, type PendingUpload, type PutOptions, type PutResult, type StoreRequestStats, retainedAt } from './object-store.ts';
import { BodyFailure, BodyReader } from './s3-body.ts';
import { digestPart } from './s3-checksums.ts';
import { type S3Context, UPLOADS_DIR, assertObjectKey, createS3Context } from './s3-context.ts';
import type { S3Metrics } from './s3-metrics.ts';
import { putMultipart } from './s3-multipart.ts';
import { type S3StoreOptions, resolveS3Options } from './s3-options.ts';
import { RetryBudget } from './s3-retry.ts';
import { abortUpload, deleteState, listParts, listUploads, readState, uploadsOf } from './s3-resume.ts';
import { assertAbsent, confirmStored, headObject, putSingle } from './s3-write.ts';

export interface S3PutResult extends PutResult {
  etag: string;
  /** 1 for a single PutObject. */
  parts: number;
  partsUploaded: number;
  partsSkipped: number;
  partsReuploaded: number;
  resumed: boolean;
}

export class S3Store implements ObjectStore {
  readonly url: string;
  readonly #ctx: S3Context;

  constructor(options: S3StoreOptions) {
    this.#ctx = createS3Context(resolveS3Options(options));
    const { bucket, prefix, endpoint } = this.#ctx.options;
    this.url = `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}${endpoint === undefined ? '' : `?endpoint=${encodeURIComponent(endpoint)}`}`;
  }

  /** Request, retry and part counters of this store. */
  get metrics(): S3Metrics {
    return this.#ctx.metrics;
  }

  describe(key: string): string {
    return this.#ctx.describe(key);
  }

  requestStats(): StoreRequestStats {
    const m = this.#ctx.metrics;
    return { requests: m.totalAttempts(), retries: { ...m.retries } };
  }

  #key(key: string): string {
    assertObjectKey(key);
    return this.#ctx.fullKey(key);
  }

  async put(key: string, body: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<S3PutResult> {
    const ctx = this.#ctx;
    this.#key(key);
    await assertAbsent(ctx, key, `writing ${this.describe(key)}`);
    const reader = new BodyReader(body);
    try {
      await reader.fill(ctx.options.multipartThreshold);
    } catch (err) {
      await reader.close();
      throw err instanceof BodyFailure ? err.error : err;
    }
    if (reader.done) {
      const data = reader.take(reader.buffered);
      const expected = await putSingle(ctx, key, data, digestPart(data));
      reader.recycle(data);
      reader.dispose();
      await confirmStored(ctx, key, expected);
      return { size: expected.size, sha256: reader.sha256(), etag: expected.etag, parts: 1, partsUploaded: 1, partsSkipped: 0, partsReuploaded: 0, resumed: false };
    }
    let out: Awaited<ReturnType<typeof putMultipart>>;
    try {
      out = await putMultipart({ ctx, key, reader, resumable: options.resumable === true, meta: options.resumeMeta ?? {} });
    } finally {
      // Stops the producer (encoder workers) if the upload could not even start; a no-op once the body ended.
      await reader.close();
      reader.dispose();
    }
    return {
      size: out.expected.size, sha256: reader.sha256(), etag: out.expected.etag, parts: out.parts,
      partsUploaded: out.uploaded, partsSkipped: out.skipped, partsReuploaded: out.reuploaded, resumed: out.resumed,
    };
  }

  /**
   * Streams the object. A connection lost mid-way is retried from the byte where it broke (Range, If-Match on
   * the first ETag, so a replaced object is never spliced), within the same retry budget.
   */
  async *get(key: string): AsyncIterable<Buffer> {
    const ctx = this.#ctx;
    const Key = this.#key(key);
    const budget = new RetryBudget(ctx, { operation: 'GetObject', key: Key, what: `reading ${this.describe(key)}` });
    let offset = 0;
    let etag: string | undefined;
    for (;;) {
      budget.begin();
      let stream: Readable | undefined;
      try {
        const res = await ctx.client.send(new GetObjectCommand({
          Bucket: ctx.bucket, Key, ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}), ...(etag === undefined ? {} : { IfMatch: etag }),
        }));
        etag ??= res.ETag;
        stream = res.Body as Readable | undefined;
        if (stream === undefined) return;
        for await (const chunk of stream) {
          offset += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
        return;
      } catch (err) {
        await budget.afterFailure(err);
      } finally {
        stream?.destroy();
      }
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    this.#key(key);
    const res = await headObject(this.#ctx, key, `checking ${this.describe(key)}`);
    return res === undefined ? undefined : { key, size: res.ContentLength ?? 0 };
  }

  /** Like the file store, `prefix` names a directory: "a" lists "a/x", never "ab/x". Sorted by key. */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const ctx = this.#ctx;
    const dir = prefix.replace(/\/+$/, '');
    const base = ctx.options.prefix === '' ? '' : `${ctx.options.prefix}/`;
    const Prefix = dir === '' ? base : `${ctx.fullKey(dir)}/`;
    let ContinuationToken: string | undefined;
    do {
      const page = await ctx.request({ operation: 'ListObjectsV2', key: Prefix, what: `listing s3://${ctx.bucket}/${Prefix}` },
        () => ctx.client.send(new ListObjectsV2Command({ Bucket: ctx.bucket, Prefix, ContinuationToken })));
      for (const item of page.Contents ?? []) {
        const key = (item.Key ?? '').slice(base.length);
        if (key === '' || key.startsWith(`${UPLOADS_DIR}/`)) continue;
        yield { key, size: item.Size ?? 0 };
      }
      ContinuationToken = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (ContinuationToken !== undefined);
  }

  /** Overwrites: derived documents only. One PutObject is atomic on S3. */
  async replace(key: string, data: Buffer): Promise<void> {
    const ctx = this.#ctx;
    const Key = this.#key(key);
    const digest = digestPart(data);
    await ctx.request({ operation: 'PutObject', key: Key, what: `writing ${this.describe(key)}` }, () => ctx.client.send(new PutObjectCommand({
      Bucket: ctx.bucket, Key, Body: data, ContentLength: data.length, ContentMD5: digest.md5.toString('base64'), ChecksumCRC32: digest.crc32,
      ContentType: 'application/octet-stream',
    })));
  }

  /**
   * Object Lock is read from HEAD first (needs s3:GetObjectRetention and s3:GetObjectLegalHold to be shown): a
   * version under retention or legal hold is reported, not touched. The rest goes with a plain DeleteObject
   * (s3:DeleteObject): in a versioned bucket that adds a delete marker, and the bucket's lifecycle rule for
   * noncurrent versions frees the bytes. AccessDenied on an object HEAD showed a lock mode for is that lock.
   */
  async delete(key: string): Promise<DeleteResult> {
    const ctx = this.#ctx;
    const Key = this.#key(key);
    const what = `deleting ${this.describe(key)}`;
    const head = await headObject(ctx, key, what);
    if (head === undefined) return { outcome: 'absent' };
    const until = head.ObjectLockRetainUntilDate;
    const hold = head.ObjectLockLegalHoldStatus === 'ON' ? 'S3 Object Lock legal hold' : undefined;
    const retained = retainedAt(ctx.timing.now(), until, hold, `S3 Object Lock ${head.ObjectLockMode ?? ''} retention`.replace('  ', ' '));
    if (retained !== undefined) return retained;
    try {
      await ctx.request({ operation: 'DeleteObject', key: Key, what }, () => ctx.client.send(new DeleteObjectCommand({ Bucket: ctx.bucket, Key })));
    } catch (err) {
      const reason = err instanceof ArchiverError ? err.context.reason : undefined;
      if (reason === 'AccessDenied' && head.ObjectLockMode !== undefined) {
        return { outcome: 'retained', until: until?.toISOString() ?? null, reason: `S3 Object Lock ${head.ObjectLockMode} (AccessDenied on delete)` };
      }
      throw err;
    }
    return { outcome: 'deleted' };
  }

  /** The resumable upload an earlier process left for `key`, if S3 still has it. */
  async pendingUpload(key: string): Promise<PendingUpload | undefined> {
    const ctx = this.#ctx;
    const Key = this.#key(key);
    const state = await readState(ctx, key);
    if (state === undefined) return undefined;
    const what = `looking for an unfinished upload of ${this.describe(key)}`;
    if (!(await uploadsOf(ctx, Key, what)).some((u) => u.uploadId === state.uploadId)) return undefined;
    const parts = await listParts(ctx, Key, state.uploadId, what);
    let bytes = 0;
    for (const p of parts.values()) bytes += p.size;
    return { uploadId: state.uploadId, createdAt: state.createdAt, partSize: state.partSize, parts: parts.size, bytes, meta: { ...state.meta } };
  }

  /**
   * Aborts every incomplete multipart upload under the store's prefix started before `olderThanMs` ago, and
   * removes their state. For a periodic sweep; put already cleans up the key it writes.
   */
  async abortStaleUploads(options: { olderThanMs: number }): Promise<{ aborted: number }> {
    const ctx = this.#ctx;
    const base = ctx.options.prefix === '' ? '' : `${ctx.options.prefix}/`;
    const cutoff = ctx.timing.now() - options.olderThanMs;
    let aborted = 0;
    for (const u of await listUploads(ctx, base, `listing incomplete uploads under s3://${ctx.bucket}/${base}`)) {
      if (u.initiated !== undefined && u.initiated.getTime() > cutoff) continue;
      const key = u.key.slice(base.length);
      await abortUpload(ctx, key, u.uploadId, `older than ${options.olderThanMs} ms`);
      if (!key.startsWith(`${UPLOADS_DIR}/`)) await deleteState(ctx, key);
      aborted += 1;
    }
    return { aborted };
  }

  /** Closes the SDK client's sockets. */
  destroy(): void {
    this.#ctx.client.destroy();
  }
}

export function isS3Store(store: ObjectStore): store is S3Store {
  return store instanceof S3Store;
}
