/**
 * Records: every frame and the trailer are stored as `nonce(12) | length u32 BE | ciphertext || tag(16)`.
 * The nonce is a deterministic counter: bytes 0..3 say which record kind (0 frame, 1 trailer) and bytes
 * 4..11 the frame index, so nonces never repeat under the per-object key. The AAD binds the header digest,
 * the frame index and whether this is the final frame, which is what makes reordering, duplication,
 * truncation and splicing detectable.
 */
import { createCipheriv } from 'node:crypto';
import { AAD_LABEL_TRAILER, NONCE_LENGTH, RECORD_PREFIX_LENGTH, RECORD_TRAILER, TAG_LENGTH } from './constants.ts';
import { recordNonce } from './frame-core.js';

// What the worker threads need too lives in frame-core.js (plain JavaScript, see segment-worker.js).
export { frameAad, frameNonce, maxRecordBody, openRecordBody } from './frame-core.js';

export const TRAILER_NONCE: Buffer = recordNonce(RECORD_TRAILER, 0);

export function trailerAad(headerDigest: Uint8Array, frameCount: number): Buffer {
  const tail = Buffer.alloc(8);
  tail.writeBigUInt64BE(BigInt(frameCount), 0);
  return Buffer.concat([AAD_LABEL_TRAILER, headerDigest, tail]);
}

/** Encrypts `payload` into a complete record in its own ArrayBuffer (transferable between threads). */
export function sealRecord(key: Uint8Array, nonce: Buffer, aad: Buffer, payload: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
  cipher.setAAD(aad);
  const body = cipher.update(payload);
  const rest = cipher.final();
  const tag = cipher.getAuthTag();
  const bodyLength = body.length + rest.length + TAG_LENGTH;
  const record = new Uint8Array(new ArrayBuffer(RECORD_PREFIX_LENGTH + bodyLength));
  record.set(nonce, 0);
  new DataView(record.buffer).setUint32(NONCE_LENGTH, bodyLength);
  record.set(body, RECORD_PREFIX_LENGTH);
  record.set(rest, RECORD_PREFIX_LENGTH + body.length);
  record.set(tag, RECORD_PREFIX_LENGTH + body.length + rest.length);
  return record;
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
