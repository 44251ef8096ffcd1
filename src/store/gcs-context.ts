/**
 * What the parts of the GCS store share: the @google-cloud/storage client (its own retries off: ours count and
 * bound them, s3-retry.ts with the GCS classification of gcs-errors.ts), the bucket and prefix, metrics, and
 * the plain requests to a resumable session URI (the URI is the session's credential: no auth header goes
 * with them, and it is never logged).
 */
import { type Bucket, Storage } from '@google-cloud/storage';
import { ArchiverError } from '../errors.ts';
import { classifyGcs, gcsFailure, GcsHttpError } from './gcs-errors.ts';
import type { ResolvedGcsOptions } from './gcs-options.ts';
import { assertValidKey } from './object-store.ts';
import { S3Metrics } from './s3-metrics.ts';
import { type RequestSpec, type RetryDeps, withRetries } from './s3-retry.ts';

/** Where resume state lives, below the store's prefix; hidden from list and refused as an object key. */
export const UPLOADS_DIR = '.uploads';

export interface GcsContext extends RetryDeps {
  storage: Storage;
  bucketRef: Bucket;
  options: ResolvedGcsOptions;
  fullKey(key: string): string;
  describe(key: string): string;
  request<T>(spec: RequestSpec, send: () => Promise<T>): Promise<T>;
  /** One request to a session URI; a non-2xx/308 answer is a GcsHttpError. */
  session(uri: string, init: { method: string; headers?: Record<string, string>; body?: Buffer }): Promise<Response>;
}

export function createGcsContext(options: ResolvedGcsOptions): GcsContext {
  const storage = new Storage({
    ...(options.endpoint === undefined ? {} : { apiEndpoint: options.endpoint, useAuthWithCustomEndpoint: false }),
    retryOptions: { autoRetry: false, maxRetries: 0 },
    timeout: options.requestTimeoutMs,
  });
  const base = options.prefix === '' ? '' : `${options.prefix}/`;
  const metrics = new S3Metrics();
  const deps: RetryDeps = {
    bucket: options.bucket, endpoint: options.endpoint, policy: options.retry, timing: options.timing, metrics, onEvent: options.onEvent,
    errors: { classify: classifyGcs, failure: gcsFailure },
  };
  return {
    ...deps,
    storage,
    bucketRef: storage.bucket(options.bucket),
    options,
    fullKey(key: string): string {
      try {
        assertValidKey(key);
      } catch (err) {
        throw new ArchiverError('EUSAGE', (err as Error).message, { cause: err });
      }
      if (Buffer.byteLength(base + key) > 1024) throw new ArchiverError('EUSAGE', `invalid object key ${JSON.stringify(key)}: GCS object names are at most 1024 bytes`);
      return base + key;
    },
    describe(key: string): string {
      return `gs://${options.bucket}/${base}${key}`;
    },
    request: <T>(spec: RequestSpec, send: () => Promise<T>) => withRetries(deps, spec, send),
    async session(uri, init) {
      const res = await fetch(uri, {
        method: init.method, headers: init.headers ?? {}, ...(init.body === undefined ? {} : { body: init.body }),
        signal: AbortSignal.timeout(options.requestTimeoutMs), redirect: 'manual',
      });
      if ((res.status >= 200 && res.status < 300) || res.status === 308 || res.status === 499) return res;
      const text = await res.text().catch(() => '');
      let reason = '';
      try {
        reason = String((JSON.parse(text) as { error?: { errors?: { reason?: string }[] } }).error?.errors?.[0]?.reason ?? '');
      } catch {
        // Not JSON: the status says enough.
      }
      throw new GcsHttpError(res.status, reason, `HTTP ${res.status}: ${text.slice(0, 300).trim()}`);
    },
  };
}

/** Rejects keys inside the store's own resume-state directory. */
export function assertObjectKey(key: string): void {
  if (key === UPLOADS_DIR || key.startsWith(`${UPLOADS_DIR}/`)) {
    throw new ArchiverError('EUSAGE', `invalid object key ${JSON.stringify(key)}: ${UPLOADS_DIR}/ is reserved for the GCS store's upload state`);
  }
}
