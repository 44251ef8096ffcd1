/**
 * A SHA-256 computed on a worker of the segment pool, for the decoder. The plaintext digest is sequential (one
 * hash over the whole binlog, as the trailer and the manifest record it), so it cannot be spread over the pool
 * as frames are; but it need not hold up the thread that writes and inspects the same bytes either. Every step
 * goes to the pool's pinned worker, in order (pool.runPinned), which keeps the hash between steps; the bytes are
 * in SharedArrayBuffers that both threads read at once, so nothing is copied or moved.
 */
import { ArchiverError } from '../errors.ts';
import type { SegmentPool } from './pool.ts';

let nextHash = 1;

export class PinnedSha256 {
  readonly #pool: SegmentPool;
  readonly #id = nextHash++;
  #used = false;
  #ended = false;

  constructor(pool: SegmentPool) {
    this.#pool = pool;
  }

  /**
   * Hashes the first `length` bytes of `buffer`; resolves once the worker no longer reads it (it may be reused).
   * A SharedArrayBuffer is read in place; an ArrayBuffer would be copied to the worker (correct, only slower).
   */
  async update(buffer: SharedArrayBuffer | ArrayBuffer, length: number): Promise<void> {
    this.#used = true;
    await this.#pool.runPinned({ kind: 'hash', op: 'update', hash: this.#id, buffer, length });
  }

  /** The digest of every update, in the order they were called; the hash is gone afterwards. */
  async digest(): Promise<Buffer> {
    this.#ended = true;
    const { digest } = await this.#pool.runPinned({ kind: 'hash', op: 'digest', hash: this.#id });
    if (digest === null) throw new ArchiverError('EINTERNAL', 'the hash worker returned no digest');
    return Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength);
  }

  /** Frees the worker's state of a hash that will not be finished (a failed decode). */
  dispose(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#used) this.#pool.runPinned({ kind: 'hash', op: 'drop', hash: this.#id }).catch(() => undefined);
  }
}
