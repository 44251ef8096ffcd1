/**
 * AWS KMS: one GenerateDataKey (AES_256) per batch, Decrypt for restore, both with the batch's encryption
 * context as the KMS EncryptionContext (namespace, policy, source, batch), so a wrapped data key only unwraps
 * for the archive it was made for, and CloudTrail records which archive every Decrypt was for.
 * Credentials come only from the SDK's default chain. The SDK's own retries are off (maxAttempts 1) so that
 * one policy (retry.ts) with explicit timeouts bounds how long an unreachable KMS can hold a run. The SDK is
 * loaded on the first call, so commands that never use KMS do not pay for loading it (docs/PERFORMANCE.md).
 */
import type { KMSClient, KMSClientConfig } from '@aws-sdk/client-kms';
import { ArchiverError } from '../errors.ts';
import type { AwsKmsKeyOptions } from './aws-kms-url.ts';
import { kmsFailure } from './aws-kms-errors.ts';
import type { KeyOperation } from './key-failure.ts';
import { keyFailure } from './key-failure.ts';
import { takeDataKey } from './key-bytes.ts';
import type { DataKey, EncryptionContext, KeyProvider } from './key-provider.ts';
import { zero } from './key-provider.ts';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry.ts';

export interface AwsKmsProviderOptions extends AwsKmsKeyOptions {
  /** TCP connect timeout per attempt. */
  connectTimeoutMs?: number;
  /** Whole-request timeout per attempt. */
  requestTimeoutMs?: number;
  retry?: RetryPolicy;
}

export const KMS_DEFAULT_TIMEOUTS = Object.freeze({ connectTimeoutMs: 3000, requestTimeoutMs: 10_000 });

export class AwsKmsKeyProvider implements KeyProvider {
  readonly kind = 'awskms';
  readonly keyId: string;
  readonly #config: KMSClientConfig;
  #client: Promise<{ sdk: typeof import('@aws-sdk/client-kms'); client: KMSClient }> | undefined;
  #closed = false;
  readonly #endpoint: string;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;

  constructor(options: AwsKmsProviderOptions) {
    this.keyId = options.keyId;
    const connectionTimeout = options.connectTimeoutMs ?? KMS_DEFAULT_TIMEOUTS.connectTimeoutMs;
    const requestTimeout = options.requestTimeoutMs ?? KMS_DEFAULT_TIMEOUTS.requestTimeoutMs;
    this.#timeoutMs = connectionTimeout + requestTimeout;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#endpoint = options.endpoint ?? `the ${options.region} KMS endpoint`;
    this.#config = {
      region: options.region,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      maxAttempts: 1,
      // Without throwOnRequestTimeout the handler only warns when requestTimeout passes, and waits on.
      requestHandler: { connectionTimeout, requestTimeout, throwOnRequestTimeout: true },
    };
  }

  #open(): Promise<{ sdk: typeof import('@aws-sdk/client-kms'); client: KMSClient }> {
    if (this.#closed) return Promise.reject(new ArchiverError('EKEY', 'awskms: the key provider is closed'));
    return (this.#client ??= import('@aws-sdk/client-kms').then((sdk) => ({ sdk, client: new sdk.KMSClient(this.#config) })));
  }

  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    const op: KeyOperation = { provider: 'awskms', key: this.keyId, operation: 'GenerateDataKey' };
    const { sdk, client } = await this.#open();
    const command = new sdk.GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext: { ...context } });
    const out = await this.#call(op, (abortSignal) => client.send(command, { abortSignal }));
    const plaintext = takeDataKey(out.Plaintext, op);
    if (out.CiphertextBlob === undefined || out.CiphertextBlob.length === 0) {
      zero(plaintext);
      throw keyFailure(op, 'EKEY', 'the answer held no wrapped data key (CiphertextBlob)');
    }
    // KeyId in the answer is the key ARN: an alias may later point elsewhere, the ARN names the key for good.
    return { plaintext, wrapped: Buffer.from(out.CiphertextBlob), keyId: out.KeyId ?? this.keyId };
  }

  async decryptDataKey(wrapped: Buffer, context: EncryptionContext, keyId: string): Promise<Buffer> {
    const op: KeyOperation = { provider: 'awskms', key: keyId, operation: 'Decrypt' };
    if (!/^(arn:aws[a-z-]*:kms:|alias\/|mrk-|[0-9a-f]{8}-)/.test(keyId)) {
      throw new ArchiverError('EKEY', `awskms: the object header names key ${JSON.stringify(keyId)}, which is no KMS key id`, { hint: 'the header was altered, or the object was written by another provider' });
    }
    // KeyId pins Decrypt to the key recorded at archive time (AWS's recommended practice): a ciphertext made
    // under any other key fails as such instead of being decrypted by whichever key it names.
    const { sdk, client } = await this.#open();
    const command = new sdk.DecryptCommand({ CiphertextBlob: wrapped, KeyId: keyId, EncryptionContext: { ...context } });
    const out = await this.#call(op, (abortSignal) => client.send(command, { abortSignal }));
    return takeDataKey(out.Plaintext, op);
  }

  close(): void {
    this.#closed = true;
    void this.#client?.then(({ client }) => client.destroy(), () => undefined);
  }

  /** One KMS call under the retry policy; the abort signal is a backstop above the handler's own timeouts. */
  async #call<T>(op: KeyOperation, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    return withRetry(this.#retry, async () => {
      try {
        return await send(AbortSignal.timeout(this.#timeoutMs + 1000));
      } catch (err) {
        throw kmsFailure(op, err, { endpoint: this.#endpoint, timeoutMs: this.#timeoutMs });
      }
    });
  }
}
