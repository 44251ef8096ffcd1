/**
 * Cuts the plaintext into segments of exactly `segmentSize` bytes (the last one shorter) and hashes it.
 * A full segment is only released once at least one more byte has arrived, so every segment knows whether
 * it is the final one when it is released. Empty input yields a single empty final segment.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { asBytes, type ByteSource } from './byte-reader.ts';

/**
 * Plaintext to encode: chunks (a Readable or any iterable), or a file, which is then read straight into
 * the segment buffers (no intermediate chunk allocations or copies: the fast path for binlog files).
 * A FileHandle is read from its current position to its end and is not closed.
 */
export type PlaintextSource = ByteSource | { path: string } | FileHandle;

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

  /** Returns a segment buffer for reuse (saves allocating and zero-filling a new one). */
  recycle(buffer: ArrayBuffer): void {
    if (buffer.byteLength === this.#segmentSize && this.#free.length < 16) this.#free.push(buffer);
  }

  #allocate(): ArrayBuffer {
    return this.#free.pop() ?? new ArrayBuffer(this.#segmentSize);
  }

  plaintextSha256(): Buffer {
    return this.#hash.copy().digest();
  }

  segments(): AsyncGenerator<Segment> {
    const source = this.#source;
    if (isFileHandle(source)) return this.#fileSegments(source);
    if (typeof (source as { path?: unknown }).path === 'string') return this.#pathSegments((source as { path: string }).path);
    return this.#chunkSegments(source as ByteSource);
  }

  async *#pathSegments(path: string): AsyncGenerator<Segment> {
    const handle = await open(path, 'r');
    try {
      yield* this.#fileSegments(handle);
    } finally {
      await handle.close();
    }
  }

  /** Fills `buffer` from the file; returns the byte count (short only at end of file). */
  async #readFull(handle: FileHandle, buffer: ArrayBuffer): Promise<number> {
    const view = new Uint8Array(buffer);
    let filled = 0;
    while (filled < view.length) {
      const { bytesRead } = await handle.read(view, filled, view.length - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    this.#hash.update(view.subarray(0, filled));
    this.plaintextLength += filled;
    return filled;
  }

  async *#fileSegments(handle: FileHandle): AsyncGenerator<Segment> {
    const size = this.#segmentSize;
    let index = 0;
    let current = this.#allocate();
    let filled = await this.#readFull(handle, current);
    while (filled === size) {
      const next = this.#allocate();
      const more = await this.#readFull(handle, next);
      if (more === 0) {
        this.recycle(next);
        break;
      }
      yield { index: index++, buffer: current, length: size, final: false };
      current = next;
      filled = more;
    }
    yield { index, buffer: current, length: filled, final: true };
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
