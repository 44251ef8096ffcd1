/**
 * The shared MariaDB's binlogs archived around a moment: a workload over several binlogs, the source's tables and
 * GTID position at a moment inside the last replayed binlog, more transactions after it, all archived to a private
 * file:// store. The restore tests apply `--from-gtid base --until-gtid moment.gtid` and compare with the moment.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { openStore } from '../../src/store/open-store.ts';
import { newKeyUrl, tempDir } from './archive.ts';
import { type MysqlClient, mysqlClient } from './mysql.ts';
import { need } from './testenv.ts';
import { WORKLOAD_SCHEMA, checksums, workloadRound } from './workload.ts';

export interface ArchivedMoment {
  client: MysqlClient;
  db: string;
  work: string;
  moment: { gtid: string; sums: string };
  /** `restore --store … --key … --source … --from-gtid BASE --until-gtid MOMENT --json -q`. */
  restoreArgs: string[];
}

export async function archivedMoment(prefix: string): Promise<ArchivedMoment> {
  const mysql = need('mysql');
  const client = mysqlClient(mysql);
  const db = `${prefix}_${randomBytes(3).toString('hex')}`;
  await client.query('FLUSH BINARY LOGS');
  const base = (await client.query('SELECT @@gtid_binlog_pos')).trim();
  await client.query(WORKLOAD_SCHEMA(db));
  for (let round = 0; round < 3; round++) {
    await workloadRound(client, db, round);
    await client.query('FLUSH BINARY LOGS');
  }
  await workloadRound(client, db, 3);
  const moment = { gtid: (await client.query('SELECT @@gtid_binlog_pos')).trim(), sums: await checksums((sql) => client.query(sql), db) };
  await workloadRound(client, db, 4);
  await client.query('FLUSH BINARY LOGS');
  const work = tempDir();
  const key = newKeyUrl(work);
  const storeUrl = `file://${path.join(work, 'store')}`;
  const source = `${prefix}-${randomBytes(3).toString('hex')}`;
  await runArchive({ binlogDir: mysql.binlogDir, store: openStore(storeUrl), keyUrl: key, source });
  return { client, db, work, moment, restoreArgs: ['restore', '--store', storeUrl, '--key', key, '--source', source, '--from-gtid', base, '--until-gtid', moment.gtid, '--json', '-q'] };
}
