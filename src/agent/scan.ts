/**
 * One look at the binlog directory: which binlogs exist, which one is active, and their sizes and mtimes.
 * Closed/active follows the archiver's own rule (src/pipeline/discover.ts), so the agent never announces a file
 * the archive Job would refuse.
 */
import fs from 'node:fs';
import { discoverBinlogs, type Candidate } from '../pipeline/discover.ts';

export interface ScannedBinlog {
  name: string;
  sequence: number;
  path: string;
  size: number;
  mtimeMs: number;
  /** ISO 8601, as fs.Stats.mtime renders it. */
  mtime: string;
  closed: boolean;
}

export interface Scan {
  active: string | null;
  /** The newest `limit` binlogs that exist on disk, ascending by sequence. */
  binlogs: ScannedBinlog[];
  total: number;
  truncated: boolean;
  /**
   * What makes two scans observably different: names, closed flags, sizes and mtimes of closed binlogs, the total.
   * Not the active binlog's size: it changes on every write and the controller only acts on closed files.
   */
  fingerprint: string;
}

async function statAll(candidates: Candidate[], concurrency: number): Promise<(fs.Stats | null)[]> {
  const out: (fs.Stats | null)[] = new Array<fs.Stats | null>(candidates.length).fill(null);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < candidates.length) {
      const i = next++;
      try {
        out[i] = await fs.promises.stat((candidates[i] as Candidate).path);
      } catch (err) {
        // Listed in the index but gone (a purge between reading the index and stat): the next scan agrees.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, candidates.length) }, worker));
  return out;
}

export async function scanBinlogDir(dir: string, limit: number, statConcurrency: number): Promise<Scan> {
  const discovery = await discoverBinlogs(dir);
  const all = discovery.active === null ? discovery.closed : [...discovery.closed, discovery.active];
  const newest = all.slice(-limit);
  const stats = await statAll(newest, statConcurrency);
  const binlogs: ScannedBinlog[] = [];
  newest.forEach((c, i) => {
    const st = stats[i];
    if (st === null || st === undefined || !st.isFile()) return;
    binlogs.push({ name: c.name, sequence: c.sequence, path: c.path, size: st.size, mtimeMs: st.mtimeMs, mtime: st.mtime.toISOString(), closed: c !== discovery.active });
  });
  const active = discovery.active?.name ?? null;
  const fingerprint = JSON.stringify([active, all.length, binlogs.map((b) => (b.closed ? [b.name, b.size, b.mtimeMs] : [b.name]))]);
  return { active, binlogs, total: all.length, truncated: all.length > newest.length, fingerprint };
}
