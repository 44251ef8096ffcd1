/**
 * Typed errors for the whole project. Every error a user can see carries a stable `code`, the context a
 * person needs ("while uploading part 7 of s3://bucket/key"), and its `cause`. Whether an error is worth
 * retrying is decided here, in one place, from its code.
 */

export type ErrorCode =
  // input and usage
  | 'EUSAGE'
  | 'EBADINPUT'
  // binlog reading
  | 'ENOTBINLOG'
  | 'EBINLOGTRUNCATED'
  | 'EBINLOGCHECKSUM'
  | 'EBINLOGCORRUPT'
  | 'EBINLOGACTIVE'
  // archive format and verification
  | 'EFORMAT'
  | 'EAUTH'
  | 'EVERIFY'
  // keys
  | 'EKEY'
  | 'EKEYUNAVAILABLE'
  // storage
  | 'ESTORE'
  | 'ESTOREUNAVAILABLE'
  | 'ECONFLICT'
  | 'ENOTFOUND'
  | 'ENOSPACE'
  // restore planning, and applying to a server
  | 'EGAP'
  /** The target (or start) lies outside what the archive holds: before its first or after its last binlog. */
  | 'ETARGET'
  | 'EAPPLY'
  // a restore stopped by SIGTERM/SIGINT after cleaning up (src/restore/interrupt.ts)
  | 'EINTERRUPTED'
  // a restore point before the range retention (expire) keeps: nothing is missing, it was expired on purpose
  | 'EEXPIRED'
  // anything else
  | 'EINTERNAL';

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['ESTOREUNAVAILABLE', 'EKEYUNAVAILABLE']);

export interface ArchiverErrorOptions {
  cause?: unknown;
  /** What the user should do about it. */
  hint?: string;
  /** Structured context for logs (never key material). */
  context?: Record<string, unknown>;
}

export class ArchiverError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly context: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: ArchiverErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ArchiverError';
    this.code = code;
    this.hint = options.hint;
    this.context = options.context ?? {};
  }
}

/** True when the same operation may succeed if tried again (transient network or service state). */
export function isRetryable(err: unknown): boolean {
  return err instanceof ArchiverError && RETRYABLE.has(err.code);
}

/** Wraps any thrown value with context, keeping an ArchiverError's code. */
export function withContext(err: unknown, what: string, fallback: ErrorCode = 'EINTERNAL'): ArchiverError {
  if (err instanceof ArchiverError) {
    const wrapped = new ArchiverError(err.code, `${err.message} (while ${what})`, {
      cause: err,
      context: err.context,
      ...(err.hint === undefined ? {} : { hint: err.hint }),
    });
    return wrapped;
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ArchiverError(fallback, `${message} (while ${what})`, { cause: err });
}
