/**
 * zstd through node:zlib. Each segment becomes one independent, complete zstd frame with the content size
 * and a content checksum in it, so the concatenated frames are a multi-frame stream `zstd -d` reads.
 * (zstd's own nbWorkers is not used: parallelism comes from compressing segments on separate threads.)
 * The implementation, and the reusable contexts the workers compress and decompress with, are in
 * zstd-core.js (plain JavaScript, see segment-worker.js).
 */
export { compressSegment, decompressSegment, native, ZstdCompressor, zstdCompressBound, ZstdDecompressor } from './zstd-core.js';
