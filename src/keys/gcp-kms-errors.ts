/**
 * Turns Cloud KMS (gRPC) failures into ArchiverErrors in the words of the key provider: terminal EKEY for what
 * trying again cannot fix (no such key, no permission, a disabled version, a ciphertext that does not
 * authenticate under this context), EKEYUNAVAILABLE for what may pass (unavailable, deadline, quota).
 */
import type { ArchiverError } from '../errors.ts';
import { type KeyOperation, keyFailure, networkCode } from './key-failure.ts';

const PERMISSION_HINT = 'the identity from the Google auth default chain (Workload Identity on GKE, GOOGLE_APPLICATION_CREDENTIALS) needs roles/cloudkms.cryptoKeyEncrypterDecrypter on this key (cloudkms.cryptoKeyVersions.useToEncrypt for archive, useToDecrypt for restore and verify)';

/** gRPC status code -> [code, reason, hint]. */
const BY_STATUS: Readonly<Record<number, readonly ['EKEY' | 'EKEYUNAVAILABLE', string, string?]>> = {
  3: ['EKEY', 'the request was refused as invalid (INVALID_ARGUMENT)', 'on Decrypt this means the wrapped data key does not authenticate under this encryption context or key: the context is rebuilt from the object header, an altered header or wrapped key cannot be repaired'],
  5: ['EKEY', 'key not found (NOT_FOUND)', 'check the project, location, key ring and key names'],
  7: ['EKEY', 'permission denied (PERMISSION_DENIED)', PERMISSION_HINT],
  9: ['EKEY', 'the key version is not usable (FAILED_PRECONDITION: disabled, destroyed or pending)', 'enable the version that wrapped the data key (gcloud kms keys versions enable), or archive under an enabled primary version'],
  16: ['EKEY', 'the Google credentials were not accepted (UNAUTHENTICATED)', PERMISSION_HINT],
  1: ['EKEYUNAVAILABLE', 'the call was cancelled (CANCELLED)'],
  2: ['EKEYUNAVAILABLE', 'unknown error (UNKNOWN)'],
  4: ['EKEYUNAVAILABLE', 'Cloud KMS did not answer in time (DEADLINE_EXCEEDED)'],
  8: ['EKEYUNAVAILABLE', 'quota exceeded (RESOURCE_EXHAUSTED)'],
  10: ['EKEYUNAVAILABLE', 'the call was aborted (ABORTED)'],
  13: ['EKEYUNAVAILABLE', 'Cloud KMS internal error (INTERNAL)'],
  14: ['EKEYUNAVAILABLE', 'Cloud KMS is unavailable (UNAVAILABLE)', 'check the endpoint, network policies and DNS; the run can be retried'],
};

export function gcpKmsFailure(op: KeyOperation, err: unknown, endpoint: string): ArchiverError {
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  const status = typeof e.code === 'number' ? e.code : undefined;
  const said = typeof e.details === 'string' && e.details !== '' ? e.details : typeof e.message === 'string' ? e.message : String(err);
  const known = status === undefined ? undefined : BY_STATUS[status];
  if (known !== undefined) {
    const [code, reason, hint] = known;
    return keyFailure(op, code, `${reason}: ${said}`, { cause: err, detail: { grpcStatus: status, endpoint }, ...(hint === undefined ? {} : { hint }) });
  }
  const net = networkCode(err);
  if (net !== undefined) return keyFailure(op, 'EKEYUNAVAILABLE', `Cloud KMS at ${endpoint} is unreachable (${net})`, { cause: err, detail: { errno: net } });
  if (/Could not load the default credentials|Could not refresh access token|invalid_grant/i.test(said)) {
    return keyFailure(op, 'EKEY', `no usable Google credentials: ${said}`, { cause: err, hint: PERMISSION_HINT });
  }
  return keyFailure(op, 'EKEY', said, { cause: err, detail: { endpoint } });
}
