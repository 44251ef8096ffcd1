/**
 * Options of the S3 store: every default in one place, validated with precise usage errors. The URL parser
 * (s3-url.ts) and programmatic callers (tests, the operator) both end up here.
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { ArchiverError } from '../errors.ts';

export const MiB = 1024 * 1024;
/** S3's own limits: parts of at least 5 MiB (except the last), at most 10,000 parts, single PUT up to 5 GiB. */
export const S3_MIN_PART_SIZE = 5 * MiB;
export const S3_MAX_PARTS = 10_000;
export const S3_MAX_SINGLE_PUT = 5 * 1024 * MiB;

export type ObjectLockMode = 'GOVERNANCE' | 'COMPLIANCE';

export interface RetryPolicy {
  /** Attempts per request, the first included. */
  maxAttempts: number;
  /** Backoff before retry n is uniform in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))] ("full jitter"). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** No retry starts after this long since the first attempt of the request. */
  maxElapsedMs: number;
  /** BadDigest (the body was damaged in transit) is retried this many times, then it is permanent. */
  digestRetries: number;
}

/** The clock/sleep/random seam: tests record backoff delays and fake the passage of time through it. */
export interface Timing {
  now(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

export type S3StoreEvent =
  | { type: 'retry'; operation: string; key: string; attempt: number; delayMs: number; capMs: number; reason: string }
  | { type: 'part'; key: string; partNumber: number; action: 'uploaded' | 'skipped' | 'reuploaded'; size: number }
  | { type: 'resume'; key: string; uploadId: string; partsListed: number }
  | { type: 'abort'; key: string; uploadId: string; reason: string };

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing '/'; '' for the bucket root. */
  prefix?: string;
  /** S3-compatible endpoint (http(s)://host[:port]); AWS when absent. */
  endpoint?: string;
  /** Region for signing; the SDK's default chain (AWS_REGION, the profile) when absent. */
  region?: string;
  forcePathStyle?: boolean;
  /** Bodies of this size or more go up as multipart uploads; smaller ones as one PutObject. */
  multipartThreshold?: number;
  partSize?: number;
  /** Parts uploading at the same time (memory: about (concurrency + 1) * partSize). */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
  /** A request with no socket activity for this long fails (and is retried). */
  socketTimeoutMs?: number;
  connectionTimeoutMs?: number;
  /** Use If-None-Match: * on PutObject/CompleteMultipartUpload; false: check with HEAD right before instead. */
  conditionalWrites?: boolean;
  /**
   * Put a SHA-256 of every body in the signature. Off by default: the server checks each body against its signed
   * Content-MD5 and CRC32 anyway. On for buckets whose policy refuses UNSIGNED-PAYLOAD, and servers without it.
   */
  signPayloads?: boolean;
  /** S3 Object Lock retention for every object written by put (not for replace: indexes are rewritten). */
  objectLock?: { mode: ObjectLockMode; days: number };
  /** Tests only. Otherwise credentials come from the SDK's default chain (IRSA, shared files, container). */
  credentials?: S3ClientConfig['credentials'];
  timing?: Partial<Timing>;
  onEvent?: (event: S3StoreEvent) => void;
}

export interface ResolvedS3Options {
  bucket: string;
  prefix: string;
  endpoint: string | undefined;
  region: string | undefined;
  forcePathStyle: boolean;
  multipartThreshold: number;
  partSize: number;
  concurrency: number;
  retry: RetryPolicy;
  socketTimeoutMs: number;
  connectionTimeoutMs: number;
  conditionalWrites: boolean;
  signPayloads: boolean;
  objectLock: { mode: ObjectLockMode; days: number } | undefined;
  credentials: S3StoreOptions['credentials'];
  timing: Timing;
  onEvent: (event: S3StoreEvent) => void;
}

export const S3_DEFAULTS = {
  // Two parts: a body is held in memory up to the threshold before a single PUT or a multipart upload starts,
  // so a high threshold costs that much RSS and delays the overlap of upload and compression (docs/PERFORMANCE.md).
  multipartThreshold: 16 * MiB,
  partSize: 8 * MiB,
  concurrency: 4,
  retry: { maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 20_000, maxElapsedMs: 120_000, digestRetries: 1 } satisfies RetryPolicy,
  socketTimeoutMs: 30_000,
  connectionTimeoutMs: 5_000,
  conditionalWrites: true,
  signPayloads: false,
  forcePathStyle: false,
} as const;

const realTiming: Timing = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
};

