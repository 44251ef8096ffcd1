/**
 * A series of real MariaDB binlogs whose events lie in distinct seconds, for retention tests: a private MariaDB
 * (testenv's launcher, not the shared server) runs a workload round per binlog, one second apart, rotating after
 * each; then it stops, so every binlog is closed. The moments after each round (time, GTID position, table
 * checksums) are what restores inside and outside a recovery window are checked against.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopProcess } from '../../testenv/proc.ts';
import { launchMariadb, type MariadbTools } from '../../testenv/servers/mariadb.ts';
import { allocatePort } from '../../testenv/ports.ts';
import { ensureTools } from '../../testenv/tools.ts';
import { tempDir } from './archive.ts';
import { WORKLOAD_SCHEMA, checksums, workloadRound } from './workload.ts';

export interface Moment {
  /** Just after the round's last commit, before the next second's round. */
  time: string;
  gtid: string;
  sums: string;
}

export interface BinlogSeries {
  /** A directory holding the rounds' closed binlogs and an empty next one. */
  dir: string;
  names: string[];
  /** moments[i]: after the first half of round i, inside names[i] (round 0 shares names[0] with the schema). */
  moments: Moment[];
  /** ends[i]: the GTID position at the end of names[i] (what a backup taken between two binlogs holds). */
  ends: string[];
  db: string;
}

export async function makeBinlogSeries(rounds: number): Promise<BinlogSeries> {
  const work = tempDir('blarc-series-');
  const server = await launchMariadb({
    name: 'series', dir: work, port: await allocatePort('series'), binlog: true, serverId: 77,
    tools: (await ensureTools(new Set(['mysql']))) as MariadbTools,
  });
  const client = { query: (sql: string) => server.sql(sql), optionFile: '' };
  const db = `series_${randomBytes(3).toString('hex')}`;
  const moments: Moment[] = [];
  const ends: string[] = [];
  try {
    await client.query('FLUSH BINARY LOGS');
    await client.query(WORKLOAD_SCHEMA(db));
    for (let round = 0; round < rounds; round++) {
      // Two halves a second apart (binlog timestamps have one-second resolution), so each moment lies inside its
      // binlog, with a later transaction after it in the same file.
      await workloadRound(client, db, round, 8);
      moments.push({ time: new Date().toISOString(), gtid: (await client.query('SELECT @@gtid_binlog_pos')).trim(), sums: await checksums(client.query, db) });
      await sleep(1100);
      await workloadRound(client, db, 100 + round, 8);
      ends.push((await client.query('SELECT @@gtid_binlog_pos')).trim());
      await sleep(1100);
      await client.query('FLUSH BINARY LOGS');
    }
  } finally {
    await stopProcess(server.proc.pid, server.proc.exe);
  }
  const all = fs.readdirSync(server.binlogDir).filter((n) => /^mysql-bin\.\d+$/.test(n)).sort();
  // The first file holds only the server's start-up; the last one the shutdown: keep the rounds' files.
  const names = all.slice(1, 1 + rounds);
  const dir = tempDir('blarc-series-binlogs-');
  for (const n of names) fs.copyFileSync(path.join(server.binlogDir, n), path.join(dir, n));
  // The server's next file stands for the active binlog, so discovery sees every round's file as closed.
  const next = all[1 + rounds];
  if (next !== undefined) fs.writeFileSync(path.join(dir, next), '');
  return { dir, names, moments, ends, db };
}
