/**
 * Sequential, bounded-memory access to a file: one reusable buffer holds a window of the file, refilled by
 * positional reads. Callers ask for a byte range to be resident, then slice it synchronously — so the hot path
 * (an event that is already in the window) costs no await.
 *
 * The size is fixed when the file is opened: bytes appended later (a binlog still being written) are not read.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { ArchiverError } from '../errors.ts';

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;

export class ChunkedFile {
  readonly path: string;
  readonly size: number;
  readonly #fh: FileHandle;
  #buf: Buffer;
  #bufStart = 0; // file offset of #buf[0]
  #bufLen = 0; // valid bytes in #buf

  private constructor(path: string, fh: FileHandle, size: number, chunkSize: number) {
    this.path = path;
    this.#fh = fh;
    this.size = size;
    this.#buf = Buffer.allocUnsafe(Math.max(64, Math.min(chunkSize, Math.max(size, 64))));
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

  /** Largest range that can be resident without growing the buffer. */
  get capacity(): number {
    return this.#buf.length;
  }

  /** True when [offset, offset+n) is resident. */
  has(offset: number, n: number): boolean {
    return offset >= this.#bufStart && offset + n <= this.#bufStart + this.#bufLen;
  }

  /**
   * Makes [offset, offset+n) resident (n is clamped to the end of the file), reading ahead to fill the window.
   * Grows the buffer when n exceeds it; callers bound n.
   */
  async ensure(offset: number, n: number): Promise<void> {
    const want = Math.min(n, this.size - offset);
    if (want <= 0 || this.has(offset, want)) return;
    const bufEnd = this.#bufStart + this.#bufLen;
    if (want > this.#buf.length) {
      const bigger = Buffer.allocUnsafe(want);
      const keep = offset >= this.#bufStart && offset < bufEnd ? bufEnd - offset : 0;
      if (keep > 0) this.#buf.copy(bigger, 0, offset - this.#bufStart, this.#bufLen);
      this.#buf = bigger;
      this.#bufLen = keep;
    } else if (offset >= this.#bufStart && offset < bufEnd) {
      this.#buf.copyWithin(0, offset - this.#bufStart, this.#bufLen);
      this.#bufLen = bufEnd - offset;
    } else {
      this.#bufLen = 0;
    }
    this.#bufStart = offset;
    while (this.#bufLen < want) {
      const filePos = this.#bufStart + this.#bufLen;
      const room = Math.min(this.#buf.length - this.#bufLen, this.size - filePos);
      const { bytesRead } = await this.#fh.read(this.#buf, this.#bufLen, room, filePos);
      if (bytesRead === 0) {
        throw new ArchiverError('EBINLOGTRUNCATED', `${this.path} shrank while being read: no bytes at offset ${filePos} of the ${this.size} it had when opened`, {
          hint: 'Another process truncated or replaced the file during the read (a purge, a restore, a copy tool). Read it again once it is stable.',
          context: { path: this.path, offset: filePos, size: this.size },
        });
      }
      this.#bufLen += bytesRead;
    }
  }

  /** The window itself and the index of file offset `offset` in it, for reads without a slice (hot path). */
  get window(): Buffer {
    return this.#buf;
  }

  indexOf(offset: number): number {
    return offset - this.#bufStart;
  }

  /** View of a resident range (valid until the next ensure). */
  slice(offset: number, n: number): Buffer {
    const at = offset - this.#bufStart;
    return this.#buf.subarray(at, at + n);
  }

  /** Reads [offset, offset+n) resident-or-not into a fresh view; for small ranges. */
  async read(offset: number, n: number): Promise<Buffer> {
    await this.ensure(offset, n);
    return this.slice(offset, Math.min(n, this.size - offset));
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }
}
