/**
 * Reads a put body into parts of a fixed size, hashing every byte of the parts in order (SHA-256 for the
 * PutResult): the hash is of the copies that are sent, so a producer that changed a chunk after emitting it
 * would show as a mismatch with the producer's own hash, not as an object silently different from it.
 * Errors of the body itself are wrapped in BodyFailure, so the store can tell "the producer failed" (abort,
 * rethrow the producer's own error) from "S3 failed".
 *
 * Memory: a chunk copied whole into a part goes back to a producer that takes chunks back (the encoder frees
 * its records at once), and part buffers whose upload succeeded are reused for later parts. Without both, an
 * archive left ~170 MB of dead buffers per 256 MiB binlog to V8's collector, which cost more CPU than the
 * upload itself on a machine whose cores are busy compressing.
 */
import { createHash } from 'node:crypto';
import { isReleasable } from '../format/result-stream.ts';
import { newBuffer, release } from '../format/buffers.js';

export class BodyFailure extends Error {
  readonly error: unknown;
  constructor(error: unknown) {
    super('the body of the put failed', { cause: error });
    this.error = error;
  }
}

/** Enough for the parts in flight plus the one being filled at the default concurrency. */
const SPARE_PARTS = 8;

export class BodyReader {
  readonly #it: AsyncIterator<Uint8Array>;
  readonly #sha = createHash('sha256');
  readonly #giveBack: ((chunk: Uint8Array) => void) | undefined;
  /** Part buffers free for reuse (all of one size: the first part's). */
  readonly #spare: Buffer[] = [];
  #chunks: Buffer[] = [];
  /** Bytes of chunks[0] already taken (the chunk itself is kept whole, to be handed back as it came). */
  #head = 0;
  #buffered = 0;
  #size = 0;
  #done = false;

  constructor(body: AsyncIterable<Uint8Array>) {
    this.#it = body[Symbol.asyncIterator]();
    this.#giveBack = isReleasable(body) ? (chunk) => body.release(chunk) : undefined;
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
      this.#size += chunk.length;
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
  }

  /**
   * Takes up to `bytes` from the front of the buffer into a buffer of the reader's (a copy: parts must not alias
   * the producer's chunks, which it may free once handed back). Give the part to `recycle` once it is uploaded.
   */
  take(bytes: number): Buffer {
    const total = Math.min(bytes, this.#buffered);
    const spare = this.#spare.pop();
    const out = spare !== undefined && spare.length >= total ? spare.subarray(0, total) : Buffer.from(newBuffer(total));
    let at = 0;
    while (at < total) {
      const chunk = this.#chunks[0];
      if (chunk === undefined) break;
      const n = Math.min(chunk.length - this.#head, total - at);
      chunk.copy(out, at, this.#head, this.#head + n);
      at += n;
      this.#head += n;
      if (this.#head === chunk.length) {
        this.#chunks.shift();
        this.#head = 0;
        this.#giveBack?.(chunk);
      }
    }
    this.#buffered -= total;
    this.#sha.update(out);
    return out;
  }

  /** A part taken from this reader whose bytes nobody reads any more (its upload succeeded or was skipped). */
  recycle(part: Buffer): void {
    const whole = Buffer.from(part.buffer);
    if (this.#spare.length < SPARE_PARTS) this.#spare.push(whole);
    else release(whole);
  }

  /** Frees the spare part buffers now; call once no part of this reader is in use. */
  dispose(): void {
    for (const part of this.#spare.splice(0)) release(part);
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
