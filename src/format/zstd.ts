/**
 * zstd through node:zlib. Each segment becomes one independent, complete zstd frame with the content size
 * and a content checksum in it, so the concatenated frames are a multi-frame stream `zstd -d` reads.
 * (zstd's own nbWorkers is not used: parallelism comes from compressing segments on separate threads.)
 */
import { constants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';

/** zstd's worst-case compressed size (ZSTD_COMPRESSBOUND). */
export function zstdCompressBound(n: number): number {
  return n + (n >>> 8) + (n < 131072 ? (131072 - n) >>> 11 : 0);
}

export function compressSegment(data: Uint8Array, level: number): Buffer {
  return zstdCompressSync(data, {
    params: {
      [constants.ZSTD_c_compressionLevel]: level,
      [constants.ZSTD_c_checksumFlag]: 1,
      [constants.ZSTD_c_contentSizeFlag]: 1,
    },
    pledgedSrcSize: data.length,
    // One output chunk: avoids the concatenation of many small chunks.
    chunkSize: Math.max(1024, zstdCompressBound(data.length)),
  });
}

/**
 * Decompresses at most `maxLength` bytes; throws (RangeError or zstd Error) on corrupt or oversized input.
 * Only the first frame of `data` is decoded (node:zlib ignores the rest): see zstd-frames.ts.
 */
export function decompressSegment(data: Uint8Array, expectedLength: number, maxLength: number): Buffer {
  return zstdDecompressSync(data, { maxOutputLength: Math.max(1, maxLength), chunkSize: Math.max(1024, expectedLength) });
}
