/**
 * Google Cloud KMS: a fresh data key per batch from this node's CSPRNG, wrapped with Encrypt under the
 * CryptoKey's primary version, with the canonical encryption context (canonical-context.ts) as
 * additional_authenticated_data, so a wrapped key only unwraps for the archive it was made for; Decrypt on
 * restore with the same AAD. The version that wrapped it (`cryptoKeyVersions/N`) is recorded in the header
 * and manifest, so rotation never breaks old archives. Every request carries the CRC32C integrity fields and
 * every answer is checked as Google recommends (verified_* flags, the response checksum, the version's key);
 * an answer that fails a check is discarded and the call retried. Credentials come only from the Google auth
 * library's default chain; an http:// endpoint (a test server) is plaintext gRPC without credentials. The
 * client's own retries are off: retry.ts bounds every call. The client library is loaded on the first call, so
 * commands that never use Cloud KMS do not pay for loading it (docs/PERFORMANCE.md).
 */
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { randomFillSync } from 'node:crypto';
import { ArchiverError } from '../errors.ts';
import { canonicalContext } from './canonical-context.ts';
import { crc32c } from './gcp-kms-crc32c.ts';
import { gcpKmsFailure } from './gcp-kms-errors.ts';
import type { GcpKmsKeyOptions } from './gcp-kms-url.ts';
import { DATA_KEY_BYTES, takeDataKey } from './key-bytes.ts';
import { type KeyOperation, keyFailure } from './key-failure.ts';
import type { DataKey, EncryptionContext, KeyProvider } from './key-provider.ts';
import { zero } from './key-provider.ts';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry.ts';

export interface GcpKmsProviderOptions extends GcpKmsKeyOptions {
  /** Deadline of one call. */
  timeoutMs?: number;
  retry?: RetryPolicy;
}

export const GCPKMS_DEFAULT_TIMEOUT_MS = 10_000;

/** An Int64Value as the client decodes it (number, decimal string or Long). */
function int64(v: { value?: unknown } | null | undefined): number | undefined {
  const x = v?.value;
  if (x === undefined || x === null) return undefined;
  // A Long (protobufjs) converts with its own toString.
  const n = Number(typeof x === 'object' ? (x as { toString(): string }).toString() : x);
  return Number.isSafeInteger(n) ? n : undefined;
}

