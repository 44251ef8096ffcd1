/**
 * Reads exact byte counts from a stream of chunks (a Readable, or any (async) iterable of Uint8Array),
 * tracking the offset for error messages and hashing every byte it consumes (the object's SHA-256).
 */
import { createHash, type Hash } from 'node:crypto';
import { ArchiverError } from '../errors.ts';

export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

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

export class ByteReader {
  readonly #iterator: AsyncIterator<unknown> | Iterator<unknown>;
  #chunks: Uint8Array[] = [];
  #head = 0;
  #buffered = 0;
  #done = false;
  readonly #hash: Hash | undefined;
  /** Bytes consumed so far (the offset of the next byte returned). */
  offset = 0;

  constructor(source: ByteSource, options: { hash?: boolean } = {}) {
    this.#iterator = toIterator(source);
    this.#hash = options.hash === false ? undefined : createHash('sha256');
  }

  async #pull(): Promise<boolean> {
    if (this.#done) return false;
    for (;;) {
      const next = await this.#iterator.next();
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

  /** Up to `n` bytes (fewer only at end of stream) in a new ArrayBuffer of exactly that size. */
  async read(n: number): Promise<Uint8Array> {
    await this.#fill(n);
    const length = Math.min(n, this.#buffered);
    const out = new Uint8Array(new ArrayBuffer(length));
    let filled = 0;
    while (filled < length) {
      const chunk = this.#chunks[0] as Uint8Array;
      const take = Math.min(length - filled, chunk.length - this.#head);
      const piece = chunk.subarray(this.#head, this.#head + take);
      out.set(piece, filled);
      this.#hash?.update(piece);
      filled += take;
      this.#head += take;
      if (this.#head === chunk.length) {
        this.#chunks.shift();
        this.#head = 0;
      }
    }
    this.#buffered -= length;
    this.offset += length;
    return out;
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

  /** SHA-256 of every byte consumed so far. */
  digest(): Buffer {
    if (this.#hash === undefined) throw new Error('ByteReader created without hashing');
    return this.#hash.copy().digest();
  }

  /** Stops reading the source (releases a file handle or socket early). */
  async close(): Promise<void> {
    this.#done = true;
    await this.#iterator.return?.();
  }
}
