/**
 * Feeds a file to a push parser in fixed-size chunks, in constant memory: two reusable buffers, the next chunk
 * read while the parser works through the current one. The parser may ask for a stretch to be skipped (bytes it
 * has no use for), which is then not read at all.
 *
 * The size is fixed when the file is opened: bytes appended later (a binlog still being written) are not read.
 */
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { ArchiverError, withContext } from '../errors.ts';

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;

export interface ChunkSink {
  /** Takes a chunk; it must not keep a reference to it after returning. */
  write(chunk: Buffer): void;
  /** Bytes after those written that need not be read. */
  skippable(): number;
  skip(n: number): void;
}

function noop(): void {}

function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** What went wrong opening `path`, as a typed error that names the file and what to do. */
function openError(err: unknown, path: string, what: string): ArchiverError {
  const code = (err as NodeJS.ErrnoException).code;
  const context = { path };
  if (code === 'ENOENT') {
    return new ArchiverError('ENOTFOUND', `${what} ${path} does not exist`, { cause: err, hint: 'Check the path; the server may have purged the file.', context });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new ArchiverError('EBADINPUT', `${what} ${path} cannot be read (permission denied)`, {
      cause: err, context, hint: 'Run with a user that may read the binlog volume (the mysql group, or an fsGroup on the pod).',
    });
  }
  if (code === 'ELOOP') {
    return new ArchiverError('EBADINPUT', `${what} ${path} is a symbolic link loop (or too many links deep)`, {
      cause: err, context, hint: 'Point the link (or the index entry) at the real binlog file.',
    });
  }
  if (code === 'ENOTDIR' || code === 'ENAMETOOLONG') {
    return new ArchiverError('EBADINPUT', `${what} ${path} cannot be opened: ${(err as Error).message}`, { cause: err, context, hint: 'Check the path.' });
  }
  return withContext(err, `opening ${what} ${path}`);
}

/**
 * Opens a regular file for reading, refusing anything else with EBADINPUT: a FIFO would block the reader
 * forever, a device has no end (/dev/zero) or no size. O_NONBLOCK makes the open itself return at once for a
 * FIFO; it changes nothing for regular files. The caller owns the handle.
 */
export async function openRegularFile(path: string, what = 'binlog'): Promise<{ fh: FileHandle; stat: Stats }> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw openError(err, path, what);
  }
  try {
    const stat = await fh.stat();
    if (!stat.isFile()) {
      throw new ArchiverError('EBADINPUT', `${what} ${path} is ${fileKind(stat)}, not a regular file`, {
        hint: stat.isDirectory() ? 'Name a binlog file, not the directory that holds it.' : 'Only regular files are read: name the binlog file itself.',
        context: { path },
      });
    }
    return { fh, stat };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** The stat of a regular file `path` (EBADINPUT/ENOTFOUND as openRegularFile for anything else). */
export async function statRegularFile(path: string, what = 'binlog'): Promise<Stats> {
  const { fh, stat } = await openRegularFile(path, what);
  await fh.close();
  return stat;
}

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

  /** Opens a regular file (see openRegularFile for the errors). */
  static async open(path: string, chunkSize = DEFAULT_CHUNK_SIZE): Promise<ChunkedFile> {
    const { fh, stat } = await openRegularFile(path);
    return new ChunkedFile(path, fh, stat.size, chunkSize);
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