// DNS-compatible bucket names (the rules AWS enforces for new buckets).
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function usage(message: string, hint?: string): ArchiverError {
  return new ArchiverError('EUSAGE', message, hint === undefined ? {} : { hint });
}

function intIn(name: string, value: number, min: number, max: number, unit = ''): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw usage(`S3 store option ${name}=${value} is out of range`, `use an integer from ${min}${unit} to ${max}${unit}`);
  }
  return value;
}

export function assertBucketName(bucket: string): void {
  if (bucket === '') throw usage('the S3 store URL names no bucket', 'use s3://BUCKET[/PREFIX]');
  if (!BUCKET.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw usage(`S3 bucket name ${JSON.stringify(bucket)} is not valid`, '3-63 characters: lowercase letters, digits, "." and "-", starting and ending with a letter or digit');
  }
}

export function resolveS3Options(options: S3StoreOptions): ResolvedS3Options {
  assertBucketName(options.bucket);
  const prefix = options.prefix ?? '';
  if (prefix !== '' && (prefix.startsWith('/') || prefix.endsWith('/') || prefix.split('/').some((p) => p === '' || p === '.' || p === '..'))) {
    throw usage(`S3 key prefix ${JSON.stringify(prefix)} is not valid`, 'use names separated by single "/", without "." or ".." parts');
  }
  const retry: RetryPolicy = { ...S3_DEFAULTS.retry, ...options.retry };
  intIn('maxAttempts', retry.maxAttempts, 1, 100);
  intIn('retry.baseDelayMs', retry.baseDelayMs, 0, 600_000);
  intIn('retry.maxDelayMs', retry.maxDelayMs, retry.baseDelayMs, 3_600_000);
  intIn('retry.maxElapsedMs', retry.maxElapsedMs, 0, 24 * 3_600_000);
  intIn('retry.digestRetries', retry.digestRetries, 0, 10);
  const partSize = intIn('partSize', options.partSize ?? S3_DEFAULTS.partSize, S3_MIN_PART_SIZE, 512 * MiB, ' bytes');
  const multipartThreshold = intIn('multipartThreshold', options.multipartThreshold ?? S3_DEFAULTS.multipartThreshold, partSize, S3_MAX_SINGLE_PUT, ' bytes');
  const lock = options.objectLock;
  if (lock !== undefined) {
    if (lock.mode !== 'GOVERNANCE' && lock.mode !== 'COMPLIANCE') throw usage(`S3 object lock mode ${JSON.stringify(lock.mode)} is not known`, 'use GOVERNANCE or COMPLIANCE');
    intIn('objectLockDays', lock.days, 1, 36_500);
  }
  return {
    bucket: options.bucket,
    prefix,
    endpoint: options.endpoint,
    region: options.region,
    forcePathStyle: options.forcePathStyle ?? S3_DEFAULTS.forcePathStyle,
    multipartThreshold,
    partSize,
    concurrency: intIn('concurrency', options.concurrency ?? S3_DEFAULTS.concurrency, 1, 64),
    retry,
    socketTimeoutMs: intIn('socketTimeoutMs', options.socketTimeoutMs ?? S3_DEFAULTS.socketTimeoutMs, 100, 3_600_000),
    connectionTimeoutMs: intIn('connectionTimeoutMs', options.connectionTimeoutMs ?? S3_DEFAULTS.connectionTimeoutMs, 100, 600_000),
    conditionalWrites: options.conditionalWrites ?? S3_DEFAULTS.conditionalWrites,
    signPayloads: options.signPayloads ?? S3_DEFAULTS.signPayloads,
    objectLock: lock === undefined ? undefined : { mode: lock.mode, days: lock.days },
    credentials: options.credentials,
    timing: { ...realTiming, ...options.timing },
    onEvent: options.onEvent ?? (() => undefined),
  };
}
