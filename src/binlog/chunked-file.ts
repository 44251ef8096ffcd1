/**
 * Feeds a file to a push parser in fixed-size chunks, in constant memory: two reusable buffers, the next chunk
 * read while the parser works through the current one. The parser may ask for a stretch to be skipped (bytes it
 * has no use for), which is then not read at all.
 *
 * The size is fixed when the file is opened: bytes appended later (a binlog still being written) are not read.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { ArchiverError } from '../errors.ts';

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;

export interface ChunkSink {
  /** Takes a chunk; it must not keep a reference to it after returning. */
  write(chunk: Buffer): void;
  /** Bytes after those written that need not be read. */
  skippable(): number;
  skip(n: number): void;
}

function noop(): void {}

export class ChunkedFile {
  readonly path: string;
  readonly size: number;
  readonly #fh: FileHandle;
  readonly #chunkSize: number;

  private constructor(path: string, fh: FileHandle, size: number, chunkSize: number) {
    this.path = path;
    this.#fh = fh;
    this.size = size;
    this.#chunkSize = Math.max(64, Math.min(chunkSize, Math.max(size, 64)));
  }

  static async open(path: string, chunkSize = DEFAULT_CHUNK_SIZE): Promise<ChunkedFile> {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      if (st.isDirectory()) {
        // open() succeeds on a directory on Linux; fail like read() would, but before any read.
        throw Object.assign(new Error(`EISDIR: ${path} is a directory`), { code: 'EISDIR' });
      }
      return new ChunkedFile(path, fh, st.size, chunkSize);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Reads [offset, offset + n) fully into buf (n = min(buf.length, size - offset)). */
  async #read(buf: Buffer, offset: number): Promise<Buffer> {
    const want = Math.min(buf.length, this.size - offset);
    let have = 0;
    while (have < want) {
      const { bytesRead } = await this.#fh.read(buf, have, want - have, offset + have);
      if (bytesRead === 0) {
        const at = offset + have;
        throw new ArchiverError('EBINLOGTRUNCATED', `${this.path} shrank while being read: no bytes at offset ${at} of the ${this.size} it had when opened`, {
          hint: 'Another process truncated or replaced the file during the read (a purge, a restore, a copy tool). Read it again once it is stable.',
          context: { path: this.path, offset: at, size: this.size },
        });
      }
      have += bytesRead;
    }
    return buf.subarray(0, want);
  }

  #readAhead(buf: Buffer, offset: number): Promise<Buffer> | null {
    if (offset >= this.size) return null;
    const p = this.#read(buf, offset);
    p.catch(noop); // awaited later; until then a failure must not count as unhandled
    return p;
  }

  /** Writes the file's first `n` bytes (or fewer, if it is shorter) to a fresh buffer. */
  async head(n: number): Promise<Buffer> {
    return this.#read(Buffer.alloc(Math.min(n, this.size)), 0);
  }

  /** Feeds the whole file to `sink`, yielding after each chunk. */
  async *feed(sink: ChunkSink): AsyncGenerator<void, void, undefined> {
    // `cur` holds (or is being filled with) the chunk being handed out, `other` the next one.
    let cur = Buffer.allocUnsafe(this.#chunkSize);
    let other = Buffer.allocUnsafe(this.#chunkSize);
    let offset = 0;
    let pending = this.#readAhead(cur, offset);
    try {
      while (pending !== null) {
        const chunk = await pending;
        offset += chunk.length;
        pending = this.#readAhead(other, offset);
        sink.write(chunk);
        // Skipping costs the read ahead, so it is done only when it saves reading at least a whole chunk.
        const skip = Math.min(sink.skippable(), this.size - offset);
        if (skip >= this.#chunkSize) {
          // The read ahead is of bytes to be skipped (at least in part): drop it and read past them.
          if (pending !== null) await pending.catch(noop);
          sink.skip(skip);
          offset += skip;
          pending = this.#readAhead(other, offset);
        }
        [cur, other] = [other, cur];
        yield;
      }
    } finally {
      if (pending !== null) await pending.catch(noop);
    }
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }
}
