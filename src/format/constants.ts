/**
 * Fixed numbers and labels of archive object formats v1 and v2 (v2 = v1 plus the planning digest in the
 * trailer). Every value here is part of the on-disk format: changing one breaks every archive already
 * written, so docs/FORMAT.md names each of them.
 */

/** First 8 bytes of every object: 0x89 "BLAR" CR LF 0x1A (a binary marker that text-mode transfers damage visibly). */
export const MAGIC = Buffer.from([0x89, 0x42, 0x4c, 0x41, 0x52, 0x0d, 0x0a, 0x1a]);
/** The version writers write when they bind planning fields (docs/FORMAT.md 5.3); readers read 1 and 2. */
export const FORMAT_VERSION = 2;
export const READABLE_FORMAT_VERSIONS: readonly number[] = Object.freeze([1, 2]);
/** magic(8) | version u16 | flags u16 | body length u32. */
export const PREFIX_LENGTH = 16;
/** Upper bound on the JSON header body, so a corrupt length cannot make a reader allocate gigabytes. */
export const MAX_HEADER_BODY = 65536;

export const ALGORITHMS = Object.freeze({ compression: 'zstd', aead: 'aes-256-gcm', kdf: 'hkdf-sha256' });

export const DEFAULT_SEGMENT_SIZE = 4 * 1024 * 1024;
export const MIN_SEGMENT_SIZE = 1024;
export const MAX_SEGMENT_SIZE = 64 * 1024 * 1024;
/** Level 2: half the compression CPU of level 3 at 0.97-1.014x the size of `zstd -3` on bulk and OLTP binlogs (docs/PERFORMANCE.md §4c). */
export const DEFAULT_ZSTD_LEVEL = 2;
export const MIN_ZSTD_LEVEL = 1;
export const MAX_ZSTD_LEVEL = 19;

export const DEK_LENGTH = 32;
// NONCE_LENGTH 12, TAG_LENGTH 16, RECORD_PREFIX_LENGTH 16 (nonce(12) | length u32 BE), RECORD_FRAME 0 and
// RECORD_TRAILER 1 (nonce bytes 0..3: which kind of record follows), and the AAD labels: defined in
// frame-core.js, which the worker threads load too.
export { AAD_LABEL_FRAME, AAD_LABEL_TRAILER, NONCE_LENGTH, RECORD_FRAME, RECORD_PREFIX_LENGTH, RECORD_TRAILER, TAG_LENGTH } from './frame-core.js';

/** plaintextLength u64 | frameCount u64 | compressedLength u64 | plaintextSha256 (32): version 1. */
export const TRAILER_PLAINTEXT_LENGTH = 56;
/** Version 2: the version 1 fields | planningSha256 (32). */
export const TRAILER_PLAINTEXT_LENGTH_V2 = 88;
export const PLANNING_DIGEST_LENGTH = 32;

export const HKDF_SALT = Buffer.from('binlog-archiver/format/v1', 'ascii');
export const HKDF_INFO_FRAME_KEY = Buffer.from('aes-256-gcm key', 'ascii');
export const HKDF_INFO_KEY_CHECK = Buffer.from('key check', 'ascii');

/** Byte limits of identity strings; together they keep the HKDF info below Node's 1024-byte limit. */
export const IDENTITY_LIMITS = Object.freeze({ source: 255, binlogFile: 255, correlationId: 128, batchId: 128 });
