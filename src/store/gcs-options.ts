/**
 * Options of the GCS store, every default in one place and validated with precise usage errors; the URL parser
 * (gcs-url.ts) and programmatic callers (tests, the operator) both end up here. Retry policy and the timing
 * seam are the S3 store's: one backoff rule for every object store.
 */
import { ArchiverError } from '../errors.ts';
import { MiB, type RetryPolicy, S3_DEFAULTS, type S3StoreEvent, type Timing } from './s3-options.ts';

/** GCS resumable uploads take chunks in multiples of 256 KiB (all but the last). */
export const GCS_CHUNK_QUANTUM = 256 * 1024;

export type GcsRetentionMode = 'Locked' | 'Unlocked';

export interface GcsStoreOptions {
  bucket: string;
  /** Object name prefix inside the bucket, without leading or trailing '/'; '' for the bucket root. */
  prefix?: string;
  /** A JSON-API-compatible endpoint (http(s)://host[:port]); Google's when absent. Requests to it carry no credentials. */
  endpoint?: string;
  /** Bodies of this size or more go up as resumable uploads; smaller ones in one request. */
  resumableThreshold?: number;
  /** Bytes per resumable-upload request: a multiple of 256 KiB. */
  chunkSize?: number;
  retry?: Partial<RetryPolicy>;
  /** A request that has not answered in this long fails (and is retried). */
  requestTimeoutMs?: number;
  /** Object retention set on every object put writes (bucket must have object retention enabled). */
  retention?: { mode: GcsRetentionMode; days: number };
  /** An event-based hold on every object put writes (released by an administrator, not by the archiver). */
  eventBasedHold?: boolean;
  timing?: Partial<Timing>;
  onEvent?: (event: S3StoreEvent) => void;
}

export interface ResolvedGcsOptions {
  bucket: string;
  prefix: string;
  endpoint: string | undefined;
  resumableThreshold: number;
  chunkSize: number;
  retry: RetryPolicy;
  requestTimeoutMs: number;
  retention: { mode: GcsRetentionMode; days: number } | undefined;
  eventBasedHold: boolean;
  timing: Timing;
  onEvent: (event: S3StoreEvent) => void;
}

export const GCS_DEFAULTS = {
  resumableThreshold: 16 * MiB,
  chunkSize: 8 * MiB,
  retry: S3_DEFAULTS.retry,
  requestTimeoutMs: 60_000,
} as const;

const realTiming: Timing = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
};

// Google's rules for bucket names without dots (names with dots need domain verification; allowed up to 222).
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

function usage(message: string, hint?: string): ArchiverError {
  return new ArchiverError('EUSAGE', message, hint === undefined ? {} : { hint });
}

function intIn(name: string, value: number, min: number, max: number, unit = ''): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw usage(`GCS store option ${name}=${value} is out of range`, `use an integer from ${min}${unit} to ${max}${unit}`);
  }
  return value;
}

export function assertGcsBucketName(bucket: string): void {
  if (bucket === '') throw usage('the GCS store URL names no bucket', 'use gs://BUCKET[/PREFIX]');
  const parts = bucket.split('.');
  if (!BUCKET.test(bucket) || bucket.startsWith('goog') || parts.some((p) => p === '' || p.length > 63) || (!bucket.includes('.') && bucket.length > 63)) {
    throw usage(`GCS bucket name ${JSON.stringify(bucket)} is not valid`, '3-63 characters: lowercase letters, digits, "-", "_" and ".", starting and ending with a letter or digit, not starting with "goog"');
  }
}

export function resolveGcsOptions(options: GcsStoreOptions): ResolvedGcsOptions {
  assertGcsBucketName(options.bucket);
  const prefix = options.prefix ?? '';
  if (prefix !== '' && (prefix.startsWith('/') || prefix.endsWith('/') || prefix.split('/').some((p) => p === '' || p === '.' || p === '..'))) {
    throw usage(`GCS object prefix ${JSON.stringify(prefix)} is not valid`, 'use names separated by single "/", without "." or ".." parts');
  }
  const retry: RetryPolicy = { ...GCS_DEFAULTS.retry, ...options.retry };
  intIn('maxAttempts', retry.maxAttempts, 1, 100);
  intIn('retry.baseDelayMs', retry.baseDelayMs, 0, 600_000);
  intIn('retry.maxDelayMs', retry.maxDelayMs, retry.baseDelayMs, 3_600_000);
  intIn('retry.maxElapsedMs', retry.maxElapsedMs, 0, 24 * 3_600_000);
  intIn('retry.digestRetries', retry.digestRetries, 0, 10);
  const chunkSize = intIn('chunkSize', options.chunkSize ?? GCS_DEFAULTS.chunkSize, GCS_CHUNK_QUANTUM, 512 * MiB, ' bytes');
  if (chunkSize % GCS_CHUNK_QUANTUM !== 0) throw usage(`GCS store option chunkSize=${chunkSize} is not a multiple of 256 KiB`, 'e.g. chunkSize=8MiB');
  const resumableThreshold = intIn('resumableThreshold', options.resumableThreshold ?? GCS_DEFAULTS.resumableThreshold, chunkSize, 5 * 1024 * MiB, ' bytes');
  const retention = options.retention;
  if (retention !== undefined) {
    if (retention.mode !== 'Locked' && retention.mode !== 'Unlocked') throw usage(`GCS retention mode ${JSON.stringify(retention.mode)} is not known`, 'use Locked or Unlocked');
    intIn('retentionDays', retention.days, 1, 36_500);
  }
  return {
    bucket: options.bucket,
    prefix,
    endpoint: options.endpoint,
    resumableThreshold,
    chunkSize,
    retry,
    requestTimeoutMs: intIn('requestTimeoutMs', options.requestTimeoutMs ?? GCS_DEFAULTS.requestTimeoutMs, 100, 3_600_000),
    retention: retention === undefined ? undefined : { mode: retention.mode, days: retention.days },
    eventBasedHold: options.eventBasedHold ?? false,
    timing: { ...realTiming, ...options.timing },
    onEvent: options.onEvent ?? (() => undefined),
  };
}
