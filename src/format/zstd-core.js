/**
 * zstd through node:zlib, for the main thread and the worker threads. Each segment becomes one independent,
 * complete zstd frame with the content size and a content checksum in it, so the concatenated frames are a
 * multi-frame stream `zstd -d` reads. (zstd's own nbWorkers is not used: parallelism comes from compressing
 * segments on separate threads.) zstd.ts and zstd-frames.ts re-export what the rest of the code uses.
 *
 * Plain JavaScript, like everything the worker threads load (see segment-worker.js).
 *
 * Reusable contexts (ZstdCompressor, ZstdDecompressor). zstdCompressSync / zstdDecompressSync build a new
 * stream object, a new zstd context (megabytes of tables) and a new output buffer on every call. On a worker
 * compressing 4 MiB segments back to back that is ~12 MB of fresh native and ArrayBuffer memory per segment,
 * which V8 answers with full garbage collections ("external memory pressure") every few segments: measured,
 * a fifth of the archive's CPU time and much of its peak RSS (docs/PERFORMANCE.md). A context here lives as
 * long as its thread and writes straight into a buffer the caller keeps or hands on.
 *
 * node:zlib has no public API for that, so the contexts drive the zlib binding's handle the way node:zlib's
 * own synchronous path does (`handle.writeSync(flush, in, inOff, inLen, out, outOff, outLen)`, results in the
 * `_writeState` pair). If a Node release changes those internals, `native` is false and the contexts fall back
 * to the public one-shot functions plus a copy: slower, same bytes.
 *
 * No reset between frames: a zstd context that finished a frame (ZSTD_e_end fully flushed; decompressing, the
 * frame's last byte consumed) is ready for the next one with its parameters intact (node:zlib's `reset()`
 * would also drop the parameters, losing the checksum flag). The output is byte-identical to zstdCompressSync
 * with the same parameters: zstd derives the frame parameters, and the content size it writes, from the input
 * length of a single ZSTD_e_end call exactly as when the size is pledged up front, and a frame does not depend
 * on the frames compressed before it in the same context. test/format/zstd-context.test.ts checks both on
 * every level.
 */
import { Buffer } from 'node:buffer';
import { constants, createZstdCompress, createZstdDecompress, zstdCompressSync, zstdDecompressSync } from 'node:zlib';

/** @import { ZstdCompress, ZstdDecompress } from 'node:zlib' */

/**
 * zstd's worst-case compressed size (ZSTD_COMPRESSBOUND).
 * @param {number} n
 * @returns {number}
 */
export function zstdCompressBound(n) {
  return n + (n >>> 8) + (n < 131072 ? (131072 - n) >>> 11 : 0);
}

/**
 * zstd's parameters for a frame: the level, the frame's checksum and content size, and the match table's size
 * when the caller sets one (`hashLog`, 0: the level's own; zstd-adapt.js says when and why).
 * @param {number} level
 * @param {number} hashLog
 * @returns {Record<number, number>}
 */
function frameParams(level, hashLog) {
  return {
    [constants.ZSTD_c_compressionLevel]: level,
    [constants.ZSTD_c_checksumFlag]: 1,
    [constants.ZSTD_c_contentSizeFlag]: 1,
    ...(hashLog === 0 ? {} : { [constants.ZSTD_c_hashLog]: hashLog }),
  };
}

/**
 * One complete zstd frame (checksum and content size) of `data`, in a new buffer.
 * @param {Uint8Array} data
 * @param {number} level
 * @param {number} [hashLog] 0 (default): the level's own match table
 * @returns {Buffer}
 */
export function compressSegment(data, level, hashLog = 0) {
  return zstdCompressSync(data, {
    params: frameParams(level, hashLog),
    pledgedSrcSize: data.length,
    // One output chunk: avoids the concatenation of many small chunks.
    chunkSize: Math.max(1024, zstdCompressBound(data.length)),
  });
}

/**
 * Decompresses at most `maxLength` bytes; throws (RangeError or zstd Error) on corrupt or oversized input.
 * Only the first frame of `data` is decoded (node:zlib ignores the rest): see zstdFrameLength.
 * @param {Uint8Array} data
 * @param {number} expectedLength
 * @param {number} maxLength
 * @returns {Buffer}
 */
export function decompressSegment(data, expectedLength, maxLength) {
  return zstdDecompressSync(data, { maxOutputLength: Math.max(1, maxLength), chunkSize: Math.max(1024, expectedLength) });
}

// Frame boundaries (RFC 8878 section 3.1.1). Needed because node:zlib's zstd decompressors stop silently at
// the end of the first frame and ignore whatever follows (checked on Node 24.21).

const ZSTD_MAGIC = 0xfd2fb528;
const DICT_ID_BYTES = [0, 1, 2, 4];
const FCS_BYTES = [0, 2, 4, 8];

/**
 * Bytes of the frame header after the descriptor byte, from the Frame_Header_Descriptor.
 * @param {number} descriptor
 * @returns {number}
 */
