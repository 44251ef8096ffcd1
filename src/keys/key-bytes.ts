/**
 * Taking a plaintext data key out of a provider response: copied into a buffer of our own (Buffer.alloc, never
 * a slice of Node's shared pool, so zeroing it cannot miss a copy and cannot touch unrelated bytes), and the
 * response's own bytes zeroed at once. Strings (JSON bodies, base64 fields) are immutable in JavaScript and
 * cannot be zeroed; they are dropped as soon as they are decoded and left to the garbage collector.
 */
import { zero } from './key-provider.ts';
import { type KeyOperation, keyFailure } from './key-failure.ts';

export const DATA_KEY_BYTES = 32;

export function takeDataKey(bytes: Uint8Array | undefined, op: KeyOperation): Buffer {
  try {
    if (bytes?.length !== DATA_KEY_BYTES) {
      throw keyFailure(op, 'EKEY', `the answer held ${bytes?.length ?? 0} plaintext key bytes, not ${DATA_KEY_BYTES}`);
    }
    const key = Buffer.alloc(DATA_KEY_BYTES);
    key.set(bytes);
    return key;
  } finally {
    bytes?.fill(0);
  }
}

export function dataKeyFromBase64(text: unknown, op: KeyOperation): Buffer {
  // 32 bytes are exactly 44 base64 characters with one '=' of padding.
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(text)) {
    throw keyFailure(op, 'EKEY', `the answer held no ${DATA_KEY_BYTES}-byte plaintext key`);
  }
  const key = Buffer.alloc(DATA_KEY_BYTES);
  const written = key.write(text, 'base64');
  if (written !== DATA_KEY_BYTES) {
    zero(key);
    throw keyFailure(op, 'EKEY', `the answer held ${written} plaintext key bytes, not ${DATA_KEY_BYTES}`);
  }
  return key;
}