const toBuffer = (b: Uint8Array | string | null | undefined): Buffer =>
  b === null || b === undefined ? Buffer.alloc(0) : typeof b === 'string' ? Buffer.from(b, 'base64') : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export class GcpKmsKeyProvider implements KeyProvider {
  readonly kind = 'gcpkms';
  /** The CryptoKey's resource name; data keys record the CryptoKeyVersion that wrapped them. */
  readonly keyId: string;
  #client: Promise<KeyManagementServiceClient> | undefined;
  #closed = false;
  readonly #ep: URL | undefined;
  readonly #endpoint: string;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;

  constructor(options: GcpKmsProviderOptions) {
    this.keyId = options.keyName;
    this.#timeoutMs = options.timeoutMs ?? GCPKMS_DEFAULT_TIMEOUT_MS;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#ep = options.endpoint === undefined ? undefined : new URL(options.endpoint);
    this.#endpoint = options.endpoint ?? 'cloudkms.googleapis.com';
  }

  #open(): Promise<KeyManagementServiceClient> {
    if (this.#closed) return Promise.reject(new ArchiverError('EKEY', 'gcpkms: the key provider is closed'));
    const ep = this.#ep;
    return (this.#client ??= Promise.all([import('@google-cloud/kms'), import('google-gax')]).then(([kms, { grpc }]) => new kms.KeyManagementServiceClient(ep === undefined ? {} : {
      apiEndpoint: ep.hostname.replace(/^\[|\]$/g, ''),
      port: Number(ep.port === '' ? (ep.protocol === 'https:' ? 443 : 80) : ep.port),
      ...(ep.protocol === 'http:' ? { sslCreds: grpc.credentials.createInsecure() } : {}),
    })));
  }

  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    const op: KeyOperation = { provider: 'gcpkms', key: this.keyId, operation: 'Encrypt' };
    const aad = canonicalContext(context);
    const plaintext = Buffer.alloc(DATA_KEY_BYTES);
    randomFillSync(plaintext);
    try {
      const request = {
        name: this.keyId, plaintext, additionalAuthenticatedData: aad,
        plaintextCrc32c: { value: crc32c(plaintext) }, additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
      };
      const client = await this.#open();
      const { wrapped, version } = await this.#call(op, async (options) => {
        const [res] = await client.encrypt(request, options);
        const ciphertext = toBuffer(res.ciphertext);
        const version = typeof res.name === 'string' && res.name.startsWith(`${this.keyId}/cryptoKeyVersions/`) ? res.name.slice(this.keyId.length + 1) : undefined;
        if (res.verifiedPlaintextCrc32c !== true || res.verifiedAdditionalAuthenticatedDataCrc32c !== true || int64(res.ciphertextCrc32c) !== crc32c(ciphertext)) {
          throw keyFailure(op, 'EKEYUNAVAILABLE', 'the request or the answer was damaged in transit (CRC32C integrity check failed); it was discarded');
        }
        if (version === undefined || !/^cryptoKeyVersions\/\d+$/.test(version) || ciphertext.length === 0) {
          throw keyFailure(op, 'EKEY', `the answer named ${JSON.stringify(res.name)}, not a version of ${this.keyId}, or held no ciphertext`);
        }
        return { wrapped: ciphertext, version };
      });
      return { plaintext, wrapped: Buffer.from(wrapped), keyId: `${this.keyId}/${version}`, keyVersion: version };
    } catch (err) {
      zero(plaintext);
      throw err;
    }
  }

  async decryptDataKey(wrapped: Buffer, context: EncryptionContext, keyId: string): Promise<Buffer> {
    const op: KeyOperation = { provider: 'gcpkms', key: keyId, operation: 'Decrypt' };
    const recorded = /^(.*)\/cryptoKeyVersions\/\d+$/.exec(keyId)?.[1] ?? keyId;
    if (recorded !== this.keyId) {
      throw new ArchiverError('EKEY', `the data key was wrapped by Cloud KMS key ${keyId}, but --key names ${this.keyId}`, {
        hint: 'pass the gcpkms:// key the archive was written with', context: { provider: 'gcpkms', keyId },
      });
    }
    const aad = canonicalContext(context);
    const request = {
      name: this.keyId, ciphertext: wrapped, additionalAuthenticatedData: aad,
      ciphertextCrc32c: { value: crc32c(wrapped) }, additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
    };
    const client = await this.#open();
    return this.#call(op, async (options) => {
      const [res] = await client.decrypt(request, options);
      const plaintext = res.plaintext;
      const bytes = plaintext instanceof Uint8Array ? plaintext : undefined;
      if (bytes === undefined || int64(res.plaintextCrc32c) !== crc32c(bytes)) {
        bytes?.fill(0);
        throw keyFailure(op, 'EKEYUNAVAILABLE', 'the answer was damaged in transit (plaintext CRC32C mismatch); it was discarded');
      }
      return takeDataKey(bytes, op);
    });
  }

  close(): void {
    this.#closed = true;
    void this.#client?.then((client) => client.close()).catch(() => undefined);
  }

  /** One KMS call under the retry policy, with the client's own retries off. */
  async #call<T>(op: KeyOperation, send: (options: { timeout: number; retry: { retryCodes: number[] } }) => Promise<T>): Promise<T> {
    return withRetry(this.#retry, async () => {
      try {
        return await send({ timeout: this.#timeoutMs, retry: { retryCodes: [] } });
      } catch (err) {
        if (err instanceof ArchiverError) throw err;
        throw gcpKmsFailure(op, err, this.#endpoint);
      }
    });
  }
}
