/**
 * What the parts of the S3 store share: the SDK client (its own retries off: ours count and bound them), the
 * bucket and prefix, metrics, and `request`, which sends one logical request through the retry budget.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { ArchiverError } from '../errors.ts';
import { assertValidKey } from './object-store.ts';
import { S3Metrics } from './s3-metrics.ts';
import type { ResolvedS3Options } from './s3-options.ts';
import { type RequestSpec, type RetryDeps, withRetries } from './s3-retry.ts';

/** Where resume state lives, below the store's prefix; hidden from list and refused as an object key. */
export const UPLOADS_DIR = '.uploads';

export interface S3Context extends RetryDeps {
  client: S3Client;
  options: ResolvedS3Options;
  /** The bucket key of an object key (prefix applied); validates the key. */
  fullKey(key: string): string;
  /** `s3://bucket/prefix/key`, for messages. */
  describe(key: string): string;
  request<T>(spec: RequestSpec, send: () => Promise<T>): Promise<T>;
}

export function createS3Context(options: ResolvedS3Options): S3Context {
  const client = new S3Client({
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    forcePathStyle: options.forcePathStyle,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: options.connectionTimeoutMs, socketTimeout: options.socketTimeoutMs },
    // The SDK adds a CRC32 of every body it sends, beside our Content-MD5; S3 checks both.
    requestChecksumCalculation: 'WHEN_SUPPORTED',
    responseChecksumValidation: 'WHEN_SUPPORTED',
  });
  if (!options.signPayloads) unsignedPayloads(client);
  const base = options.prefix === '' ? '' : `${options.prefix}/`;
  const metrics = new S3Metrics();
  const deps: RetryDeps = { bucket: options.bucket, endpoint: options.endpoint, policy: options.retry, timing: options.timing, metrics, onEvent: options.onEvent };
  return {
    ...deps,
    client,
    options,
    fullKey(key: string): string {
      try {
        assertValidKey(key);
      } catch (err) {
        throw new ArchiverError('EUSAGE', (err as Error).message, { cause: err });
      }
      if (Buffer.byteLength(base + key) > 1024) throw new ArchiverError('EUSAGE', `invalid object key ${JSON.stringify(key)}: S3 keys are at most 1024 bytes`);
      return base + key;
    },
    describe(key: string): string {
      return `s3://${options.bucket}/${base}${key}`;
    },
    request: <T>(spec: RequestSpec, send: () => Promise<T>) => withRetries(deps, spec, send),
  };
}

/**
 * Bodies are sent with `x-amz-content-sha256: UNSIGNED-PAYLOAD` instead of a SHA-256 of every byte in the
 * signature: their integrity is already checked by the server against the signed Content-MD5 and CRC32 headers
 * (a damaged body is refused with BadDigest), and hashing each part a third time cost both this process and the
 * server CPU that the compression needs. Over plain HTTP the signature still covers the method, key and headers.
 * `signPayloads` turns this off, for bucket policies that refuse unsigned payloads.
 */
function unsignedPayloads(client: S3Client): void {
  client.middlewareStack.add((next) => async (args) => {
    const request = args.request as { headers?: Record<string, string>; body?: unknown };
    if (request.headers !== undefined && ArrayBuffer.isView(request.body)) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    return next(args);
  }, { step: 'build', name: 'binlogArchiverUnsignedPayload' });
}

/** Rejects keys inside the store's own resume-state directory. */
export function assertObjectKey(key: string): void {
  if (key === UPLOADS_DIR || key.startsWith(`${UPLOADS_DIR}/`)) {
    throw new ArchiverError('EUSAGE', `invalid object key ${JSON.stringify(key)}: ${UPLOADS_DIR}/ is reserved for the S3 store's upload state`);
  }
}
