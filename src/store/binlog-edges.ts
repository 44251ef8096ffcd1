/**
 * The manifest entry's `binlog.edgesSha256`: a SHA-256 over a binlog's size, its first 64 KiB and its last 64 KiB
 * (docs/FORMAT.md 13). An archive run meets every binlog the server still keeps, most of them archived by earlier
 * runs; hashing each whole file again to tell "already archived" from "another binlog under the same name" read
 * every retained binlog on the database's node at every rotation (0.4 s of CPU per 280 MiB, and the server's page
 * cache evicted for it). The edges settle it from 128 KiB: another server's or another series' binlog differs in
 * its first events (their timestamps and server id, the server version, the previous GTID set) and in its
 * last ones; a binlog cut short or grown differs in size.
 *
 *   edgesSha256 = SHA-256( u64be(size) || bytes[0, min(size, 64 KiB)) || bytes[max(0, size − 64 KiB), size) )
 *
 * The two ranges overlap in a binlog shorter than 128 KiB; they are hashed as defined all the same.
 */
import { createHash } from 'node:crypto';

/** Bytes taken from each end. */
export const EDGE_BYTES = 64 * 1024;

/** The digest of a binlog of `size` bytes whose first and last min(size, EDGE_BYTES) bytes are `head` and `tail`. */
export function edgesDigest(size: number, head: Uint8Array, tail: Uint8Array): string {
  const want = Math.min(size, EDGE_BYTES);
  if (head.length !== want || tail.length !== want) throw new RangeError(`edges of a ${size}-byte binlog are ${want} bytes each (got ${head.length} and ${tail.length})`);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64BE(BigInt(size));
  return createHash('sha256').update(prefix).update(head).update(tail).digest('hex');
}

/** Collects the edges of a binlog streamed through `update`, for a digest at the end. */
export class EdgesCollector {
  readonly #head = Buffer.alloc(EDGE_BYTES);
  #headLength = 0;
  // The last EDGE_BYTES seen, as a ring: `#tailAt` is where the oldest byte is once the ring is full.
  readonly #tail = Buffer.alloc(EDGE_BYTES);
  #tailAt = 0;
  #size = 0;

  update(chunk: Uint8Array): void {
    if (this.#headLength < EDGE_BYTES) {
      const n = Math.min(EDGE_BYTES - this.#headLength, chunk.length);
      this.#head.set(chunk.subarray(0, n), this.#headLength);
      this.#headLength += n;
    }
    this.#size += chunk.length;
    const keep = chunk.length > EDGE_BYTES ? chunk.subarray(chunk.length - EDGE_BYTES) : chunk;
    const first = Math.min(keep.length, EDGE_BYTES - this.#tailAt);
    this.#tail.set(keep.subarray(0, first), this.#tailAt);
    this.#tail.set(keep.subarray(first), 0);
    this.#tailAt = (this.#tailAt + keep.length) % EDGE_BYTES;
  }

  digest(): string {
    const want = Math.min(this.#size, EDGE_BYTES);
    // Oldest to newest: from #tailAt when the ring has wrapped, else the bytes written so far.
    const tail = this.#size >= EDGE_BYTES ? Buffer.concat([this.#tail.subarray(this.#tailAt), this.#tail.subarray(0, this.#tailAt)]) : this.#tail.subarray(0, want);
    return edgesDigest(this.#size, this.#head.subarray(0, want), tail);
  }
}
