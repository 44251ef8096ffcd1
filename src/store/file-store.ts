/**
 * `file:///abs/dir`: a directory that mirrors object keys (the embedded default, and what tests inspect).
 * Objects are written to a staging file, fsynced, then hard-linked into place: link(2) fails if the name
 * exists, which gives the no-overwrite guarantee atomically, and a crash leaves only staging debris.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ArchiverError } from '../errors.ts';
import { type ObjectInfo, type ObjectStore, type PutResult, assertValidKey } from './object-store.ts';

const STAGING = '.staging';

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

  async put(key: string, body: AsyncIterable<Uint8Array>): Promise<PutResult> {
    const final = this.#path(key);
    const stagingDir = path.join(this.root, STAGING);
    const staging = path.join(stagingDir, `${randomBytes(8).toString('hex')}.part`);
    let handle: fs.promises.FileHandle | undefined;
    try {
      await fs.promises.mkdir(stagingDir, { recursive: true });
      if (fs.existsSync(final)) throw new ArchiverError('ECONFLICT', `${this.describe(key)} already exists`);
      handle = await fs.promises.open(staging, 'wx', 0o600);
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of body) {
        hash.update(chunk);
        size += chunk.length;
        await handle.write(chunk);
      }
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

  async *get(key: string): AsyncIterable<Buffer> {
    const file = this.#path(key);
    let stream: fs.ReadStream;
    try {
      await fs.promises.access(file);
      stream = fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
    } catch (err) {
      throw storeError(err, `reading ${this.describe(key)}`);
    }
    try {
      for await (const chunk of stream) yield chunk as Buffer;
    } catch (err) {
      throw storeError(err, `reading ${this.describe(key)}`);
    }
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

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
