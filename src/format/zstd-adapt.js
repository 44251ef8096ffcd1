/**
 * Per-segment choice of how zstd compresses a segment, made from a sample of its bytes:
 *
 * - stored: a segment that zstd would shrink by less than 1/32 is written at zstd's fastest level, which stores
 *   it (raw blocks, with the frame's content size and XXH64 checksum as always). Binlogs written with MySQL's
 *   binlog_transaction_compression hold Transaction_payload events the server already compressed; large
 *   transactions leave nothing for a second zstd to find (measured: 1.000 of the input at every level), and
 *   compressing them again costs the database node's CPU for nothing (docs/PERFORMANCE.md).
 * - small table: at levels 1–3 (zstd's fast and dfast strategies) a segment whose sample shrinks below half is
 *   compressed with a 32 KiB hash table (hashLog 13) instead of the level's own (64–512 KiB; level 3's second
 *   table, sized by chainLog, keeps its size). Ordinary row and
 *   statement binlogs compress that way in 15–25 % less CPU at the same size or smaller (the table stays in the
 *   core's cache; measured on the bench's OLTP and bulk binlogs at levels 1, 2 and 3: docs/PERFORMANCE.md).
 *   Segments that compress less (small compressed transactions) lose matches with the small table, 1.03× →
 *   1.08× of `zstd -3`, so they keep the level's own.
 * - otherwise: the level's own parameters.
 *
 * The choice is made from the bytes alone, so it is deterministic (a resumed upload re-creates identical bytes):
 * the segment's first PROBE_BYTES are compressed with the small table (at levels 1–3; the level's own above); below
 * half, the small table; otherwise, unless that sample gains less than 1/32, the level's own; if it does, the last
 * PROBE_BYTES too, and the segment is stored only when both gain less than 1/32. Segments that compress stop after
 * the first sample: ~1 % of the segment's compression. Whatever the choice, every frame is one standard zstd frame
 * (`zstd -d` reads it) and is verified like any other.
 *
 * Plain JavaScript, like everything the worker threads load (see segment-worker.js).
 */

/** zstd's fastest level (ZSTD_minCLevel, -ZSTD_TARGETLENGTH_MAX): it skips the match search and, in practice, writes raw blocks. */
export const STORED_LEVEL = -131072;

/** Bytes compressed from each end of a segment to decide. */
export const PROBE_BYTES = 32 * 1024;

/** The small match table (2^13 four-byte entries) and the levels it is used at. */
export const SMALL_TABLE_HASH_LOG = 13;
export const SMALL_TABLE_MAX_LEVEL = 3;

/**
 * Names this rule. Another rule gives other bytes for the same binlog, and re-encrypting other bytes under the
 * same data key and identity would repeat GCM nonces: an interrupted upload is resumed only under the same rule
 * (src/pipeline/encoding-plan.ts).
 */
export const ADAPT_RULE = 'store-below-1/32.hashlog13-below-1/2-at-1..3.v2';

/** Segments shorter than this (at most the final one of a binlog, or tiny segment sizes) are not probed. */
export const MIN_PROBED_LENGTH = 2 * PROBE_BYTES;

/**
 * @typedef {object} SegmentEncoding
 * @property {number} level zstd level: the configured one, or STORED_LEVEL
 * @property {number} hashLog 0: the level's own match table
 */

/**
 * How to compress `source` at the configured `level`.
 * @param {Uint8Array} source
 * @param {number} level
 * @param {(sample: Uint8Array, hashLog: number) => number} compressedLength compresses a sample at `level` with that table
 * @returns {SegmentEncoding}
 */
export function segmentEncoding(source, level, compressedLength) {
  const own = { level, hashLog: 0 };
  if (source.length < MIN_PROBED_LENGTH) return own;
  const probeTable = level >= 1 && level <= SMALL_TABLE_MAX_LEVEL ? SMALL_TABLE_HASH_LOG : 0;
  const gainsEnough = (/** @type {Uint8Array} */ sample, /** @type {number} */ n) => n < sample.length - (sample.length >>> 5);
  const first = source.subarray(0, PROBE_BYTES);
  const n = compressedLength(first, probeTable);
  if (probeTable !== 0 && n < first.length >>> 1) return { level, hashLog: probeTable };
  if (gainsEnough(first, n)) return own;
  const last = source.subarray(source.length - PROBE_BYTES);
  if (gainsEnough(last, compressedLength(last, probeTable))) return own;
  return { level: STORED_LEVEL, hashLog: 0 };
}
