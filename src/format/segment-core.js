/**
 * The work done per segment on a worker thread, as plain functions (testable without threads); the task
 * and result shapes are declared in segment-tasks.ts, which re-exports these.
 * seal:     compress + encrypt one segment and, when asked, verify the frame by decrypting and
 *           decompressing it again and comparing with the source bytes;
 * open:     decrypt + decompress one frame and check its length against the segment size;
 * compress: compress (+ verify) only, for the openssl compatibility mode, whose CBC layer is serial;
 * decompress: one zstd frame, for decoding that mode.
 *
 * Buffers travel as whole ArrayBuffers so they can be transferred rather than copied, and the big ones make
 * round trips: the caller hands in the buffers results are written to, or gets its input buffers back, and
 * reuses them. A worker keeps nothing per segment: its zstd contexts and scratch buffers live as long as the
 * thread (zstd-core.js explains why that matters), what node:crypto returns is freed as soon as it has been
 * used (buffers.js), and a sealed record leaves in the buffer it was built in.
 *
 * Plain JavaScript, like everything the worker threads load (see segment-worker.js).
 */
import { createCipheriv, createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { newBuffer, release } from './buffers.js';
import { frameAad, frameNonce, NONCE_LENGTH, openRecordBody, RECORD_PREFIX_LENGTH, recordMatches, TAG_LENGTH } from './frame-core.js';
import { segmentEncoding, STORED_LEVEL } from './zstd-adapt.js';
import { ZstdCompressor, ZstdDecompressor, zstdCompressBound, zstdFrameLength } from './zstd-core.js';

/** @import { ErrorCode } from '../errors.ts' */
/** @import { SealTask, SealResult, OpenTask, OpenResult, CompressTask, CompressResult, DecompressTask, DecompressResult, HashTask, HashResult, Task, TaskResult } from './segment-tasks.ts' */

/** A failure with a code; the caller adds the object name and offset. */
export class TaskError extends Error {
  /**
   * @param {ErrorCode} code
   * @param {string} reason
   */
  constructor(code, reason) {
    super(reason);
    /** @readonly */
    this.code = code;
  }
}

/**
 * The ArrayBuffer of `b` when `b` covers all of it, otherwise a copy that does (pooled buffers cannot move).
 * @param {Uint8Array} b
 * @returns {ArrayBuffer}
 */
export function ownArrayBuffer(b) {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return b.buffer;
  const copy = new Uint8Array(new ArrayBuffer(b.byteLength));
  copy.set(b);
  return copy.buffer;
}

// Per-thread state: zstd contexts and the scratch buffers frames are compressed and verified in.
/** @type {Map<string, ZstdCompressor>} */
const compressors = new Map();
const decompressor = new ZstdDecompressor();
let compressScratch = new Uint8Array(0);

/**
 * @param {number} level
 * @param {number} [hashLog] 0: the level's own match table
 * @returns {ZstdCompressor}
 */
function compressor(level, hashLog = 0) {
  const key = `${level}/${hashLog}`;
  let c = compressors.get(key);
  if (c === undefined) {
    c = new ZstdCompressor(level, hashLog);
    compressors.set(key, c);
  }
  return c;
}

/**
 * Compresses into the thread's scratch buffer; the view is valid until the next call.
 * @param {Uint8Array} source
 * @param {number} level
 * @param {number} [hashLog]
 * @returns {Uint8Array}
 */
function compressToScratch(source, level, hashLog = 0) {
  const bound = zstdCompressBound(source.length);
  if (compressScratch.length < bound) compressScratch = new Uint8Array(newBuffer(bound));
  return compressScratch.subarray(0, compressor(level, hashLog).compressInto(source, compressScratch));
}

/**
 * Decompresses `data`, which must be exactly one zstd frame (node:zlib would ignore anything after it), into `out`.
 * @param {Uint8Array} data
 * @param {Uint8Array} out
 * @returns {number}
 */
function decompressOneFrame(data, out) {
  const frameLength = zstdFrameLength(data);
  if (frameLength !== data.length) throw new TypeError(`${data.length - frameLength} bytes follow the zstd frame`);
  return decompressor.decompressInto(data, out);
}

/** The piece size a frame is decompressed in to be compared with its source (verifyDecompressed). */
const VERIFY_CHUNK = 128 * 1024;
let verifyChunk = new Uint8Array(0);

/**
 * Decompresses `compressed`, which must be exactly one zstd frame, and compares the content with `source`. In
 * pieces (ZstdDecompressor.matches): a segment-sized output buffer per worker would cost up to 4 MiB of RSS each
 * (docs/PERFORMANCE.md 4d).
 * @param {Uint8Array} source
 * @param {Uint8Array} compressed
 * @param {number} index
 * @returns {void}
 */
function verifyDecompressed(source, compressed, index) {
  if (verifyChunk.length === 0) verifyChunk = new Uint8Array(newBuffer(VERIFY_CHUNK));
  let same;
  try {
    const frameLength = zstdFrameLength(compressed);
    if (frameLength !== compressed.length) throw new TypeError(`${compressed.length - frameLength} bytes follow the zstd frame`);
    same = decompressor.matches(compressed, source, verifyChunk);
  } catch (err) {
    throw new TaskError('EVERIFY', `segment ${index}: the frame just compressed does not decompress (${/** @type {Error} */ (err).message})`);
  }
  if (!same) throw new TaskError('EVERIFY', `segment ${index}: decompressing the frame just written does not reproduce the ${source.length} source bytes`);
}

/**
 * The piece size frames are encrypted and decrypted in: what node:crypto returns per call is that large, not a
 * frame (up to ~4 MiB) per call (docs/PERFORMANCE.md 4e).
 */
const CRYPTO_PIECE = 128 * 1024;

/**
 * The sealed record nonce || u32 length || ciphertext || tag, in a buffer of its own that moves to the main thread;
 * the frame is encrypted in pieces copied into it as they come.
 * @param {Uint8Array} key
 * @param {Buffer} nonce
 * @param {Buffer} aad
 * @param {Uint8Array} compressed
 * @returns {Uint8Array}
 */
function encryptToRecord(key, nonce, aad, compressed) {
  const bodyLength = compressed.length + TAG_LENGTH;
  const record = new Uint8Array(newBuffer(RECORD_PREFIX_LENGTH + bodyLength));
  record.set(nonce, 0);
  new DataView(record.buffer).setUint32(NONCE_LENGTH, bodyLength);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
  cipher.setAAD(aad);
  let at = RECORD_PREFIX_LENGTH;
  const put = (/** @type {Buffer} */ piece) => {
    // GCM's ciphertext is as long as its plaintext: never past the tag's place.
    if (at + piece.length > RECORD_PREFIX_LENGTH + compressed.length) throw new TaskError('EINTERNAL', 'AES-256-GCM returned more ciphertext than plaintext');
    record.set(piece, at);
    at += piece.length;
    release(piece);
  };
  for (let off = 0; off < compressed.length; off += CRYPTO_PIECE) put(cipher.update(compressed.subarray(off, Math.min(off + CRYPTO_PIECE, compressed.length))));
  put(cipher.final());
  if (at !== RECORD_PREFIX_LENGTH + compressed.length) throw new TaskError('EINTERNAL', 'AES-256-GCM returned less ciphertext than plaintext');
  record.set(cipher.getAuthTag(), at);
  return record;
}

/**
 * @param {SealTask} task
 * @returns {SealResult}
 */
export function seal(task) {
  const source = new Uint8Array(task.segment, 0, task.length);
  try {
    // zstd-adapt.js: a segment zstd would barely shrink is stored (zstd's fastest level) instead, and one that
    // compresses well gets the small match table.
    const how = task.adapt === true
      ? segmentEncoding(source, task.level, (sample, hashLog) => compressToScratch(sample, task.level, hashLog).length)
      : { level: task.level, hashLog: 0 };
    const compressed = compressToScratch(source, how.level, how.hashLog);
    const aad = frameAad(task.headerDigest, task.index, task.final);
    const nonce = frameNonce(task.index);
    const record = encryptToRecord(task.key, nonce, aad, compressed);
    const compressedLength = compressed.length;
    if (task.verify) {
      // The record exactly as it will be written (tag included) must authenticate and decrypt to the frame, and
      // the frame decompress to the source: together, what decompressing the decrypted record checked.
      const body = record.subarray(RECORD_PREFIX_LENGTH);
      const opened = recordMatches(task.key, nonce, aad, body, compressed, CRYPTO_PIECE);
      if (opened === 'auth') throw new TaskError('EVERIFY', `segment ${task.index}: the frame just encrypted fails authentication`);
      if (opened === 'differs') throw new TaskError('EVERIFY', `segment ${task.index}: the frame just encrypted does not decrypt to the ${compressedLength} bytes compressed`);
      verifyDecompressed(source, compressed, task.index);
    }
    const stored = how.level === STORED_LEVEL;
    return { kind: 'seal', record: /** @type {ArrayBuffer} */ (record.buffer), compressedLength, stored, smallTable: how.hashLog !== 0, segment: task.segment };
  } finally {
    task.key.fill(0);
  }
}

/**
 * @param {OpenTask} task
 * @returns {OpenResult}
 */
export function open(task) {
  const started = performance.now();
  try {
    const body = new Uint8Array(task.body, 0, task.bodyLength ?? task.body.byteLength);
    const compressed = openRecordBody(task.key, frameNonce(task.index), frameAad(task.headerDigest, task.index, task.final), body);
    if (compressed === undefined) throw new TaskError('EAUTH', 'failed authentication (AES-256-GCM tag mismatch)');
    // Non-final frames hold exactly one segment; the final frame 1..S bytes (0 only when it is the only frame).
    const min = task.final ? (task.index === 0 ? 0 : 1) : task.segmentSize;
    const output = task.output ?? newBuffer(task.segmentSize);
    const compressedLength = compressed.length;
    let length;
    try {
      length = decompressOneFrame(compressed, new Uint8Array(output, 0, task.segmentSize));
    } catch (err) {
      throw new TaskError('EFORMAT', `authenticated frame payload is not a valid zstd frame of at most ${task.segmentSize} bytes (${/** @type {Error} */ (err).message})`);
    } finally {
      release(compressed);
    }
    if (length < min || length > task.segmentSize) {
      throw new TaskError('EFORMAT', `authenticated frame decompresses to ${length} bytes, expected ${task.final ? `${min}..${task.segmentSize}` : task.segmentSize} for a ${task.final ? 'final' : 'non-final'} frame`);
    }
    return { kind: 'open', plaintext: output, length, compressedLength, body: task.body, busyMs: performance.now() - started };
  } finally {
    task.key.fill(0);
  }
}

/**
 * @param {CompressTask} task
 * @returns {CompressResult}
 */
export function compress(task) {
  const source = new Uint8Array(task.segment, 0, task.length);
  const bound = zstdCompressBound(task.length);
  const output = task.output !== undefined && task.output.byteLength >= bound ? task.output : newBuffer(bound);
  const length = compressor(task.level).compressInto(source, new Uint8Array(output));
  if (task.verify) verifyDecompressed(source, new Uint8Array(output, 0, length), task.index);
  return { kind: 'compress', compressed: output, length, segment: task.segment };
}

/**
 * @param {DecompressTask} task
 * @returns {DecompressResult}
 */
export function decompress(task) {
  const output = task.output ?? newBuffer(task.maxLength);
  let length;
  try {
    length = decompressOneFrame(new Uint8Array(task.frame, 0, task.frameLength ?? task.frame.byteLength), new Uint8Array(output, 0, task.maxLength));
  } catch (err) {
    throw new TaskError('EFORMAT', `zstd frame ${task.index} does not decompress to at most ${task.maxLength} bytes (${/** @type {Error} */ (err).message})`);
  }
  return { kind: 'decompress', plaintext: output, length, frame: task.frame };
}

/** The SHA-256s in progress on this thread, by the id the sender gave them (pool.runPinned keeps them here). */
/** @type {Map<number, import('node:crypto').Hash>} */
const hashes = new Map();

/**
 * @param {HashTask} task
 * @returns {HashResult}
 */
export function hashStep(task) {
  if (task.op === 'update') {
    let hash = hashes.get(task.hash);
    if (hash === undefined) {
      hash = createHash('sha256');
      hashes.set(task.hash, hash);
    }
    try {
      hash.update(new Uint8Array(task.buffer, 0, task.length));
    } catch (err) {
      hashes.delete(task.hash);
      throw err;
    }
    return { kind: 'hash', digest: null };
  }
  const hash = hashes.get(task.hash);
  hashes.delete(task.hash);
  if (task.op === 'drop') return { kind: 'hash', digest: null };
  // A digest of nothing: no update reached this thread (its worker was replaced); the caller's comparison fails.
  return { kind: 'hash', digest: new Uint8Array((hash ?? createHash('sha256')).digest()) };
}

/**
 * @param {Task} task
 * @returns {TaskResult}
 */
export function runTask(task) {
  switch (task.kind) {
    case 'hash':
      return hashStep(task);
    case 'seal':
      return seal(task);
    case 'open':
      return open(task);
    case 'compress':
      return compress(task);
    case 'decompress':
      return decompress(task);
  }
}

/**
 * ArrayBuffers in a result that can be moved to the receiving thread (each once).
 * @param {TaskResult} r
 * @returns {ArrayBuffer[]}
 */
export function resultTransferList(r) {
  /** @type {ArrayBuffer[]} */
  const list = [];
  /** @param {ArrayBuffer | SharedArrayBuffer} b */
  const add = (b) => {
    // A SharedArrayBuffer is already visible to the receiving thread: it cannot be (and need not be) moved.
    if (b instanceof ArrayBuffer && !list.includes(b)) list.push(b);
  };
  switch (r.kind) {
    case 'seal':
      add(r.record);
      add(r.segment);
      break;
    case 'open':
      add(r.plaintext);
      add(r.body);
      break;
    case 'compress':
      add(r.compressed);
      add(r.segment);
      break;
    case 'decompress':
      add(r.plaintext);
      add(r.frame);
      break;
  }
  return list;
}