export function headerRestLength(descriptor) {
  if ((descriptor & 0x08) !== 0) throw new TypeError('zstd frame header reserved bit is set');
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const fcsBytes = fcsFlag === 0 ? singleSegment : FCS_BYTES[fcsFlag] ?? 0;
  return (singleSegment === 1 ? 0 : 1) + (DICT_ID_BYTES[descriptor & 3] ?? 0) + fcsBytes;
}

/**
 * Parses a block header; returns the bytes of block content that follow it and whether it is the last.
 * @param {number} b0
 * @param {number} b1
 * @param {number} b2
 * @returns {{ content: number, last: boolean }}
 */
export function blockContent(b0, b1, b2) {
  const v = b0 | (b1 << 8) | (b2 << 16);
  const type = (v >> 1) & 3;
  if (type === 3) throw new TypeError('zstd block type 3 (reserved)');
  return { content: type === 1 ? 1 : v >>> 3, last: (v & 1) === 1 };
}

/**
 * @param {number} magic
 * @returns {void}
 */
export function checkMagic(magic) {
  if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) throw new TypeError('skippable zstd frame (not used by this format)');
  if (magic !== ZSTD_MAGIC) throw new TypeError(`not a zstd frame (magic ${magic.toString(16).padStart(8, '0')})`);
}

/**
 * Length of the zstd frame at the start of `buf`; TypeError when it is malformed or runs past the end.
 * @param {Uint8Array} buf
 * @returns {number}
 */
export function zstdFrameLength(buf) {
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  /** @type {(pos: number, n: number) => void} */
  const need = (pos, n) => {
    if (pos + n > view.length) throw new TypeError('zstd frame is truncated');
  };
  need(0, 5);
  checkMagic(view.readUInt32LE(0));
  const descriptor = /** @type {number} */ (view[4]);
  let pos = 5 + headerRestLength(descriptor);
  for (;;) {
    need(pos, 3);
    const block = blockContent(/** @type {number} */ (view[pos]), /** @type {number} */ (view[pos + 1]), /** @type {number} */ (view[pos + 2]));
    pos += 3 + block.content;
    need(pos, 0);
    if (block.last) break;
  }
  if ((descriptor & 0x04) !== 0) pos += 4;
  need(pos, 0);
  return pos;
}

// Reusable contexts.

/**
 * @typedef {object} ZlibHandle
 * @property {(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number) => void} writeSync
 * @property {(message: string, errno: number, code?: string) => void} onerror
 */

/**
 * @typedef {object} Engine
 * @property {ZstdCompress | ZstdDecompress} stream
 * @property {ZlibHandle} handle
 * @property {Uint32Array} state
 * @property {Error | undefined} error
 */

/**
 * @param {ZstdCompress | ZstdDecompress} stream
 * @returns {Engine | undefined}
 */
function engineOf(stream) {
  const internals = /** @type {{ _handle?: Partial<ZlibHandle>, _writeState?: unknown }} */ (/** @type {unknown} */ (stream));
  const handle = internals._handle;
  const state = internals._writeState;
  if (handle === undefined || typeof handle.writeSync !== 'function') return undefined;
  if (!(state instanceof Uint32Array) || state.length < 2) return undefined;
  /** @type {Engine} */
  const engine = { stream, handle: /** @type {ZlibHandle} */ (handle), state, error: undefined };
  // Replaces node:zlib's handler (which destroys the stream): the error is thrown by the call that failed.
  engine.handle.onerror = (message, errno, code) => {
    engine.error = Object.assign(new Error(message), { errno, code });
  };
  return engine;
}

/**
 * Runs one writeSync; returns [bytes consumed, bytes produced]. Throws zstd's error (the engine is then unusable).
 * @param {Engine} engine
 * @param {Uint8Array} input
 * @param {number} inOff
 * @param {Uint8Array} out
 * @param {number} outOff
 * @param {number} outLen
 * @returns {[number, number]}
 */
function step(engine, input, inOff, out, outOff, outLen) {
  const inLen = input.length - inOff;
  engine.handle.writeSync(constants.ZSTD_e_end, input, inOff, inLen, out, outOff, outLen);
  if (engine.error !== undefined) throw engine.error;
  const availOut = /** @type {number} */ (engine.state[0]);
  const availIn = /** @type {number} */ (engine.state[1]);
  return [inLen - availIn, outLen - availOut];
}

/** Whether the binding's handle can be driven directly on this Node version (else: the public API plus a copy). */
export const native = (() => {
  try {
    const stream = createZstdCompress();
    const ok = engineOf(stream) !== undefined;
    stream.close();
    return ok;
  } catch {
    return false;
  }
})();

/** One zstd compression context for one level (and match table size), reused frame after frame. */
export class ZstdCompressor {
  /** @type {Engine | undefined} */
  #engine;

