/** Turns node-vault (axios) errors into ArchiverErrors naming the Vault operation, key and reason. */
import type { ArchiverError } from '../errors.ts';
import { type KeyOperation, keyFailure, networkCode } from './key-failure.ts';

interface VaultResponseError { message?: string; code?: string; response?: { statusCode?: number; body?: { errors?: unknown } } }

/** Transit answers most refusals with HTTP 400 and a message: these patterns name the cause. */
const REASONS: readonly (readonly [RegExp, string, string?])[] = [
  [/message authentication failed/i, 'the wrapped data key does not decrypt under this encryption context: the context differs from the one it was wrapped with, or the wrapped key was altered',
    'the context is rebuilt from the object header (namespace, policy, source, batch); an altered header or wrapped key cannot be repaired'],
  [/encryption key not found|key not found/i, 'Transit key not found', 'create it (bao/vault write -f transit/keys/NAME type=aes256-gcm96 derived=true) or fix the key name and mount='],
  [/disallowed by policy|too old/i, 'key version disabled: the key\'s min_decryption_version excludes the version that wrapped this data key', 'lower min_decryption_version of the Transit key to restore archives wrapped by older versions'],
  [/missing 'context'/i, 'the key is derived and needs a context', undefined],
  [/invalid ciphertext|unable to decode|illegal base64|invalid base64|invalid version/i, 'the wrapped data key is malformed (altered?)', undefined],
  [/invalid role name|role .* not found/i, 'the Kubernetes auth role does not exist', 'create the role under the auth mount, or fix role='],
  [/service account (name|namespace) not authorized|not authorized/i, 'the service account is not bound to this role', 'add it to bound_service_account_names/namespaces of the role'],
];

export function vaultFailure(op: KeyOperation, err: unknown, options: { addr: string; timeoutMs: number; permissionHint: string }): ArchiverError {
  const e = err as VaultResponseError;
  const status = e.response?.statusCode;
  const errors = e.response?.body?.errors;
  const message = Array.isArray(errors) && typeof errors[0] === 'string' ? errors[0] : (e.message ?? String(err));
  const detail = { addr: options.addr, ...(status === undefined ? {} : { httpStatus: status }), vaultError: message };
  if (status !== undefined) {
    if (status === 403) {
      // A login refusal says why (service account not bound, unknown role): keep that reason in front.
      const known = message === 'permission denied' ? undefined : REASONS.find(([pattern]) => pattern.test(message));
      return keyFailure(op, 'EKEY', `permission denied${known === undefined ? '' : `: ${known[1]}`} (HTTP 403: ${message})`, { cause: err, detail, hint: known?.[2] ?? options.permissionHint });
    }
    if (status === 429 || status >= 500) {
      return keyFailure(op, 'EKEYUNAVAILABLE', `Vault at ${options.addr} is unavailable (HTTP ${status}: ${message})`, { cause: err, detail, hint: 'sealed, on standby without forwarding, or overloaded; the run can be retried' });
    }
    if (status === 404 && /no handler for route/i.test(message)) {
      return keyFailure(op, 'EKEY', `no such path in Vault (HTTP 404): is the engine mounted there? (${message})`, { cause: err, detail, hint: 'check mount= (Transit) or authMount= (Kubernetes auth)' });
    }
    for (const [pattern, reason, hint] of REASONS) {
      if (pattern.test(message)) return keyFailure(op, 'EKEY', `${reason} (HTTP ${status}: ${message})`, { cause: err, detail, ...(hint === undefined ? {} : { hint }) });
    }
    return keyFailure(op, 'EKEY', `refused (HTTP ${status}: ${message})`, { cause: err, detail });
  }
  const net = networkCode(err);
  if (net === 'ECONNABORTED' && /timeout/i.test(message)) {
    return keyFailure(op, 'EKEYUNAVAILABLE', `Vault at ${options.addr} did not answer within ${options.timeoutMs} ms`, { cause: err, detail: { ...detail, errno: net } });
  }
  if (net !== undefined) {
    return keyFailure(op, 'EKEYUNAVAILABLE', `Vault at ${options.addr} is unreachable (${net})`, { cause: err, detail: { ...detail, errno: net }, hint: 'check addr=, network policies and DNS; the run can be retried' });
  }
  return keyFailure(op, 'EKEY', message, { cause: err, detail });
}
