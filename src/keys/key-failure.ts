/**
 * The one shape of a remote key-provider failure: which provider, which key, which operation, and why, with a
 * code that decides retrying (EKEYUNAVAILABLE: unreachable or overloaded; EKEY: denied, missing, disabled,
 * context mismatch, tampered). Causes are reduced to name, code and message: SDK and HTTP-client errors carry
 * request configuration (headers with tokens, bodies with service-account JWTs) that must never reach a log.
 */
import { ArchiverError } from '../errors.ts';

export interface KeyOperation {
  provider: 'awskms' | 'vault' | 'gcpkms';
  /** The key as the user named it (alias, ARN, mount/key). */
  key: string;
  /** The remote call, e.g. `GenerateDataKey`, `transit/decrypt`, `kubernetes login`. */
  operation: string;
}

export function keyFailure(op: KeyOperation, code: 'EKEY' | 'EKEYUNAVAILABLE', reason: string,
  options: { cause?: unknown; hint?: string; detail?: Record<string, unknown> } = {}): ArchiverError {
  return new ArchiverError(code, `${op.provider} key ${op.key}: ${op.operation} failed: ${reason}`, {
    ...(options.cause === undefined ? {} : { cause: safeCause(options.cause) }),
    ...(options.hint === undefined ? {} : { hint: options.hint }),
    context: { provider: op.provider, keyId: op.key, operation: op.operation, ...options.detail },
  });
}

/**
 * Marks a failure of the run's own key (opening the provider, the batch's data key, the passphrase) as the run's:
 * every binlog after it would fail the same way, so it is logged once for the run, not as one binlog's failure.
 */
export function asBatchKeyFailure(err: unknown): unknown {
  if (err instanceof ArchiverError) err.context.scope = 'batch-key';
  return err;
}

export function isBatchKeyFailure(err: unknown): err is ArchiverError {
  return err instanceof ArchiverError && err.context.scope === 'batch-key';
}

/** A copy of an error with only name, code and message (no request config, headers or bodies). */
export function safeCause(err: unknown): Error {
  if (err instanceof ArchiverError) return err;
  const e = err as { name?: unknown; code?: unknown; message?: unknown };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const safe = new Error(message);
  safe.name = name;
  if (typeof e.code === 'string') (safe as NodeJS.ErrnoException).code = e.code;
  return safe;
}

/** Socket-level failures: the provider was not reached (or stopped answering), so trying again may help. */
export const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EPIPE',
  'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'ERR_SOCKET_CONNECTION_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET',
]);

/** The errno-style code of an error or of its cause chain (SDKs wrap socket errors). */
export function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  }
  return undefined;
}