  /**
   * @param {number} level
   * @param {number} [hashLog] 0 (default): the level's own match table
   */
  constructor(level, hashLog = 0) {
    /** @readonly */
    this.level = level;
    /** @readonly */
    this.hashLog = hashLog;
  }

  /** @returns {Engine | undefined} */
  #open() {
    if (!native) return undefined;
    this.#engine ??= engineOf(createZstdCompress({ params: frameParams(this.level, this.hashLog), chunkSize: 64 }));
    return this.#engine;
  }

  /**
   * Compresses `input` into one complete zstd frame (checksum and content size) written to `out` from offset
   * `outOffset`, which must leave room for zstdCompressBound(input.length) bytes. Returns the frame's length.
   * @param {Uint8Array} input
   * @param {Uint8Array} out
   * @param {number} [outOffset]
   * @returns {number}
   */
  compressInto(input, out, outOffset = 0) {
    const room = out.length - outOffset;
    if (room < zstdCompressBound(input.length)) throw new RangeError(`zstd output buffer too small: ${room} < ${zstdCompressBound(input.length)}`);
    const engine = this.#open();
    if (engine === undefined) {
      const frame = compressSegment(input, this.level, this.hashLog);
      out.set(frame, outOffset);
      return frame.length;
    }
    try {
      const [consumed, produced] = step(engine, input, 0, out, outOffset, room);
      // With room for the worst case, one ZSTD_e_end call takes all input and writes the whole frame.
      if (consumed !== input.length || produced === room) throw new Error('zstd did not finish the frame in one call');
      return produced;
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** @returns {void} */
  close() {
    this.#engine?.stream.close();
    this.#engine = undefined;
  }
}

/** One zstd decompression context, reused frame after frame. */
export class ZstdDecompressor {
  /** @type {Engine | undefined} */
  #engine;
  #probe = new Uint8Array(1);

  /** @returns {Engine | undefined} */
  #open() {
    if (!native) return undefined;
    this.#engine ??= engineOf(createZstdDecompress({ chunkSize: 64 }));
    return this.#engine;
  }

  /**
   * Decompresses `frame`, which the caller has checked is exactly one complete zstd frame (zstdFrameLength),
   * into `out` (from offset 0, at most out.length bytes). Returns the decompressed length. Throws a RangeError
   * when the content is longer than out.length, zstd's Error when the frame is corrupt (bad block, checksum).
   * @param {Uint8Array} frame
   * @param {Uint8Array} out
   * @returns {number}
   */
  decompressInto(frame, out) {
    const engine = this.#open();
    if (engine === undefined) {
      const plain = decompressSegment(frame, out.length, out.length);
      out.set(plain);
      return plain.length;
    }
    try {
      let [consumed, produced] = step(engine, frame, 0, out, 0, out.length);
      if (produced === out.length) {
        // Output full: the content is exactly that long only if zstd has nothing more to give.
        const [rest, more] = step(engine, frame, consumed, this.#probe, 0, 1);
        if (more > 0) throw new RangeError(`zstd frame decompresses to more than ${out.length} bytes`);
        consumed += rest;
      }
      // zstd takes the next block only once the previous one is flushed, and the checksum last: every input
      // byte consumed without the output overflowing means the whole frame was decoded and its checksum checked.
      if (consumed !== frame.length) throw new Error('zstd stopped before the end of the frame');
      return produced;
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /**
   * Decompresses `frame` (exactly one complete zstd frame, checked by the caller) piece by piece through `chunk`
   * and compares its content with `expected`: whether they are equal, without an output buffer of the content's
   * size (zstd decodes through its own window instead: 512 KiB at level 2, 2 MiB at level 3). Throws zstd's
   * Error when the frame is corrupt (bad block, checksum).
   * @param {Uint8Array} frame
   * @param {Uint8Array} expected
   * @param {Uint8Array} chunk
   * @returns {boolean}
   */
  matches(frame, expected, chunk) {
    const engine = this.#open();
    if (engine === undefined) {
      const plain = decompressSegment(frame, expected.length, expected.length + 1);
      return Buffer.compare(plain, expected) === 0;
    }
    try {
      let inOff = 0;
      let outPos = 0;
      for (;;) {
        const [consumed, produced] = step(engine, frame, inOff, chunk, 0, chunk.length);
        inOff += consumed;
        const end = outPos + produced;
        if (end > expected.length || Buffer.compare(chunk.subarray(0, produced), expected.subarray(outPos, end)) !== 0) {
          this.close(); // mid-frame: the next frame needs a fresh context
          return false;
        }
        outPos = end;
        // Room left in the output with every input byte taken: the frame, its checksum included, is done.
        if (produced < chunk.length && inOff === frame.length) break;
        if (consumed === 0 && produced === 0) throw new Error('zstd stopped before the end of the frame');
      }
      return outPos === expected.length;
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** @returns {void} */
  close() {
    this.#engine?.stream.close();
    this.#engine = undefined;
  }
}
