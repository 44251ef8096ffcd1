/**
 * The key material of one archive run (batch): for the gcm format one data key from the key provider, wrapped
 * by its master key; for the openssl format the passphrase from the key file. Created lazily (no key-provider
 * call when nothing needs archiving) and zeroed by `dispose`.
 */
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import { readOpensslPassFile } from '../format/index.ts';
import { ArchiverError } from '../errors.ts';
import type { DataKey, EncryptionContext, KeyProvider } from './key-provider.ts';
import { zero } from './key-provider.ts';
import { asBatchKeyFailure } from './key-failure.ts';
import { keyFilePath, openKeyProvider } from './open-key-provider.ts';

export function readPassphrase(keyUrl: string): { passphrase: Buffer; keyId: string } {
  const file = keyFilePath(keyUrl);
  let content: Buffer;
  try {
    content = fs.readFileSync(file);
  } catch (err) {
    throw new ArchiverError('EKEY', `cannot read passphrase file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const passphrase = readOpensslPassFile(content);
  zero(content);
  const keyId = `passphrase:${createHmac('sha256', passphrase).update('binlog-archiver passphrase fingerprint v1').digest('hex').slice(0, 16)}`;
  return { passphrase, keyId };
}

/**
 * Opens the key an archive run will use and checks it as far as possible, before any binlog is looked at: a bad
 * --key then fails the run even when nothing needs archiving, and fails it as the run's error, not as the first
 * binlog's. Returns the provider (the caller passes it to the run and closes it); for the openssl format the
 * passphrase file is read and checked, and its bytes zeroed.
 */
export function openArchiveKey(keyUrl: string, format: string): KeyProvider | undefined {
  if (format === 'openssl-aes-256-cbc') {
    zero(readPassphrase(keyUrl).passphrase);
    return undefined;
  }
  const provider = openKeyProvider(keyUrl);
  try {
    provider.check?.();
  } catch (err) {
    provider.close?.();
    throw err;
  }
  return provider;
}

export class BatchKeys {
  readonly #keyUrl: string;
  #provider: KeyProvider | undefined;
  /** Only a provider opened here is closed here; one passed in belongs to the caller. */
  #ownsProvider = false;
  #dataKey: DataKey | undefined;
  #passphrase: { passphrase: Buffer; keyId: string } | undefined;

  constructor(options: { keyUrl: string; provider?: KeyProvider }) {
    this.#keyUrl = options.keyUrl;
    this.#provider = options.provider;
  }

  provider(): KeyProvider {
    if (this.#provider === undefined) {
      try {
        this.#provider = openKeyProvider(this.#keyUrl);
      } catch (err) {
        throw asBatchKeyFailure(err);
      }
      this.#ownsProvider = true;
    }
    return this.#provider;
  }

  async dataKey(context: EncryptionContext): Promise<DataKey> {
    try {
      this.#dataKey ??= await this.provider().generateDataKey(context);
    } catch (err) {
      throw asBatchKeyFailure(err);
    }
    return this.#dataKey;
  }

  passphrase(): { passphrase: Buffer; keyId: string } {
    try {
      this.#passphrase ??= readPassphrase(this.#keyUrl);
    } catch (err) {
      throw asBatchKeyFailure(err);
    }
    return this.#passphrase;
  }

  dispose(): void {
    zero(this.#dataKey?.plaintext, this.#passphrase?.passphrase);
    this.#dataKey = undefined;
    this.#passphrase = undefined;
    if (this.#ownsProvider) {
      this.#provider?.close?.();
      this.#provider = undefined;
      this.#ownsProvider = false;
    }
  }
}
