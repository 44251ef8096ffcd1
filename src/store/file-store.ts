/**
 * `file:///abs/dir`: a directory that mirrors object keys (the embedded default, and what tests inspect).
 * Objects are written to a staging file, fsynced, then hard-linked into place: link(2) fails if the name
 * exists, which gives the no-overwrite guarantee atomically, and a crash leaves only staging debris, which the
 * next writer sweeps (sweepStaging).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArchiverError } from '../errors.ts';
import type { DirectSource } from '../format/byte-reader.ts';
import { isReleasable } from '../format/result-stream.ts';
import { type DeleteResult, type ObjectInfo, type ObjectStore, type PutResult, assertValidKey } from './object-store.ts';

const STAGING = '.staging';
/** A staging file this old belongs to no live run, whoever wrote it. */
const STALE_STAGING_MS = 24 * 60 * 60 * 1000;
/** `<host>.<pid>.<random>.part`: who is writing it, so a later run can tell debris from a live upload. */
const STAGING_RE = /^(.+)\.(\d+)\.[0-9a-f]{16}\.part$/;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

/**
 * Whether a staging file was left by a writer that is gone: one of this host whose process has exited, or any
 * older than STALE_STAGING_MS (another host's, or named before writers were recorded). A live writer's file is
 * never touched.
 */
function isDebris(name: string, mtimeMs: number, now: number): boolean {
  if (!name.endsWith('.part')) return false;
  const m = STAGING_RE.exec(name);
  if (m !== null && m[1] === os.hostname() && Number(m[2]) !== process.pid && !processAlive(Number(m[2]))) return true;
  return now - mtimeMs > STALE_STAGING_MS;
}

/** put gathers chunks up to this size into one write. */
const WRITE_BATCH = 1024 * 1024;
/** put starts a background fdatasync after this many bytes. */
const SYNC_EVERY = 16 * 1024 * 1024;

function storeError(err: unknown, what: string): ArchiverError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new ArchiverError('ENOSPACE', `no space left while ${what}`, { cause: err, hint: 'free space on the store volume and run again' });
  }
  if (code === 'ENOENT') return new ArchiverError('ENOTFOUND', `not found while ${what}`, { cause: err });
  return new ArchiverError('ESTORE', `${(err as Error).message} while ${what}`, { cause: err });
}

export class FileStore implements ObjectStore {
  readonly url: string;
  readonly root: string;
  #swept: Promise<void> | undefined;

  constructor(options: { root: string }) {
    if (!path.isAbsolute(options.root)) throw new ArchiverError('EUSAGE', `file store path must be absolute: ${options.root}`);
    this.root = options.root;
    this.url = `file://${options.root}`;
  }

  describe(key: string): string {
    return `${this.url.replace(/\/$/, '')}/${key}`;
  }

  #path(key: string): string {
    assertValidKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  /** Removes staging files that killed writers left behind (see isDebris); once per store, before its first put. */
  async sweepStaging(): Promise<string[]> {
    const dir = path.join(this.root, STAGING);
    const removed: string[] = [];
    let names: string[];
    try {
      names = await fs.promises.readdir(dir);
    } catch {
      return removed; // no staging directory yet
    }
    const now = Date.now();
    for (const name of names) {
      const file = path.join(dir, name);
      const stat = await fs.promises.lstat(file).catch(() => undefined);
      if (stat === undefined || !stat.isFile() || !isDebris(name, stat.mtimeMs, now)) continue;
      await fs.promises.rm(file, { force: true });
      removed.push(name);
    }
    return removed;
  }

