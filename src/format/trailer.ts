/**
 * The trailer: the last record of an object, encrypted under the object key with its own nonce and AAD.
 * It carries the totals a reader checks at the end, so a truncated object cannot pass as complete.
 */
import { TRAILER_PLAINTEXT_LENGTH } from './constants.ts';

export interface TrailerFields {
  plaintextLength: number;
  frameCount: number;
  compressedLength: number;
  plaintextSha256: Buffer;
}

export function encodeTrailer(t: TrailerFields): Buffer {
  const out = Buffer.alloc(TRAILER_PLAINTEXT_LENGTH);
  out.writeBigUInt64BE(BigInt(t.plaintextLength), 0);
  out.writeBigUInt64BE(BigInt(t.frameCount), 8);
  out.writeBigUInt64BE(BigInt(t.compressedLength), 16);
  t.plaintextSha256.copy(out, 24);
  return out;
}

/** Decodes an authenticated trailer; a TypeError means its values cannot be right (encoder bug). */
export function decodeTrailer(b: Buffer): TrailerFields {
  if (b.length !== TRAILER_PLAINTEXT_LENGTH) throw new TypeError(`trailer plaintext is ${b.length} bytes, expected ${TRAILER_PLAINTEXT_LENGTH}`);
  const u64 = (offset: number, name: string): number => {
    const v = b.readBigUInt64BE(offset);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new TypeError(`trailer ${name} ${v} is out of range`);
    return Number(v);
  };
  return {
    plaintextLength: u64(0, 'plaintext length'),
    frameCount: u64(8, 'frame count'),
    compressedLength: u64(16, 'compressed length'),
    plaintextSha256: Buffer.from(b.subarray(24, 56)),
  };
}
