/**
 * Per-segment choice of zstd level: a segment that zstd would shrink by less than 1/32 is written at zstd's
 * fastest level, which stores it (raw blocks, with the frame's content size and XXH64 checksum as always).
 * Binlogs written with MySQL's binlog_transaction_compression hold Transaction_payload events the server
 * already compressed; large transactions leave nothing for a second zstd to find (measured: 1.000 of the input at
 * every level), and compressing them again costs the database node's CPU for nothing (docs/PERFORMANCE.md).
 *
 * The choice is made from the bytes alone, so it is deterministic (a resumed upload re-creates identical bytes):
 * the segment's first and last PROBE_BYTES are compressed at the configured level; only when both gain less than
 * 1/32 is the segment stored. Segments that compress (ordinary binlogs, small compressed transactions, whose
 * payloads are mostly raw literals and still shrink ~40 %) stop after the first sample: ~1 % of the segment's
 * compression. Whatever the choice, every frame is one standard zstd frame (`zstd -d` reads it) and is verified
 * like any other.
 *
 * Plain JavaScript, like everything the worker threads load (see segment-worker.js).
 */

/** zstd's fastest level (ZSTD_minCLevel, -ZSTD_TARGETLENGTH_MAX): it skips the match search and, in practice, writes raw blocks. */
export const STORED_LEVEL = -131072;

/** Bytes compressed from each end of a segment to decide. */
export const PROBE_BYTES = 32 * 1024;

/**
 * Names this rule. Another rule gives other bytes for the same binlog, and re-encrypting other bytes under the
 * same data key and identity would repeat GCM nonces: an interrupted upload is resumed only under the same rule
 * (src/pipeline/encoding-plan.ts).
 */
export const ADAPT_RULE = 'store-below-1/32-v1';

/** Segments shorter than this (at most the final one of a binlog, or tiny segment sizes) are not probed. */
export const MIN_PROBED_LENGTH = 2 * PROBE_BYTES;

/**
 * Whether zstd at the configured level would gain less than 1/32 on `source` (then: store it).
 * @param {Uint8Array} source
 * @param {(sample: Uint8Array) => number} compressedLength compresses a sample at the configured level
 * @returns {boolean}
 */
export function gainsTooLittle(source, compressedLength) {
  if (source.length < MIN_PROBED_LENGTH) return false;
  for (const at of [0, source.length - PROBE_BYTES]) {
    const sample = source.subarray(at, at + PROBE_BYTES);
    if (compressedLength(sample) < sample.length - (sample.length >>> 5)) return false;
  }
  return true;
}
