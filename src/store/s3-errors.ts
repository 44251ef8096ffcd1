/**
 * What an S3 failure means for us, decided in one place: transient (retry with backoff), a damaged body
 * (BadDigest: retry a few times, then permanent), a conditional write that lost (ECONFLICT), a missing object,
 * or permanent (fail fast). Final errors name the bucket, the key and the cause.
 */
import { ArchiverError } from '../errors.ts';

export type FailureKind = 'transient' | 'digest' | 'conflict' | 'notfound' | 'permanent';

export interface Failure {
  kind: FailureKind;
  /** Short, stable label for metrics and messages: SlowDown, ECONNRESET, timeout, AccessDenied, HTTP 503. */
  reason: string;
  status: number | undefined;
  requestId: string | undefined;
}

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const TRANSIENT_NAMES = new Set([
  'SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestTimeout', 'RequestTimeoutException',
  'InternalError', 'ServiceUnavailable', 'TimeoutError', 'ConditionalRequestConflict',
]);
const TRANSIENT_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ENETUNREACH', 'EHOSTUNREACH',
  'ENETDOWN', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_HTTP_REQUEST_TIMEOUT',
]);
const DIGEST_NAMES = new Set(['BadDigest', 'XAmzContentSHA256Mismatch', 'InvalidChecksum']);
const DENIED_NAMES = new Set(['AccessDenied', 'SignatureDoesNotMatch', 'InvalidAccessKeyId', 'InvalidToken', 'ExpiredToken', 'Forbidden']);

export function classify(err: unknown): Failure {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  const requestId = e.$metadata?.requestId;
  const name = e.name ?? '';
  const code = e.code ?? '';
  const known = name !== '' && name !== 'Error' && name !== 'Unknown' && name !== 'UnknownError';
  const label = known ? name : code !== '' ? code : status !== undefined ? `HTTP ${status}` : name || 'Error';
  const make = (kind: FailureKind, reason = label): Failure => ({ kind, reason, status, requestId });
  // Before TimeoutError: the SDK renames ECONNRESET and EPIPE errors to TimeoutError but keeps their code.
  if (TRANSIENT_CODES.has(code)) return make('transient', code);
  if (name === 'TimeoutError') return make('transient', 'timeout');
  if (DIGEST_NAMES.has(name)) return make('digest');
  if (status === 412 || name === 'PreconditionFailed') return make('conflict');
  if (TRANSIENT_NAMES.has(name) || (status !== undefined && TRANSIENT_STATUS.has(status))) return make('transient');
  if (name === 'NoSuchKey' || (status === 404 && (name === 'NotFound' || !known))) return make('notfound', known ? name : 'NotFound');
  if (status === 403 && !known) return make('permanent', 'AccessDenied');
  if (status === undefined && !known && code === '' && /socket hang up|aborted|ECONNRESET/i.test(e.message ?? '')) return make('transient', 'ECONNRESET');
  return make('permanent');
}

export interface FailureContext {
  bucket: string;
  key: string;
  operation: string;
  /** "uploading part 7 of s3://bucket/key" */
  what: string;
  endpoint: string | undefined;
  attempts: number;
  elapsedMs: number;
}

function hintFor(failure: Failure, ctx: FailureContext): string | undefined {
  if (failure.kind === 'transient') {
    return 'the S3 service is unavailable or throttling; run again later (the parts of a resumable upload that reached S3 are kept and reused)';
  }
  if (failure.reason === 'NoSuchBucket') return `bucket ${ctx.bucket} does not exist at ${ctx.endpoint ?? 'AWS S3'}: create it or fix --store`;
  if (DENIED_NAMES.has(failure.reason) || failure.status === 403) {
    return 'check the credentials the AWS SDK default chain finds (IRSA / web identity, AWS_SHARED_CREDENTIALS_FILE, container credentials) and the bucket policy';
  }
  if (failure.kind === 'digest') return 'the body was damaged on the way to S3 every time it was sent: check proxies and network hardware between here and the endpoint';
  return undefined;
}

/** The error the caller sees after the last attempt. */
export function storeFailure(err: unknown, failure: Failure, ctx: FailureContext): ArchiverError {
  const message = err instanceof Error ? err.message : String(err);
  const status = failure.status === undefined ? '' : ` (HTTP ${failure.status})`;
  const context = {
    bucket: ctx.bucket, key: ctx.key, operation: ctx.operation, reason: failure.reason, status: failure.status ?? null,
    requestId: failure.requestId ?? null, attempts: ctx.attempts,
  };
  const hint = hintFor(failure, ctx);
  const options = { cause: err, context, ...(hint === undefined ? {} : { hint }) };
  switch (failure.kind) {
    case 'conflict':
      return new ArchiverError('ECONFLICT', `s3://${ctx.bucket}/${ctx.key} already exists; objects are never overwritten (while ${ctx.what})`, options);
    case 'notfound':
      return new ArchiverError('ENOTFOUND', `s3://${ctx.bucket}/${ctx.key} does not exist (while ${ctx.what})`, options);
    case 'transient':
      return new ArchiverError('ESTOREUNAVAILABLE',
        `S3 ${ctx.operation} kept failing: ${failure.reason}${status} after ${ctx.attempts} attempts in ${(ctx.elapsedMs / 1000).toFixed(1)} s: ${message} (while ${ctx.what})`, options);
    case 'digest':
      return new ArchiverError('ESTORE', `S3 ${ctx.operation} rejected the body ${ctx.attempts} times: ${failure.reason}${status}: ${message} (while ${ctx.what})`, options);
    default:
      return new ArchiverError('ESTORE', `S3 ${ctx.operation} failed: ${failure.reason}${status}: ${message} (while ${ctx.what})`, options);
  }
}
