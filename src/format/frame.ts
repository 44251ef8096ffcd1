/**
 * Records: every frame and the trailer are stored as `nonce(12) | length u32 BE | ciphertext || tag(16)`.
 * The nonce is a deterministic counter: bytes 0..3 say which record kind (0 frame, 1 trailer) and bytes
 * 4..11 the frame index, so nonces never repeat under the per-object key. The AAD binds the header digest,
 * the frame index and whether this is the final frame, which is what makes reordering, duplication,
 * truncation and splicing detectable.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import {
  AAD_LABEL_FRAME,
  AAD_LABEL_TRAILER,
  NONCE_LENGTH,
  RECORD_FRAME,
  RECORD_PREFIX_LENGTH,
  RECORD_TRAILER,
  TAG_LENGTH,
} from './constants.ts';

function nonce(kind: number, counter: number): Buffer {
  const n = Buffer.alloc(NONCE_LENGTH);
  n.writeUInt32BE(kind, 0);
  n.writeBigUInt64BE(BigInt(counter), 4);
  return n;
}

export function frameNonce(index: number): Buffer {
  return nonce(RECORD_FRAME, index);
}

export const TRAILER_NONCE: Buffer = nonce(RECORD_TRAILER, 0);

export function frameAad(headerDigest: Uint8Array, index: number, final: boolean): Buffer {
  const tail = Buffer.alloc(9);
  tail.writeBigUInt64BE(BigInt(index), 0);
  tail[8] = final ? 1 : 0;
  return Buffer.concat([AAD_LABEL_FRAME, headerDigest, tail]);
}

export function trailerAad(headerDigest: Uint8Array, frameCount: number): Buffer {
  const tail = Buffer.alloc(8);
  tail.writeBigUInt64BE(BigInt(frameCount), 0);
  return Buffer.concat([AAD_LABEL_TRAILER, headerDigest, tail]);
}

/**
 * Largest allowed record body (ciphertext || tag) for a segment size: above zstd's worst-case expansion
 * (S + S/256 + 64), so a valid frame always fits, yet small enough that a corrupt length field cannot make
 * a reader allocate much more than one segment.
 */
export function maxRecordBody(segmentSize: number): number {
  return segmentSize + Math.floor(segmentSize / 128) + 4096;
}

/** Encrypts `payload` into a complete record in its own ArrayBuffer (transferable between threads). */
export function sealRecord(key: Uint8Array, recordNonce: Buffer, aad: Buffer, payload: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-256-gcm', key, recordNonce, { authTagLength: TAG_LENGTH });
  cipher.setAAD(aad);
  const body = cipher.update(payload);
  const rest = cipher.final();
  const tag = cipher.getAuthTag();
  const bodyLength = body.length + rest.length + TAG_LENGTH;
  const record = new Uint8Array(new ArrayBuffer(RECORD_PREFIX_LENGTH + bodyLength));
  record.set(recordNonce, 0);
  new DataView(record.buffer).setUint32(NONCE_LENGTH, bodyLength);
  record.set(body, RECORD_PREFIX_LENGTH);
  record.set(rest, RECORD_PREFIX_LENGTH + body.length);
  record.set(tag, RECORD_PREFIX_LENGTH + body.length + rest.length);
  return record;
}

/** Decrypts a record body (ciphertext || tag); undefined when authentication fails. */
export function openRecordBody(key: Uint8Array, recordNonce: Buffer, aad: Buffer, body: Uint8Array): Buffer | undefined {
  if (body.length < TAG_LENGTH) return undefined;
  const split = body.length - TAG_LENGTH;
  const decipher = createDecipheriv('aes-256-gcm', key, recordNonce, { authTagLength: TAG_LENGTH });
  decipher.setAAD(aad);
  decipher.setAuthTag(body.subarray(split));
  const plain = decipher.update(body.subarray(0, split));
  try {
    const rest = decipher.final();
    return rest.length === 0 ? plain : Buffer.concat([plain, rest]);
  } catch {
    plain.fill(0);
    return undefined;
  }
}

export interface RecordPrefix {
  kind: number;
  counter: bigint;
  bodyLength: number;
  nonce: Buffer;
}

export function parseRecordPrefix(prefix: Buffer): RecordPrefix {
  return {
    kind: prefix.readUInt32BE(0),
    counter: prefix.readBigUInt64BE(4),
    bodyLength: prefix.readUInt32BE(NONCE_LENGTH),
    nonce: Buffer.from(prefix.subarray(0, NONCE_LENGTH)),
  };
}
