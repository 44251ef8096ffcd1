/**
 * Cuts the plaintext into segments of exactly `segmentSize` bytes (the last one shorter) and hashes it.
 * A full segment is only released once at least one more byte has arrived, so every segment knows whether
 * it is the final one when it is released. Empty input yields a single empty final segment.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { newBuffer, release } from './buffers.js';
import { asBytes, isDirectSource, type ByteSource, type DirectSource } from './byte-reader.ts';
import { fromTaskError, HINT, type Where } from './fail.ts';

/**
 * Plaintext to encode: chunks (a Readable or any iterable), or a file or a DirectSource, which are then read
 * straight into the segment buffers (no intermediate chunk allocations or copies: the fast path for binlog
 * files). A FileHandle is read from its current position to its end and is not closed; a DirectSource is
 * closed when encoding stops early.
 */
export type PlaintextSource = ByteSource | { path: string } | FileHandle | DirectSource;

function isFileHandle(s: PlaintextSource): s is FileHandle {
  return typeof (s as FileHandle).fd === 'number' && typeof (s as FileHandle).read === 'function';
}

export interface Segment {
  index: number;
  /** Whole ArrayBuffer of segmentSize bytes; the segment is its first `length` bytes. */
  buffer: ArrayBuffer;
  length: number;
  final: boolean;
}

export class Segmenter {
  readonly #source: PlaintextSource;
  readonly #segmentSize: number;
  readonly #free: ArrayBuffer[] = [];
  readonly #hash = createHash('sha256');
  plaintextLength = 0;

  constructor(source: PlaintextSource, segmentSize: number) {
    this.#source = source;
    this.#segmentSize = segmentSize;
  }

  /** Returns a segment buffer for reuse (saves allocating, and faulting in, a new one). */
  recycle(buffer: ArrayBuffer): void {
    if (buffer.byteLength === this.#segmentSize && this.#free.length < 16) this.#free.push(buffer);
  }

  #allocate(): ArrayBuffer {
    // Not zero-filled: every byte a segment uses is read into it first.
    return this.#free.pop() ?? newBuffer(this.#segmentSize);
  }

  /** Frees the buffers kept for reuse (call when done: their memory goes back now, not at a later GC). */
  dispose(): void {
    for (const b of this.#free.splice(0)) release(new Uint8Array(b));
  }

  plaintextSha256(): Buffer {
    return this.#hash.copy().digest();
  }

  segments(): AsyncGenerator<Segment> {
    const source = this.#source;
    if (isFileHandle(source)) return this.#fileSegments(async (view) => (await source.read(view, 0, view.length, null)).bytesRead);
    if (isDirectSource(source)) return this.#directSegments(source);
    if (typeof (source as { path?: unknown }).path === 'string') return this.#pathSegments((source as { path: string }).path);
    return this.#chunkSegments(source as ByteSource);
  }

  async *#pathSegments(path: string): AsyncGenerator<Segment> {
    const handle = await open(path, 'r');
    try {
      yield* this.#fileSegments(async (view) => (await handle.read(view, 0, view.length, null)).bytesRead);
    } finally {
      await handle.close();
    }
  }

  async *#directSegments(source: DirectSource): AsyncGenerator<Segment> {
    let ended = false;
    try {
      yield* this.#fileSegments((view) => source.readInto(view));
      ended = true;
    } finally {
      if (!ended) await source.close?.();
    }
  }

  /**
   * Fills `buffer` with `read` from offset `start` (bytes before it are already in place and not yet hashed);
   * returns the byte count including them (short only at the end).
   */
  async #readFull(read: (view: Uint8Array) => Promise<number>, buffer: ArrayBuffer, start: number): Promise<number> {
    const view = new Uint8Array(buffer);
    let filled = start;
    while (filled < view.length) {
      const n = await read(view.subarray(filled));
      if (n === 0) break;
      filled += n;
    }
    this.#hash.update(view.subarray(0, filled));
    this.plaintextLength += filled;
    return filled;
  }

  /**
   * Whether a full segment is the final one is known by reading one byte past it (into `peek`), not a whole
   * next segment: a read-ahead segment buffer would be one more 4 MiB of RSS held while the window is full.
   * The peeked byte becomes the first byte of the next segment.
   */
  async *#fileSegments(read: (view: Uint8Array) => Promise<number>): AsyncGenerator<Segment> {
    const size = this.#segmentSize;
    const peek = new Uint8Array(1);
    let index = 0;
    let carried = 0;
    for (;;) {
      const buffer = this.#allocate();
      if (carried > 0) new Uint8Array(buffer)[0] = peek[0]!;
      const filled = await this.#readFull(read, buffer, carried);
      carried = filled === size && size > 0 ? await read(peek) : 0;
      if (carried === 0) {
        yield { index, buffer, length: filled, final: true };
        return;
      }
      yield { index: index++, buffer, length: size, final: false };
    }
  }

  async *#chunkSegments(source: ByteSource): AsyncGenerator<Segment> {
    const size = this.#segmentSize;
    let index = 0;
    let current = this.#allocate();
    let view = new Uint8Array(current);
    let filled = 0;
    for await (const raw of source as AsyncIterable<unknown>) {
      const chunk = asBytes(raw);
      this.#hash.update(chunk);
      this.plaintextLength += chunk.length;
      let offset = 0;
      while (offset < chunk.length) {
        if (filled === size) {
          yield { index: index++, buffer: current, length: size, final: false };
          current = this.#allocate();
          view = new Uint8Array(current);
          filled = 0;
        }
        const take = Math.min(size - filled, chunk.length - offset);
        view.set(chunk.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
      }
    }
    yield { index, buffer: current, length: filled, final: true };
  }
}

/**
 * The result of a worker task that encoded (and verified) one segment: its source segment goes back to the
 * segmenter right away, not when the consumer gets to this frame; a failure is located in the object.
 */
export function segmentEncoded<R extends { segment: ArrayBuffer }>(task: Promise<R>, segmenter: Segmenter, where: Where): Promise<R> {
  return task.then(
    (result) => {
      segmenter.recycle(result.segment);
      return result;
    },
    (err: unknown) => {
      throw fromTaskError(err, where, HINT.verify);
    },
  );
}
