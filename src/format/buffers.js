/**
 * Allocation helpers for the data path. Segment-sized buffers are allocated without zero-filling (every byte
 * used is written first) and freed explicitly when their owner is done with them, rather than at a later
 * garbage collection: V8 answers megabytes of dead ArrayBuffers with full collections, and holds the memory
 * until then (peak RSS).
 *
 * Plain JavaScript, like everything the worker threads load (see segment-worker.js).
 */
import { Buffer } from 'node:buffer';

/**
 * A new buffer of `n` bytes of its own (not a slice of Node's pool), not zero-filled: it is about to be
 * overwritten.
 * @param {number} n
 * @returns {ArrayBuffer}
 */
export function newBuffer(n) {
  return /** @type {ArrayBuffer} */ (Buffer.allocUnsafeSlow(n).buffer);
}

/**
 * Frees the memory of a buffer this thread owns and is done with, now: ArrayBuffer.prototype.transfer(0)
 * detaches it and releases its backing store. For what node:crypto returns (a dedicated ArrayBuffer per call)
 * and for buffers the caller allocated itself. Buffers sharing their ArrayBuffer (Node's pool for small
 * ones) are left alone.
 * @param {Uint8Array} b
 * @returns {void}
 */
export function release(b) {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.byteLength >= 4096 && b.buffer instanceof ArrayBuffer) {
    b.buffer.transfer(0);
  }
}
