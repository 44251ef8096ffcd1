/**
 * Reads a put body into parts of a fixed size, hashing every byte in order (SHA-256 for the PutResult).
 * Errors of the body itself are wrapped in BodyFailure, so the store can tell "the producer failed" (abort,
 * rethrow the producer's own error) from "S3 failed".
 */
import { createHash } from 'node:crypto';

export class BodyFailure extends Error {
  readonly error: unknown;
  constructor(error: unknown) {
    super('the body of the put failed', { cause: error });
    this.error = error;
  }
}

export class BodyReader {
  readonly #it: AsyncIterator<Uint8Array>;
  readonly #sha = createHash('sha256');
  #chunks: Buffer[] = [];
  #buffered = 0;
  #size = 0;
  #done = false;

  constructor(body: AsyncIterable<Uint8Array>) {
    this.#it = body[Symbol.asyncIterator]();
  }

  /** True once the body has ended without error. */
  get done(): boolean {
    return this.#done;
  }

  get buffered(): number {
    return this.#buffered;
  }

  /** Bytes read from the body so far. */
  get size(): number {
    return this.#size;
  }

  /** Reads until `bytes` are buffered or the body ends. */
  async fill(bytes: number): Promise<void> {
    while (!this.#done && this.#buffered < bytes) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await this.#it.next();
      } catch (err) {
        this.#done = true;
        throw new BodyFailure(err);
      }
      if (next.done === true) {
        this.#done = true;
        break;
      }
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      if (chunk.length === 0) continue;
      this.#sha.update(chunk);
      this.#size += chunk.length;
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
  }

  /** Takes up to `bytes` from the front of the buffer (a copy: parts must not alias the producer's chunks). */
  take(bytes: number): Buffer {
    const total = Math.min(bytes, this.#buffered);
    const pieces: Buffer[] = [];
    for (let need = total; need > 0;) {
      const chunk = this.#chunks[0];
      if (chunk === undefined) break;
      if (chunk.length <= need) {
        pieces.push(chunk);
        this.#chunks.shift();
        need -= chunk.length;
      } else {
        pieces.push(chunk.subarray(0, need));
        this.#chunks[0] = chunk.subarray(need);
        need = 0;
      }
    }
    this.#buffered -= total;
    return Buffer.concat(pieces, total);
  }

  sha256(): string {
    return this.#sha.digest('hex');
  }

  /** Stops the producer if the store gives up before the body ended. */
  async close(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    try {
      await this.#it.return?.();
    } catch {
      // The producer's cleanup failed; the store's own error is the one to report.
    }
  }
}
