/**
 * Which binlogs in a directory may be archived: one series per source (one basename), every file of it but
 * the newest (the server is writing it). The series is the one the index file names; without an index, the
 * basename asked for, else the only series that is not a relay log. Several candidate series and no choice is
 * refused: archiving two servers' (or a server's and its relay) files under one source mixes their numbering.
 *
 * Whether a file that is not the newest is really closed is decided while it is read (closed-check.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { type BinlogDirEntry, listBinlogFiles, readBinlogIndex, readFdeHead } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';

export interface Candidate {
  name: string;
  path: string;
  sequence: number;
  /** The file after this one in the series (the server's next binlog); null for the newest. */
  next: Candidate | null;
}

export interface Discovery {
  closed: Candidate[];
  /** The binlog the server is presumably writing; never archived. */
  active: Candidate | null;
  indexFile: string | null;
  /** The series' basename (`mysql-bin`), null when the directory holds none. */
  basename: string | null;
}

async function findIndex(dir: string): Promise<string | null> {
  const names = (await fs.promises.readdir(dir)).filter((n) => n.endsWith('.index') && !n.includes('relay'));
  if (names.length > 1) {
    throw new ArchiverError('EBADINPUT', `${dir} holds several binlog index files (${names.join(', ')})`, { hint: 'point --binlog-dir at one server\'s binlog directory' });
  }
  return names[0] === undefined ? null : path.join(dir, names[0]);
}

/** A series is a relay log when its files say so (LOG_EVENT_RELAY_LOG_F), or, if none can, by its name. */
async function isRelaySeries(base: string, files: BinlogDirEntry[]): Promise<boolean> {
  for (const f of files) {
    const head = await readFdeHead(f.path).catch(() => null);
    if (head !== null) return head.relayLog;
  }
  return /relay/i.test(base);
}

/** The one series of a directory without an index file (see the file comment). */
async function chooseSeries(dir: string, basename: string | undefined): Promise<BinlogDirEntry[]> {
  const all = await listBinlogFiles(dir);
  const bases = new Map<string, BinlogDirEntry[]>();
  for (const e of all) bases.set(e.base, [...(bases.get(e.base) ?? []), e]);
  if (basename !== undefined) return bases.get(basename) ?? [];
  if (bases.size <= 1) return all;
  const binlogs: string[] = [];
  for (const [base, files] of bases) if (!(await isRelaySeries(base, files))) binlogs.push(base);
  if (binlogs.length === 1) return bases.get(binlogs[0] as string) ?? [];
  const names = (binlogs.length === 0 ? [...bases.keys()] : binlogs).map((b) => `${b}.*`).join(', ');
  throw new ArchiverError('EBADINPUT', `${dir} holds several binlog series (${names}) and no index file: which one this server writes cannot be told`, {
    hint: 'put the server\'s binlog index file (log_bin_index) in the directory, name the basename to archive (archive --binlog-basename NAME), or give each series its own directory',
    context: { dir, series: [...bases.keys()] },
  });
}

function linked(entries: { name: string; path: string; sequence: number }[]): Candidate[] {
  const sorted = entries.map((e): Candidate => ({ name: e.name, path: e.path, sequence: e.sequence, next: null })).sort((a, b) => a.sequence - b.sequence);
  sorted.forEach((c, i) => {
    c.next = sorted[i + 1] ?? null;
  });
  return sorted;
}

export async function discoverBinlogs(dir: string, options: { basename?: string } = {}): Promise<Discovery> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(dir);
  } catch (err) {
    throw new ArchiverError('EBADINPUT', `binlog directory ${dir} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  if (!stat.isDirectory()) throw new ArchiverError('EBADINPUT', `${dir} is not a directory`, { hint: '--binlog-dir takes the directory holding the binlogs' });
  const indexFile = await findIndex(dir);
  const entries = indexFile === null
    ? await chooseSeries(dir, options.basename)
    // Index lines may hold the server's absolute paths; the files are wherever this directory is mounted.
    : (await readBinlogIndex(indexFile, dir)).map((e) => ({ ...e, path: path.join(dir, e.name) }));
  const bases = [...new Set(entries.map((e) => e.base))];
  if (bases.length > 1) {
    throw new ArchiverError('EBADINPUT', `${indexFile ?? dir} names binlogs of several series (${bases.map((b) => `${b}.*`).join(', ')})`, {
      hint: 'an index file lists one server\'s binlogs: point --binlog-dir at that server\'s directory',
    });
  }
  const series = linked(entries);
  const active = series.at(-1) ?? null;
  return { closed: series.slice(0, -1), active, indexFile, basename: bases[0] ?? null };
}
