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

const KEY_HINT = 'a local master key file holds 32 random bytes, or them as 64 hex characters (one trailing newline allowed): `openssl rand -hex 32 > key`';

/** What a key file that is no key holds, in words and counts only (never its content). */
export function describeKeyFile(raw: Buffer): string {
  if (raw.length === 0) return 'is empty';
  const text = raw.toString('latin1');
  const body = text.replace(/\r?\n$/, '');
  const newline = body.length < text.length ? ' and a newline' : '';
  if (/^[0-9a-fA-F]+$/.test(body)) return `holds ${body.length} hex characters${newline} (${body.length % 2 === 0 ? `${body.length / 2} bytes` : 'an odd count'}); expected 64 hex characters (32 bytes)`;
  if (/^[0-9a-fA-F]{64}$/.test(body.trim())) return 'holds 64 hex characters with other whitespace around them; expected them alone, with at most one trailing newline';
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(body) && body.length % 4 === 0) {
    return `holds ${body.length} characters of base64 text; expected 32 raw bytes or 64 hex characters (decode it, e.g. \`base64 -d\`, or generate a new key)`;
  }
  return `holds ${raw.length} bytes that are neither 32 raw bytes nor 64 hex characters`;
}

export function readLocalKeyFile(path: string): Buffer {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(path);
  } catch (err) {
    throw new ArchiverError('EKEY', `cannot read key file ${path}: ${(err as Error).message}`, { cause: err, hint: `point --key at the key file; ${KEY_HINT}` });
  }
  if (raw.length === 32) return raw;
  const text = raw.toString('latin1').replace(/\r?\n$/, '');
  if (/^[0-9a-fA-F]{64}$/.test(text)) {
    const key = Buffer.from(text, 'hex');
    raw.fill(0);
    return key;
  }
  const what = describeKeyFile(raw);
  raw.fill(0);
  throw new ArchiverError('EKEY', `key file ${path} ${what}`, { hint: KEY_HINT });
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
