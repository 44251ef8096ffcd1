/**
 * The record layer shared by the main thread and the worker threads: record constants, the deterministic
 * nonces, the frame AAD and opening (decrypting and authenticating) a record body. frame.ts adds what only
 * the main thread needs and re-exports these; constants.ts re-exports the constants.
 *
 * Plain JavaScript, like everything the worker threads load (see segment-worker.js).
 */
import { Buffer } from 'node:buffer';
import { createDecipheriv } from 'node:crypto';
import { release } from './buffers.js';

export const NONCE_LENGTH = 12;
export const TAG_LENGTH = 16;
/** nonce(12) | length u32 BE. */
export const RECORD_PREFIX_LENGTH = 16;
/** Nonce bytes 0..3: which kind of record follows. */
export const RECORD_FRAME = 0;
export const RECORD_TRAILER = 1;
export const AAD_LABEL_FRAME = Buffer.from('binlog-archiver/v1/frame', 'ascii');
export const AAD_LABEL_TRAILER = Buffer.from('binlog-archiver/v1/trailer', 'ascii');

/**
 * @param {number} kind
 * @param {number} counter
 * @returns {Buffer}
 */
export function recordNonce(kind, counter) {
  const n = Buffer.alloc(NONCE_LENGTH);
  n.writeUInt32BE(kind, 0);
  n.writeBigUInt64BE(BigInt(counter), 4);
  return n;
}

/**
 * @param {number} index
 * @returns {Buffer}
 */
export function frameNonce(index) {
  return recordNonce(RECORD_FRAME, index);
}

/**
 * @param {Uint8Array} headerDigest
 * @param {number} index
 * @param {boolean} final
 * @returns {Buffer}
 */
export function frameAad(headerDigest, index, final) {
  const tail = Buffer.alloc(9);
  tail.writeBigUInt64BE(BigInt(index), 0);
  tail[8] = final ? 1 : 0;
  return Buffer.concat([AAD_LABEL_FRAME, headerDigest, tail]);
}

/**
 * Largest allowed record body (ciphertext || tag) for a segment size: above zstd's worst-case expansion
 * (S + S/256 + 64), so a valid frame always fits, yet small enough that a corrupt length field cannot make
 * a reader allocate much more than one segment.
 * @param {number} segmentSize
 * @returns {number}
 */
export function maxRecordBody(segmentSize) {
  return segmentSize + Math.floor(segmentSize / 128) + 4096;
}

/**
 * Decrypts a record body (ciphertext || tag); undefined when authentication fails.
 * @param {Uint8Array} key
 * @param {Buffer} nonce
 * @param {Buffer} aad
 * @param {Uint8Array} body
 * @returns {Buffer | undefined}
 */
export function openRecordBody(key, nonce, aad, body) {
  if (body.length < TAG_LENGTH) return undefined;
  const split = body.length - TAG_LENGTH;
  return openCiphertext(key, nonce, aad, body.subarray(0, split), body.subarray(split));
}

/**
 * Whether a record body (ciphertext || tag) authenticates and decrypts to exactly `expected`: 'ok', 'auth' (the tag
 * does not verify) or 'differs'. Decrypts in pieces of `piece` bytes compared as they come, freed at once: no
 * buffer of the record's size (docs/PERFORMANCE.md 4e).
 * @param {Uint8Array} key
 * @param {Buffer} nonce
 * @param {Buffer} aad
 * @param {Uint8Array} body
 * @param {Uint8Array} expected
 * @param {number} piece
 * @returns {'ok' | 'auth' | 'differs'}
 */
export function recordMatches(key, nonce, aad, body, expected, piece) {
  if (body.length < TAG_LENGTH) return 'auth';
  const split = body.length - TAG_LENGTH;
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
  decipher.setAAD(aad);
  decipher.setAuthTag(body.subarray(split));
  let same = split === expected.length;
  let at = 0;
  for (let off = 0; off < split; off += piece) {
    const plain = decipher.update(body.subarray(off, Math.min(off + piece, split)));
    const end = at + plain.length;
    same = same && end <= expected.length && Buffer.compare(plain, expected.subarray(at, end)) === 0;
    at = end;
    release(plain);
  }
  try {
    if (decipher.final().length !== 0) same = false;
  } catch {
    return 'auth';
  }
  return same && at === expected.length ? 'ok' : 'differs';
}

/**
 * Decrypts a ciphertext whose tag is held apart; undefined when authentication fails.
 * @param {Uint8Array} key
 * @param {Buffer} nonce
 * @param {Buffer} aad
 * @param {Uint8Array} ciphertext
 * @param {Uint8Array} tag
 * @returns {Buffer | undefined}
 */
export function openCiphertext(key, nonce, aad, ciphertext, tag) {
  if (tag.length !== TAG_LENGTH) return undefined;
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const plain = decipher.update(ciphertext);
  try {
    const rest = decipher.final();
    return rest.length === 0 ? plain : Buffer.concat([plain, rest]);
  } catch {
    plain.fill(0);
    return undefined;
  }
}
