/**
 * Reads exact byte counts from a stream of chunks (a Readable, or any (async) iterable of Uint8Array),
 * tracking the offset for error messages and hashing every byte it consumes (the object's SHA-256).
 * A source that can also read straight into a caller's buffer (DirectSource: a file) is read that way:
 * frame bodies land in the buffers they are decrypted from, without intermediate chunks or copies.
 */
import { createHash, type Hash } from 'node:crypto';
import { ArchiverError } from '../errors.ts';
import { newBuffer, release } from './buffers.js';

export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/**
 * A byte source that fills the caller's buffer itself (a file read with pread), so nothing is allocated or
 * copied per chunk. Sources offering it are usually iterable too; readers prefer this.
 */
export interface DirectSource {
  /** Reads up to `into.length` bytes into `into`; resolves to the count, which is 0 only at the end. */
  readInto(into: Uint8Array): Promise<number>;
  /** Stops early and releases the source (a file descriptor); idempotent. */
  close?(): Promise<void>;
}

export function isDirectSource(source: unknown): source is DirectSource {
  return typeof source === 'object' && source !== null && typeof (source as DirectSource).readInto === 'function';
}

function toIterator(source: ByteSource): AsyncIterator<unknown> | Iterator<unknown> {
  if (typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    return (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  }
  if (typeof (source as Iterable<Uint8Array>)[Symbol.iterator] === 'function') {
    return (source as Iterable<unknown>)[Symbol.iterator]();
  }
  throw new ArchiverError('EUSAGE', 'source must be a Readable or an (async) iterable of Buffers');
}

/** Checks a chunk from a source; string chunks mean a Readable with an encoding set, which would corrupt bytes. */
export function asBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  throw new ArchiverError(
    'EUSAGE',
    `source yielded a ${typeof chunk} chunk where bytes were expected; do not set an encoding on the stream`,
  );
}

/** Read-ahead from a DirectSource for small reads (record prefixes, the peek at the next record). */
const READ_AHEAD = 64 * 1024;

export class ByteReader {
  readonly #iterator: AsyncIterator<unknown> | Iterator<unknown> | undefined;
  readonly #direct: DirectSource | undefined;
  #chunks: Uint8Array[] = [];
  #head = 0;
  #buffered = 0;
  #done = false;
  readonly #hash: Hash | undefined;
  /** Bytes consumed so far (the offset of the next byte returned). */
  offset = 0;

  constructor(source: ByteSource | DirectSource, options: { hash?: boolean } = {}) {
    if (isDirectSource(source)) this.#direct = source;
    else this.#iterator = toIterator(source);
    this.#hash = options.hash === false ? undefined : createHash('sha256');
  }

  async #pull(): Promise<boolean> {
    if (this.#done) return false;
    if (this.#direct !== undefined) {
      const chunk = new Uint8Array(newBuffer(READ_AHEAD));
      const n = await this.#direct.readInto(chunk);
      if (n === 0) {
        this.#done = true;
        return false;
      }
      this.#chunks.push(n === READ_AHEAD ? chunk : chunk.subarray(0, n));
      this.#buffered += n;
      return true;
    }
    const iterator = this.#iterator as AsyncIterator<unknown> | Iterator<unknown>;
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) {
        this.#done = true;
        return false;
      }
      const chunk = asBytes(next.value);
      if (chunk.length === 0) continue;
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      return true;
    }
  }

  async #fill(n: number): Promise<void> {
    while (this.#buffered < n && (await this.#pull()));
  }

  /** Moves up to `n` buffered bytes into `out` from `at`; returns the count. */
  #take(out: Uint8Array, at: number, n: number): number {
    let filled = 0;
    while (filled < n && this.#buffered > 0) {
      const chunk = this.#chunks[0] as Uint8Array;
      const take = Math.min(n - filled, chunk.length - this.#head);
      const piece = chunk.subarray(this.#head, this.#head + take);
      out.set(piece, at + filled);
      this.#hash?.update(piece);
      filled += take;
      this.#head += take;
      this.#buffered -= take;
      if (this.#head === chunk.length) {
        this.#chunks.shift();
        this.#head = 0;
        // Read-ahead chunks are ours (a source's own chunks are not): free them now.
        if (this.#direct !== undefined) release(chunk);
      }
    }
    this.offset += filled;
    return filled;
  }

  /** Up to `n` bytes (fewer only at end of stream) in a new ArrayBuffer of exactly that size. */
  async read(n: number): Promise<Uint8Array> {
    if (n <= READ_AHEAD || this.#direct === undefined) {
      await this.#fill(n);
      const length = Math.min(n, this.#buffered);
      const out = new Uint8Array(newBuffer(length));
      this.#take(out, 0, length);
      return out;
    }
    // Large reads from a DirectSource land in the result directly.
    const out = new Uint8Array(newBuffer(n));
    const got = await this.readInto(out);
    return got === n ? out : out.slice(0, got);
  }

  /** Fills `into` (fewer bytes only at end of stream); returns the count. */
  async readInto(into: Uint8Array): Promise<number> {
    let filled = this.#take(into, 0, into.length);
    const direct = this.#direct;
    while (filled < into.length && !this.#done) {
      if (direct !== undefined && this.#buffered === 0 && into.length - filled >= READ_AHEAD) {
        const n = await direct.readInto(into.subarray(filled));
        if (n === 0) {
          this.#done = true;
          break;
        }
        this.#hash?.update(into.subarray(filled, filled + n));
        this.offset += n;
        filled += n;
      } else {
        if (!(await this.#pull())) break;
        filled += this.#take(into, filled, into.length - filled);
      }
    }
    return filled;
  }

  /** Up to `n` bytes without consuming them. */
  async peek(n: number): Promise<Buffer> {
    await this.#fill(n);
    const parts: Uint8Array[] = [];
    let need = Math.min(n, this.#buffered);
    let head = this.#head;
    for (const chunk of this.#chunks) {
      if (need === 0) break;
      const piece = chunk.subarray(head, head + need);
      parts.push(piece);
      need -= piece.length;
      head = 0;
    }
    return Buffer.concat(parts);
  }

  async atEnd(): Promise<boolean> {
    await this.#fill(1);
    return this.#buffered === 0;
  }

  /** Whether the bytes read are hashed (digest() may be called). */
  get hashing(): boolean {
    return this.#hash !== undefined;
  }

  /** SHA-256 of every byte consumed so far. */
  digest(): Buffer {
    if (this.#hash === undefined) throw new Error('ByteReader created without hashing');
    return this.#hash.copy().digest();
  }

  /** Stops reading the source (releases a file handle or socket early). */
  async close(): Promise<void> {
    this.#done = true;
    if (this.#direct !== undefined) await this.#direct.close?.();
    else await this.#iterator?.return?.();
  }
}