  async put(key: string, body: AsyncIterable<Uint8Array>): Promise<PutResult> {
    const final = this.#path(key);
    this.#swept ??= this.sweepStaging().then(() => undefined, () => undefined); // debris never fails a write
    await this.#swept;
    const stagingDir = path.join(this.root, STAGING);
    const staging = path.join(stagingDir, `${os.hostname()}.${process.pid}.${randomBytes(8).toString('hex')}.part`);
    let handle: fs.promises.FileHandle | undefined;
    try {
      await fs.promises.mkdir(stagingDir, { recursive: true });
      if (fs.existsSync(final)) throw new ArchiverError('ECONFLICT', `${this.describe(key)} already exists`);
      handle = await fs.promises.open(staging, 'wx', 0o600);
      const hash = createHash('sha256');
      let size = 0;
      // Small chunks are gathered into one writev. Written chunks go back to a producer that takes them
      // (the encoder frees its records at once instead of leaving them to a later garbage collection).
      const done = isReleasable(body) ? (chunk: Uint8Array): void => body.release(chunk) : undefined;
      let batch: Uint8Array[] = [];
      let batched = 0;
      // Data is flushed to disk in the background as it is written (one fdatasync at a time), so the final
      // fsync does not wait for the whole object's writeback at once.
      let syncing: Promise<void> | undefined;
      let unsynced = 0;
      const flush = async (h: fs.promises.FileHandle): Promise<void> => {
        const written = batch;
        batch = [];
        unsynced += batched;
        batched = 0;
        await writeAll(h, written);
        if (done !== undefined) for (const chunk of written) done(chunk);
        if (unsynced >= SYNC_EVERY) {
          await syncing;
          syncing = h.datasync();
          syncing.catch(() => undefined); // awaited before the next one and before the final sync
          unsynced = 0;
        }
      };
      for await (const chunk of body) {
        if (chunk.length === 0) continue;
        hash.update(chunk);
        size += chunk.length;
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= WRITE_BATCH || batch.length >= 64) await flush(handle);
      }
      await flush(handle);
      await syncing;
      await handle.sync();
      await handle.close();
      handle = undefined;
      await fs.promises.mkdir(path.dirname(final), { recursive: true });
      try {
        await fs.promises.link(staging, final);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ArchiverError('ECONFLICT', `${this.describe(key)} already exists`, { cause: err });
        throw err;
      }
      await syncDir(path.dirname(final));
      return { size, sha256: hash.digest('hex') };
    } catch (err) {
      throw err instanceof ArchiverError ? err : storeError(err, `writing ${this.describe(key)}`);
    } finally {
      await handle?.close().catch(() => undefined);
      await fs.promises.rm(staging, { force: true });
    }
  }

  /**
   * Streams the object. Iterated, it yields 1 MiB chunks; a reader that knows the DirectSource protocol
   * (the format decoder's ByteReader) instead reads straight into its own buffers with `readInto`.
   */
  get(key: string): AsyncIterable<Buffer> & DirectSource {
    const describe = (): string => `reading ${this.describe(key)}`;
    const file = (): string => this.#path(key);
    let handle: fs.promises.FileHandle | undefined;
    let position = 0;
    let closed = false;
    const close = async (): Promise<void> => {
      closed = true;
      const h = handle;
      handle = undefined;
      await h?.close();
    };
    return {
      async readInto(into: Uint8Array): Promise<number> {
        if (closed || into.length === 0) return 0;
        const name = file();
        try {
          handle ??= await fs.promises.open(name, 'r');
          const { bytesRead } = await handle.read(into, 0, into.length, position);
          position += bytesRead;
          if (bytesRead === 0) await close();
          return bytesRead;
        } catch (err) {
          await close().catch(() => undefined);
          throw storeError(err, describe());
        }
      },
      close,
      async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
        const name = file();
        let stream: fs.ReadStream;
        try {
          await fs.promises.access(name);
          stream = fs.createReadStream(name, { highWaterMark: 1024 * 1024 });
        } catch (err) {
          throw storeError(err, describe());
        }
        try {
          for await (const chunk of stream) yield chunk as Buffer;
        } catch (err) {
          throw storeError(err, describe());
        }
      },
    };
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const stat = await fs.promises.stat(this.#path(key));
      return stat.isFile() ? { key, size: stat.size } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw storeError(err, `checking ${this.describe(key)}`);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const base = prefix.replace(/\/+$/, '');
    const start = base === '' ? this.root : this.#path(base);
    const walk = async function* (dir: string, rel: string): AsyncIterable<ObjectInfo> {
      let entries: fs.Dirent[];
      try {
        entries = await fs.promises.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw storeError(err, `listing ${dir}`);
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        if (entry.name === STAGING) continue;
        const key = rel === '' ? entry.name : `${rel}/${entry.name}`;
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) yield* walk(full, key);
        else if (entry.isFile()) yield { key, size: (await fs.promises.stat(full)).size };
      }
    };
    yield* walk(start, base);
  }

  /** A directory has no retention: only the file goes (empty directories stay, as put would recreate them). */
  async delete(key: string): Promise<DeleteResult> {
    const file = this.#path(key);
    try {
      await fs.promises.unlink(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { outcome: 'absent' };
      throw storeError(err, `deleting ${this.describe(key)}`);
    }
    try {
      await syncDir(path.dirname(file));
    } catch (err) {
      throw storeError(err, `syncing the directory of ${this.describe(key)} after deleting it`);
    }
    return { outcome: 'deleted' };
  }

  async replace(key: string, data: Buffer): Promise<void> {
    const final = this.#path(key);
    const tmp = `${final}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await fs.promises.mkdir(path.dirname(final), { recursive: true });
      await fs.promises.writeFile(tmp, data, { mode: 0o600, flush: true });
      await fs.promises.rename(tmp, final);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw storeError(err, `writing ${this.describe(key)}`);
    }
  }
}

/** Writes every byte of `chunks` at the current position (writev may write less than asked). */
async function writeAll(handle: fs.promises.FileHandle, chunks: Uint8Array[]): Promise<void> {
  let rest = chunks;
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest);
    let skip = bytesWritten;
    const next: Uint8Array[] = [];
    for (const c of rest) {
      if (skip >= c.length) skip -= c.length;
      else {
        next.push(skip === 0 ? c : c.subarray(skip));
        skip = 0;
      }
    }
    if (bytesWritten === 0 && next.length > 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    rest = next;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
