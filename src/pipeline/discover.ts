/**
 * Which binlogs in a directory are closed and so may be archived: every one named in the index file but the
 * last (the server is writing it), or, without an index, every binlog but the newest.
 */
import fs from 'node:fs';
import path from 'node:path';
import { listBinlogFiles, readBinlogIndex } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';

export interface Candidate {
  name: string;
  path: string;
  sequence: number;
}

export interface Discovery {
  closed: Candidate[];
  /** The binlog the server is presumably writing; never archived. */
  active: Candidate | null;
  indexFile: string | null;
}

async function findIndex(dir: string): Promise<string | null> {
  const names = (await fs.promises.readdir(dir)).filter((n) => n.endsWith('.index') && !n.includes('relay'));
  if (names.length > 1) {
    throw new ArchiverError('EBADINPUT', `${dir} holds several binlog index files (${names.join(', ')})`, { hint: 'point --binlog-dir at one server\'s binlog directory' });
  }
  return names[0] === undefined ? null : path.join(dir, names[0]);
}

export async function discoverBinlogs(dir: string): Promise<Discovery> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(dir);
  } catch (err) {
    throw new ArchiverError('EBADINPUT', `binlog directory ${dir} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  if (!stat.isDirectory()) throw new ArchiverError('EBADINPUT', `${dir} is not a directory`, { hint: '--binlog-dir takes the directory holding the binlogs' });
  const indexFile = await findIndex(dir);
  const all: Candidate[] = indexFile === null
    ? (await listBinlogFiles(dir)).map((e) => ({ name: e.name, path: e.path, sequence: e.sequence }))
    // Index lines may hold the server's absolute paths; the files are wherever this directory is mounted.
    : (await readBinlogIndex(indexFile, dir)).map((e) => ({ name: e.name, path: path.join(dir, e.name), sequence: e.sequence }));
  const sorted = [...all].sort((a, b) => a.sequence - b.sequence);
  const active = sorted.at(-1) ?? null;
  return { closed: sorted.slice(0, -1), active, indexFile };
}
