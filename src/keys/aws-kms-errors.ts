/** Turns AWS SDK / KMS errors into ArchiverErrors that say what went wrong in the words of the key provider. */
import type { ArchiverError } from '../errors.ts';
import { type KeyOperation, keyFailure, networkCode } from './key-failure.ts';

interface SdkError { name?: string; message?: string; $metadata?: { httpStatusCode?: number; requestId?: string } }

const PERMISSION_HINT = 'the identity from the SDK\'s default credential chain (IRSA, EKS pod identity, instance profile) needs kms:GenerateDataKey (archive) and kms:Decrypt (restore, verify) on this key, in IAM and in the key policy, with a kms:EncryptionContext condition that allows the context';

/** KMS exception name -> [code, reason, hint]. */
const KNOWN: Readonly<Record<string, readonly ['EKEY' | 'EKEYUNAVAILABLE', string, string?]>> = {
  NotFoundException: ['EKEY', 'key not found', 'check the key id or alias, the region, and the account; an alias must exist in that region'],
  AccessDeniedException: ['EKEY', 'access denied', PERMISSION_HINT],
  DisabledException: ['EKEY', 'key disabled', 'enable the key (aws kms enable-key), or archive under another key'],
  KMSInvalidStateException: ['EKEY', 'key is not usable in its current state (pending deletion, pending import or unavailable)', 'check the key state with aws kms describe-key'],
  InvalidCiphertextException: ['EKEY', 'the wrapped data key does not decrypt under this encryption context: the context differs from the one it was wrapped with, or the wrapped key was altered',
    'the context is rebuilt from the object header (namespace, policy, source, batch); an altered header or wrapped key cannot be repaired'],
  IncorrectKeyException: ['EKEY', 'the wrapped data key was made by another KMS key', 'pass --key with the key the archive was written with'],
  InvalidKeyUsageException: ['EKEY', 'the key cannot wrap data keys (it is not a symmetric ENCRYPT_DECRYPT key)', 'use a symmetric encryption KMS key'],
  InvalidGrantTokenException: ['EKEY', 'a grant token was refused'],
  ValidationException: ['EKEY', 'the request was refused as invalid'],
  UnrecognizedClientException: ['EKEY', 'the AWS credentials were not recognized', PERMISSION_HINT],
  InvalidSignatureException: ['EKEY', 'the AWS credentials were rejected (bad signature)', 'check the credentials and the clock'],
  ExpiredTokenException: ['EKEY', 'the AWS credentials have expired', 'the default credential chain refreshes IRSA and pod-identity tokens; check the projected token'],
  CredentialsProviderError: ['EKEY', 'no AWS credentials were found by the SDK\'s default credential chain',
    'run with IRSA or EKS pod identity (a service account annotated with a role), an instance profile, or shared config files (~/.aws)'],
  KeyUnavailableException: ['EKEYUNAVAILABLE', 'KMS reports the key temporarily unavailable'],
  DependencyTimeoutException: ['EKEYUNAVAILABLE', 'KMS timed out internally'],
  KMSInternalException: ['EKEYUNAVAILABLE', 'KMS internal error'],
  ThrottlingException: ['EKEYUNAVAILABLE', 'throttled by KMS'],
  LimitExceededException: ['EKEYUNAVAILABLE', 'KMS request rate limit exceeded'],
};

export function kmsFailure(op: KeyOperation, err: unknown, options: { endpoint: string; timeoutMs: number }): ArchiverError {
  const e = err as SdkError;
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const detail = { awsError: name, ...(status === undefined ? {} : { httpStatus: status }), ...(e.$metadata?.requestId === undefined ? {} : { requestId: e.$metadata.requestId }) };
  const known = KNOWN[name];
  if (known !== undefined) {
    const [code, reason, hint] = known;
    // moto and some proxies answer without a parsable message ("UnknownError"): then the name says it all.
    const said = e.message !== undefined && e.message !== '' && e.message !== 'UnknownError' && e.message !== name ? `: ${e.message}` : '';
    return keyFailure(op, code, `${reason} (${name}${said})`, { cause: err, detail, ...(hint === undefined ? {} : { hint }) });
  }
  if (name === 'TimeoutError' || name === 'AbortError' || name === 'RequestTimeout') {
    return keyFailure(op, 'EKEYUNAVAILABLE', `KMS at ${options.endpoint} did not answer within ${options.timeoutMs} ms`, { cause: err, detail });
  }
  const net = networkCode(err);
  if (net !== undefined) {
    return keyFailure(op, 'EKEYUNAVAILABLE', `KMS at ${options.endpoint} is unreachable (${net})`, { cause: err, detail: { ...detail, errno: net }, hint: 'check the endpoint, network policies and DNS; the run can be retried' });
  }
  if (status !== undefined && (status >= 500 || status === 429)) {
    return keyFailure(op, 'EKEYUNAVAILABLE', `KMS answered HTTP ${status} (${name})`, { cause: err, detail });
  }
  return keyFailure(op, 'EKEY', `${name}: ${e.message ?? 'unknown error'}`, { cause: err, detail });
}
