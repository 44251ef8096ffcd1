/**
 * `gs://bucket/prefix`: the ObjectStore on Google Cloud Storage (JSON API, @google-cloud/storage). Credentials
 * come only from the Google auth library's default chain (Workload Identity on GKE, GOOGLE_APPLICATION_CREDENTIALS);
 * requests to an explicit `endpoint` (a test server) carry none. Bodies below the resumable threshold go up in
 * one request with their CRC32C and MD5 declared; larger ones as a resumable upload (gcs-upload.ts). Nothing is
 * overwritten (ifGenerationMatch=0), and after every put the server's size, CRC32C and MD5 are compared with
 * the local ones. Reads check the object's CRC32C.
 */
import { CRC32C } from '@google-cloud/storage';
import type { Readable } from 'node:stream';
import { ArchiverError } from '../errors.ts';
import { type GcsContext, UPLOADS_DIR, assertObjectKey, createGcsContext } from './gcs-context.ts';
import { type GcsStoreOptions, resolveGcsOptions } from './gcs-options.ts';
import { deleteState, readState, sessionId } from './gcs-resume.ts';
import { sessionStatus } from './gcs-session.ts';
import { putResumable } from './gcs-upload.ts';
import { assertAbsent, assertStored, headObject, objectMeta, putSingle } from './gcs-write.ts';
import type { DeleteResult, ObjectInfo, ObjectStore, PendingUpload, PutOptions, PutResult, StoreRequestStats } from './object-store.ts';
import { deleteGcsObject } from './gcs-delete.ts';
import { BodyFailure, BodyReader } from './s3-body.ts';
import type { S3Metrics } from './s3-metrics.ts';
import { RetryBudget } from './s3-retry.ts';

export interface GcsPutResult extends PutResult {
  crc32c: string;
  md5: string;
  /** Requests the body went up in: 1 for a one-request upload, else the resumable chunks. */
  parts: number;
  partsUploaded: number;
  partsSkipped: number;
  partsReuploaded: number;
  resumed: boolean;
}

/**
 * The listeners @google-cloud/storage 8 and teeny-request 11 (node-fetch 3) hang on each download's response body
 * beyond node-fetch's own: the library consumes that one stream twice (pipeline into its request stream and into
 * the stream it returns), and each pipeline puts error and close listeners on it. With node-fetch's and
 * teeny-request's own, a download still streaming when both attach has 11 (Node warns above 10): a fixed count
 * per request, not one per chunk, freed when the request ends (googleapis/google-cloud-node#9185; upstream's
 * proposed fix lifts the limit on that same stream). So the limit of that short-lived stream, and only of it, is
 * raised by exactly what the library adds: a real leak on it would still warn.
 */
const LIBRARY_LISTENERS = 6;

function allowLayeredListeners(response: unknown): void {
  const body = response as Partial<Pick<NodeJS.EventEmitter, 'getMaxListeners' | 'setMaxListeners'>>;
  if (typeof body.setMaxListeners === 'function' && typeof body.getMaxListeners === 'function') body.setMaxListeners(body.getMaxListeners() + LIBRARY_LISTENERS);
}

export class GcsStore implements ObjectStore {
  readonly url: string;
  readonly #ctx: GcsContext;

  constructor(options: GcsStoreOptions) {
    this.#ctx = createGcsContext(resolveGcsOptions(options));
    const { bucket, prefix, endpoint } = this.#ctx.options;
    this.url = `gs://${bucket}${prefix === '' ? '' : `/${prefix}`}${endpoint === undefined ? '' : `?endpoint=${encodeURIComponent(endpoint)}`}`;
  }

  /** Request, retry and chunk counters of this store (the S3 store's shape, chunks counted as parts). */
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

