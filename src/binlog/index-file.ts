/**
 * Finding binlogs on disk: MySQL/MariaDB index files (`mysql-bin.index`, one path per line, in creation order)
 * and, without an index, directory listings of `<base>.<6+ digits>` names ordered by sequence number.
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { ArchiverError } from '../errors.ts';
import { openRegularFile } from './chunked-file.ts';

export interface BinlogFileName {
  /** File name without directory, e.g. `mysql-bin.000042`. */
  readonly name: string;
  /** `mysql-bin` */
  readonly base: string;
  /** 42 */
  readonly sequence: number;
}

export interface BinlogIndexEntry extends BinlogFileName {
  /** The line as written in the index (`./mysql-bin.000042` or an absolute path). */
  readonly indexed: string;
  /** Absolute path: relative entries resolve against the index file's directory (the datadir). */
  readonly path: string;
}

export interface BinlogDirEntry extends BinlogFileName {
  readonly path: string;
}

const NAME_RE = /^(.+)\.(\d{6,})$/;

/** Splits `mysql-bin.000042` (or a path ending in it) into base and sequence; null if it is not such a name. */
export function parseBinlogName(nameOrPath: string): BinlogFileName | null {
  const name = basename(nameOrPath.trim());
  const m = NAME_RE.exec(name);
  if (m === null) return null;
  const sequence = Number(m[2]);
  if (!Number.isSafeInteger(sequence)) return null;
  return { name, base: m[1] as string, sequence };
}

/** The sequence number of `mysql-bin.000042` (42), or null when the name has no 6+ digit suffix. */
export function parseSequence(nameOrPath: string): number | null {
  return parseBinlogName(nameOrPath)?.sequence ?? null;
}

function bySequence(a: BinlogFileName, b: BinlogFileName): number {
  if (a.base !== b.base) return a.base < b.base ? -1 : 1;
  return a.sequence - b.sequence;
}

/**
 * Parses index file text into entries, in the file's order (the server's creation order). Blank lines are
 * skipped; `\r\n` endings are accepted. `indexDir` resolves relative entries.
 */
export function parseBinlogIndex(text: string, indexDir: string, indexPath = 'binlog index'): BinlogIndexEntry[] {
  const out: BinlogIndexEntry[] = [];
  const seen = new Set<string>();
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '') return;
    const parsed = parseBinlogName(line);
    if (parsed === null) {
      throw new ArchiverError('EBADINPUT', `${indexPath} line ${i + 1} ("${line}") does not name a binlog file (<base>.<6+ digits>)`, {
        hint: 'Point the archiver at the binlog index file (log_bin_index), e.g. <datadir>/binlog.index.',
        context: { path: indexPath, line: i + 1 },
      });
    }
    const path = isAbsolute(line) ? line : resolve(indexDir, line);
    if (seen.has(path)) {
      throw new ArchiverError('EBADINPUT', `${indexPath} lists ${line} twice (line ${i + 1})`, {
        hint: 'The index file is damaged; MySQL rewrites it on FLUSH BINARY LOGS or restart.',
        context: { path: indexPath, line: i + 1 },
      });
    }
    seen.add(path);
    out.push({ ...parsed, indexed: line, path });
  });
  return out;
}

/**
 * Reads a binlog index file (e.g. `/var/lib/mysql/binlog.index`). The server writes relative entries relative to
 * its datadir, which is the index's own directory unless `log_bin_index` points elsewhere: pass `dataDir` then.
 */
export async function readBinlogIndex(indexPath: string, dataDir?: string): Promise<BinlogIndexEntry[]> {
  const { fh } = await openRegularFile(indexPath, 'binlog index file');
  let text: string;
  try {
    text = await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
  return parseBinlogIndex(text, dataDir ?? dirname(resolve(indexPath)), indexPath);
}

/**
 * Lists `<base>.<6+ digits>` files in a directory (no index needed), sorted by base then sequence number.
 * `base` keeps only one series (a datadir often holds both `binlog.*` and `relay-bin.*`).
 */
/** A binlog-like name (`.<6+ digits>` at the end) holding a control character: MySQL never writes one. */
function hasControlChar(name: string): boolean {
  return [...name].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}

export async function listBinlogFiles(dir: string, base?: string): Promise<BinlogDirEntry[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: BinlogDirEntry[] = [];
  for (const e of entries) {
    if (/\.\d{6,}$/.test(e.name) && hasControlChar(e.name)) {
      // A newline in a name cannot be written to an index file or a replay script line: refuse it rather
      // than skip a binlog without a word.
      throw new ArchiverError('EBADINPUT', `${dir} holds a binlog-like file whose name contains a control character (${JSON.stringify(e.name)})`, {
        hint: 'Rename or move the file: binlog names never contain newlines or other control characters.',
        context: { dir, name: e.name },
      });
    }
    // Not only regular files: a FIFO or device with a binlog name is refused by name when it is opened.
    if (e.isDirectory()) continue;
    const parsed = parseBinlogName(e.name);
    if (parsed === null || (base !== undefined && parsed.base !== base)) continue;
    out.push({ ...parsed, path: resolve(dir, e.name) });
  }
  return out.sort(bySequence);
}
