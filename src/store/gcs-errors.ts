/**
 * What a Google Cloud Storage failure means for us, decided in one place (the retry budget of s3-retry.ts asks
 * here for the GCS store). Retryable as Google documents it: HTTP 408, 429 and 5xx, and connection failures
 * (reset, refused, timed out). A body the server found damaged (a CRC32C or MD5 it computed differs from the
 * one sent) is retried a few times, then permanent. 412 on a write with ifGenerationMatch=0 is a conflict;
 * 404 is a missing object (or an expired upload session). Everything else fails fast.
 */
import { ArchiverError } from '../errors.ts';
import type { Failure, FailureContext, FailureKind } from './s3-errors.ts';

/** A response of the JSON API read by our own fetch calls (resumable-session requests). */
export class GcsHttpError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = 'GcsHttpError';
    this.status = status;
    this.reason = reason;
  }
}

interface ErrorShape {
  name?: string;
  code?: unknown;
  status?: unknown;
  message?: unknown;
  reason?: unknown;
  response?: { status?: unknown; headers?: unknown };
  errors?: { reason?: unknown }[];
  cause?: unknown;
}

const NETWORK = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ENETUNREACH', 'EHOSTUNREACH',
  'ENETDOWN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ERR_STREAM_PREMATURE_CLOSE',
]);
const RETRYABLE_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'backendError', 'internalError']);
const DIGEST = /doesn't match calculated (CRC32C|MD5)|checksum mismatch|hash mismatch/i;

/** An HTTP status, and nothing else: a timed-out fetch's DOMException carries the legacy `code` 23. */
function httpStatus(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599 ? value : undefined;
}

/** The errno-like code anywhere in the cause chain (fetch wraps socket errors in a TypeError). */
function networkCode(err: unknown): string | undefined {
  for (let e = err as ErrorShape | undefined, depth = 0; e !== undefined && e !== null && depth < 5; e = e.cause as ErrorShape | undefined, depth += 1) {
    if (typeof e.code === 'string' && NETWORK.has(e.code)) return e.code;
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timeout';
  }
  return undefined;
}

export function classifyGcs(err: unknown): Failure {
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorShape;
  const status = httpStatus(e.status) ?? httpStatus(e.code) ?? httpStatus(e.response?.status);
  const reason = typeof e.reason === 'string' && e.reason !== '' ? e.reason : typeof e.errors?.[0]?.reason === 'string' ? e.errors[0].reason : undefined;
  const message = typeof e.message === 'string' ? e.message : '';
  const make = (kind: FailureKind, label: string): Failure => ({ kind, reason: label, status, requestId: undefined });
  const net = networkCode(err);
  if (net !== undefined && status === undefined) return make('transient', net);
  if (status === 400 && DIGEST.test(message)) return make('digest', 'ChecksumMismatch');
  if (status === 412) return make('conflict', reason ?? 'conditionNotMet');
  if (status === 404 || status === 410) return make('notfound', reason ?? 'notFound');
  if (status === 408 || status === 429 || (status !== undefined && status >= 500 && status <= 599) || (reason !== undefined && RETRYABLE_REASONS.has(reason))) {
    return make('transient', reason ?? `HTTP ${status ?? '?'}`);
  }
  if (status === undefined && /socket hang up|aborted|ECONNRESET|other side closed/i.test(message)) return make('transient', 'ECONNRESET');
  return make('permanent', reason ?? (status === undefined ? (e.name ?? 'Error') : `HTTP ${status}`));
}

function hintFor(failure: Failure, ctx: FailureContext): string | undefined {
  if (failure.kind === 'transient') return 'Cloud Storage is unavailable or throttling; run again later (a resumable upload keeps what reached the server)';
  if (failure.status === 401 || failure.status === 403) {
    return 'check the identity the Google auth library\'s default chain finds (Workload Identity, GOOGLE_APPLICATION_CREDENTIALS) and its roles on the bucket (storage.objects.create, get, list, delete)';
  }
  if (failure.kind === 'digest') return 'the body was damaged on the way to Cloud Storage every time it was sent: check proxies and network hardware';
  if (failure.reason === 'notFound' && ctx.operation === 'bucket') return `bucket ${ctx.bucket} does not exist: create it or fix --store`;
  return undefined;
}

/** The error the caller sees after the last attempt. */
export function gcsFailure(err: unknown, failure: Failure, ctx: FailureContext): ArchiverError {
  const message = err instanceof Error ? err.message : String(err);
  const status = failure.status === undefined ? '' : ` (HTTP ${failure.status})`;
  const context = { bucket: ctx.bucket, key: ctx.key, operation: ctx.operation, reason: failure.reason, status: failure.status ?? null, attempts: ctx.attempts };
  const hint = hintFor(failure, ctx);
  const options = { cause: err, context, ...(hint === undefined ? {} : { hint }) };
  const where = `gs://${ctx.bucket}/${ctx.key}`;
  switch (failure.kind) {
    case 'conflict':
      return new ArchiverError('ECONFLICT', `${where} already exists; objects are never overwritten (while ${ctx.what})`, options);
    case 'notfound':
      return new ArchiverError('ENOTFOUND', `${where} does not exist (while ${ctx.what})`, options);
    case 'transient':
      return new ArchiverError('ESTOREUNAVAILABLE',
        `GCS ${ctx.operation} kept failing: ${failure.reason}${status} after ${ctx.attempts} attempts in ${(ctx.elapsedMs / 1000).toFixed(1)} s: ${message} (while ${ctx.what})`, options);
    case 'digest':
      return new ArchiverError('ESTORE', `GCS ${ctx.operation} rejected the body ${ctx.attempts} times: ${failure.reason}${status}: ${message} (while ${ctx.what})`, options);
    default:
      return new ArchiverError('ESTORE', `GCS ${ctx.operation} failed: ${failure.reason}${status}: ${message} (while ${ctx.what})`, options);
  }
}