  #name(key: string): string {
    assertObjectKey(key);
    return this.#ctx.fullKey(key);
  }

  async put(key: string, body: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<GcsPutResult> {
    const ctx = this.#ctx;
    this.#name(key);
    const what = `writing ${this.describe(key)}`;
    await assertAbsent(ctx, key, what);
    const reader = new BodyReader(body);
    try {
      await reader.fill(ctx.options.resumableThreshold);
    } catch (err) {
      await reader.close();
      throw err instanceof BodyFailure ? err.error : err;
    }
    if (reader.done) {
      const data = reader.take(reader.buffered);
      const digest = await putSingle(ctx, key, data, { create: true, what });
      assertStored(ctx, key, digest, await headObject(ctx, key, `confirming ${this.describe(key)}`), `confirming ${this.describe(key)}`);
      reader.dispose();
      return { size: digest.size, sha256: reader.sha256(), crc32c: digest.crc32c, md5: digest.md5, parts: 1, partsUploaded: 1, partsSkipped: 0, partsReuploaded: 0, resumed: false };
    }
    try {
      const out = await putResumable({ ctx, key, reader, resumable: options.resumable === true, meta: options.resumeMeta ?? {} });
      return {
        size: out.digest.size, sha256: reader.sha256(), crc32c: out.digest.crc32c, md5: out.digest.md5, parts: out.chunks,
        partsUploaded: out.uploaded, partsSkipped: out.skipped, partsReuploaded: 0, resumed: out.resumed,
      };
    } finally {
      await reader.close();
      reader.dispose();
    }
  }

  /**
   * Streams one generation of the object, checking its CRC32C at the end. A connection lost mid-way is
   * retried from the byte where it broke, pinned to the same generation, within one retry budget.
   */
  async *get(key: string): AsyncIterable<Buffer> {
    const ctx = this.#ctx;
    const name = this.#name(key);
    const what = `reading ${this.describe(key)}`;
    const meta = await headObject(ctx, key, what);
    if (meta === undefined) throw new ArchiverError('ENOTFOUND', `${this.describe(key)} does not exist (while ${what})`, { context: { bucket: ctx.bucket, key: name } });
    const file = ctx.bucketRef.file(name, meta.generation === undefined ? {} : { generation: Number(meta.generation) });
    const budget = new RetryBudget(ctx, { operation: 'objects.get', key: name, what });
    const crc = new CRC32C();
    let offset = 0;
    while (offset < meta.size) {
      budget.begin();
      let stream: Readable | undefined;
      try {
        stream = file.createReadStream({ validation: false, decompress: false, start: offset }).once('response', allowLayeredListeners);
        for await (const chunk of stream) {
          const buf = chunk as Buffer;
          crc.update(buf);
          offset += buf.length;
          yield buf;
        }
        break;
      } catch (err) {
        await budget.afterFailure(err);
      } finally {
        stream?.destroy();
      }
    }
    if (offset !== meta.size || (meta.crc32c !== undefined && crc.toString() !== meta.crc32c)) {
      throw new ArchiverError('EVERIFY', `${this.describe(key)}: the bytes read (${offset}, CRC32C ${crc.toString()}) are not the object's (${meta.size}, CRC32C ${meta.crc32c ?? '?'})`, {
        context: { bucket: ctx.bucket, key: name }, hint: 'read it again; if it persists the stored object is damaged',
      });
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    this.#name(key);
    const meta = await headObject(this.#ctx, key, `checking ${this.describe(key)}`);
    return meta === undefined ? undefined : { key, size: meta.size };
  }

  /** Like the file store, `prefix` names a directory: "a" lists "a/x", never "ab/x". Sorted by key. */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const ctx = this.#ctx;
    const dir = prefix.replace(/\/+$/, '');
    const base = ctx.options.prefix === '' ? '' : `${ctx.options.prefix}/`;
    const listPrefix = dir === '' ? base : `${ctx.fullKey(dir)}/`;
    let pageToken: string | undefined;
    do {
      const token = pageToken;
      const [files, next] = await ctx.request({ operation: 'objects.list', key: listPrefix, what: `listing gs://${ctx.bucket}/${listPrefix}` },
        () => ctx.bucketRef.getFiles({ prefix: listPrefix, autoPaginate: false, maxResults: 1000, ...(token === undefined ? {} : { pageToken: token }) }));
      for (const f of files) {
        const key = f.name.slice(base.length);
        if (key === '' || key.startsWith(`${UPLOADS_DIR}/`)) continue;
        yield { key, size: objectMeta(f.metadata).size };
      }
      const nextToken = (next as { pageToken?: unknown } | null | undefined)?.pageToken;
      pageToken = typeof nextToken === 'string' && nextToken !== '' ? nextToken : undefined;
    } while (pageToken !== undefined);
  }

  /** Overwrites: derived documents only. One upload request is atomic on GCS. */
  async replace(key: string, data: Buffer): Promise<void> {
    this.#name(key);
    await putSingle(this.#ctx, key, data, { create: false, what: `writing ${this.describe(key)}` });
  }

  /** Retention and holds are reported, not touched (gcs-delete.ts). */
  async delete(key: string): Promise<DeleteResult> {
    this.#name(key);
    return deleteGcsObject(this.#ctx, key);
  }

  /** The resumable upload an earlier process left for `key`, if its session is still open. */
  async pendingUpload(key: string): Promise<PendingUpload | undefined> {
    const ctx = this.#ctx;
    this.#name(key);
    const state = await readState(ctx, key);
    if (state === undefined) return undefined;
    const status = await sessionStatus(ctx, key, state.uri);
    if (status.state !== 'active') {
      await deleteState(ctx, key).catch(() => undefined);
      return undefined;
    }
    return {
      uploadId: sessionId(state.uri), createdAt: state.createdAt, partSize: state.chunkSize,
      parts: Math.floor(status.offset / state.chunkSize), bytes: status.offset, meta: { ...state.meta },
    };
  }
}

export function isGcsStore(store: ObjectStore): store is GcsStore {
  return store instanceof GcsStore;
}
