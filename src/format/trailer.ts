/**
 * The trailer: the last record of an object, encrypted under the object key with its own nonce and AAD.
 * It carries the totals a reader checks at the end, so a truncated object cannot pass as complete, and from
 * format version 2 on the planning digest (docs/FORMAT.md 5.2, 5.3): the SHA-256 of the binlog's planning
 * fields, bound to the object by the same authentication as the data.
 */
import { TRAILER_PLAINTEXT_LENGTH, TRAILER_PLAINTEXT_LENGTH_V2 } from './constants.ts';

export interface TrailerFields {
  plaintextLength: number;
  frameCount: number;
  compressedLength: number;
  plaintextSha256: Buffer;
  /** 32 bytes in version 2; null in version 1, which has none. */
  planningSha256: Buffer | null;
}

/** Plaintext length of the trailer of a given format version. */
export function trailerLength(version: number): number {
  return version === 1 ? TRAILER_PLAINTEXT_LENGTH : TRAILER_PLAINTEXT_LENGTH_V2;
}

export function encodeTrailer(t: TrailerFields): Buffer {
  const out = Buffer.alloc(t.planningSha256 === null ? TRAILER_PLAINTEXT_LENGTH : TRAILER_PLAINTEXT_LENGTH_V2);
  out.writeBigUInt64BE(BigInt(t.plaintextLength), 0);
  out.writeBigUInt64BE(BigInt(t.frameCount), 8);
  out.writeBigUInt64BE(BigInt(t.compressedLength), 16);
  t.plaintextSha256.copy(out, 24);
  t.planningSha256?.copy(out, 56);
  return out;
}

/** Decodes an authenticated trailer of `version`; a TypeError means its values cannot be right (encoder bug). */
export function decodeTrailer(b: Buffer, version: number): TrailerFields {
  const expected = trailerLength(version);
  if (b.length !== expected) throw new TypeError(`trailer plaintext is ${b.length} bytes, expected ${expected} for format version ${version}`);
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
    planningSha256: version === 1 ? null : Buffer.from(b.subarray(56, 88)),
  };
}
