/**
 * Where a legacy pipeline keeps its binlogs (`parity --legacy URL`): a local directory (file://) or a bucket
 * prefix (s3://, gs://, opened by the store layer's own URL parsing), read only. One object per binlog, named
 * `<binlog><suffix>` with the suffix its format implies. Anything else found there is listed as ignored, with
 * the reason, never read: a name that is not a plain binlog name (path traversal, a sub-prefix), a symbolic
 * link (not followed: it could point anywhere on the machine), a directory, or a suffix of another format.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ArchiverError } from '../errors.ts';
import { localFilePath } from '../file-url.ts';
import { binlogNameProblem } from '../store/layout.ts';
import { loadStore } from '../store/load-store.ts';
import type { ObjectStore } from '../store/object-store.ts';

export const LEGACY_FORMATS = ['openssl-aes-256-cbc', 'zstd', 'gzip', 'plain'] as const;
export type LegacyFormat = (typeof LEGACY_FORMATS)[number];

/** Object name suffixes per format, longest first: `zstd -3 | openssl enc` output is named .zst.enc or .enc. */
export const LEGACY_SUFFIXES: Readonly<Record<LegacyFormat, readonly string[]>> = {
  'openssl-aes-256-cbc': ['.zst.enc', '.enc'],
  zstd: ['.zst'],
  gzip: ['.gz'],
  plain: [''],
};

export interface LegacyObject {
  /** The object's name in the location. */
  name: string;
  /** The binlog it holds (the name without the suffix). */
  binlog: string;
  size: number;
}

export interface IgnoredObject {
  name: string;
  reason: string;
}

export interface LegacyListing {
  objects: LegacyObject[];
  ignored: IgnoredObject[];
}

export interface LegacyLocation {
  readonly url: string;
  describe(name: string): string;
  list(): Promise<LegacyListing>;
  /** The bytes of one listed object; a name that is not a plain file name is refused. */
  read(name: string): AsyncIterable<Buffer>;
}

/** The binlog a legacy object holds, or why the name is not one of this format's objects. */
export function legacyBinlogName(name: string, format: LegacyFormat): { binlog: string } | { reason: string } {
  const suffix = LEGACY_SUFFIXES[format].find((s) => name.endsWith(s) && name.length > s.length);
  if (suffix === undefined) return { reason: `does not end in ${LEGACY_SUFFIXES[format].join(' or ')} (format ${format})` };
  const binlog = name.slice(0, name.length - suffix.length);
  const problem = binlogNameProblem(binlog);
  return problem === undefined ? { binlog } : { reason: `${JSON.stringify(binlog)} is not a binlog name: it ${problem}` };
}

/** Sorts raw names into this format's objects and ignored names; a second object for the same binlog is ignored. */
function classify(entries: { name: string; size: number; refused?: string }[], format: LegacyFormat): LegacyListing {
  const objects = new Map<string, LegacyObject>();
  const ignored: IgnoredObject[] = [];
  for (const { name, size, refused } of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const parsed = legacyBinlogName(name, format);
    if (refused !== undefined) ignored.push({ name, reason: refused });
    else if ('reason' in parsed) ignored.push({ name, reason: parsed.reason });
    else if (objects.has(parsed.binlog)) ignored.push({ name, reason: `${objects.get(parsed.binlog)?.name ?? ''} already holds binlog ${parsed.binlog}` });
    else objects.set(parsed.binlog, { name, binlog: parsed.binlog, size });
  }
  return { objects: [...objects.values()], ignored };
}

function checkName(name: string, where: string): void {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new ArchiverError('EBADINPUT', `refusing to read legacy object ${JSON.stringify(name)} of ${where}: not a plain object name`);
  }
}

function directoryLocation(url: string, format: LegacyFormat): LegacyLocation {
  const dir = path.resolve(localFilePath(url, '--legacy'));
  const describe = (name: string): string => `file://${path.join(dir, name)}`;
  return {
    url: `file://${dir}`,
    describe,
    async list() {
      let dirents: fs.Dirent[];
      try {
        dirents = await fs.promises.readdir(dir, { withFileTypes: true });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new ArchiverError(code === 'ENOENT' || code === 'ENOTDIR' ? 'ENOTFOUND' : 'ESTORE', `cannot list the legacy directory ${dir}: ${(err as Error).message}`, {
          cause: err, hint: 'check --legacy: a file:///absolute/dir the legacy pipeline writes to',
        });
      }
      const entries = await Promise.all(dirents.map(async (d) => {
        if (d.isSymbolicLink()) return { name: d.name, size: 0, refused: 'is a symbolic link (not followed: it could point anywhere)' };
        if (d.isDirectory()) return { name: d.name, size: 0, refused: 'is a directory (the legacy location is flat: one object per binlog)' };
        if (!d.isFile()) return { name: d.name, size: 0, refused: 'is not a regular file' };
        return { name: d.name, size: (await fs.promises.lstat(path.join(dir, d.name))).size };
      }));
      return classify(entries, format);
    },
    async *read(name) {
      checkName(name, url);
      let handle: fs.promises.FileHandle;
      try {
        // O_NOFOLLOW: a file swapped for a symlink after listing is refused, not followed.
        handle = await fs.promises.open(path.join(dir, name), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      } catch (err) {
        const loop = (err as NodeJS.ErrnoException).code === 'ELOOP';
        throw new ArchiverError(loop ? 'EBADINPUT' : 'ESTORE', `cannot open ${describe(name)}: ${loop ? 'it is a symbolic link (not followed)' : (err as Error).message}`, { cause: err });
      }
      try {
        if (!(await handle.stat()).isFile()) throw new ArchiverError('EBADINPUT', `${describe(name)} is not a regular file`);
        for await (const chunk of handle.createReadStream({ highWaterMark: 1 << 20, autoClose: false })) yield chunk as Buffer;
      } finally {
        await handle.close();
      }
    },
  };
}

async function bucketLocation(url: string, format: LegacyFormat): Promise<LegacyLocation> {
  let s: ObjectStore;
  try {
    // Loads the S3 or GCS client only now: `archive` to a file:// store without --legacy never does.
    s = await loadStore(url);
  } catch (err) {
    if (!(err instanceof ArchiverError)) throw err;
    // The store layer names the option --store; here the URL came from --legacy.
    throw new ArchiverError(err.code, err.message.replace(/^--store\b/, '--legacy'), { cause: err, ...(err.hint === undefined ? {} : { hint: err.hint }) });
  }
  return {
    url: s.url,
    describe: (name) => s.describe(name),
    async list() {
      const entries: { name: string; size: number; refused?: string }[] = [];
      for await (const info of s.list('')) {
        entries.push(info.key.includes('/')
          ? { name: info.key, size: info.size, refused: 'is under a sub-prefix (the legacy location is flat: one object per binlog)' }
          : { name: info.key, size: info.size });
      }
      return classify(entries, format);
    },
    read(name) {
      checkName(name, url);
      return s.get(name);
    },
  };
}

export async function openLegacyLocation(url: string, format: LegacyFormat): Promise<LegacyLocation> {
  if (/^file:/i.test(url)) return directoryLocation(url, format);
  if (/^(s3|gs):/i.test(url)) return await bucketLocation(url, format);
  throw new ArchiverError('EUSAGE', `--legacy ${JSON.stringify(url)}: not a file://, s3:// or gs:// URL`, {
    hint: 'the legacy pipeline\'s location: file:///absolute/dir or s3://BUCKET/PREFIX?endpoint=...&region=...',
  });
}
