/**
 * `file:///path/to/keyfile`: a local master key (32 raw bytes, or 64 hex characters with optional trailing
 * newline) that wraps per-batch DEKs with AES-256-GCM. The encryption context is the GCM AAD, so a wrapped
 * DEK moved to another context, or presented to another key, fails to unwrap. The key id is a fingerprint
 * of the key (HMAC of a fixed label), so a wrong key file is named as such rather than as corruption.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { ArchiverError } from '../errors.ts';
import { canonicalContext } from './canonical-context.ts';
import type { DataKey, EncryptionContext, KeyProvider } from './key-provider.ts';

const WRAP_VERSION = 1;
const NONCE = 12;
const TAG = 16;

export function readLocalKeyFile(path: string): Buffer {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(path);
  } catch (err) {
    throw new ArchiverError('EKEY', `cannot read key file ${path}: ${(err as Error).message}`, {
      cause: err,
      hint: 'point --key at a file holding 32 random bytes or 64 hex characters (e.g. `openssl rand -hex 32 > key`)',
    });
  }
  if (raw.length === 32) return raw;
  const text = raw.toString('latin1').replace(/\r?\n$/, '');
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  throw new ArchiverError('EKEY', `key file ${path} holds ${raw.length} bytes; expected 32 raw bytes or 64 hex characters`, {
    hint: 'generate one with `openssl rand -hex 32 > key`',
  });
}

export function keyFingerprint(key: Buffer): string {
  return `local:${createHmac('sha256', key).update('binlog-archiver key fingerprint v1').digest('hex').slice(0, 16)}`;
}

export class LocalKeyProvider implements KeyProvider {
  readonly kind = 'local';
  readonly keyId: string;
  readonly #kek: Buffer;
  readonly #path: string;

  constructor(options: { path: string }) {
    this.#path = options.path;
    this.#kek = readLocalKeyFile(options.path);
    this.keyId = keyFingerprint(this.#kek);
  }

  generateDataKey(context: EncryptionContext): Promise<DataKey> {
    const plaintext = randomBytes(32);
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv('aes-256-gcm', this.#kek, nonce);
    cipher.setAAD(canonicalContext(context));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const wrapped = Buffer.concat([Buffer.from([WRAP_VERSION]), nonce, body, cipher.getAuthTag()]);
    return Promise.resolve({ plaintext, wrapped, keyId: this.keyId });
  }

  decryptDataKey(wrapped: Buffer, context: EncryptionContext, keyId: string): Promise<Buffer> {
    if (keyId !== this.keyId) {
      return Promise.reject(new ArchiverError('EKEY', `the data key was wrapped by ${keyId}, but key file ${this.#path} is ${this.keyId}`, {
        hint: 'use the key file the archive was written with',
      }));
    }
    if (wrapped.length !== 1 + NONCE + 32 + TAG || wrapped[0] !== WRAP_VERSION) {
      return Promise.reject(new ArchiverError('EKEY', `wrapped data key is malformed (${wrapped.length} bytes, version ${wrapped[0] ?? 'none'})`));
    }
    const decipher = createDecipheriv('aes-256-gcm', this.#kek, wrapped.subarray(1, 1 + NONCE));
    decipher.setAAD(canonicalContext(context));
    decipher.setAuthTag(wrapped.subarray(wrapped.length - TAG));
    try {
      return Promise.resolve(Buffer.concat([decipher.update(wrapped.subarray(1 + NONCE, wrapped.length - TAG)), decipher.final()]));
    } catch (err) {
      return Promise.reject(new ArchiverError('EKEY', `cannot unwrap the data key with ${this.keyId}: the wrapped key or its encryption context was altered`, { cause: err }));
    }
  }
}
