/**
 * A private MariaDB source with thousands of small transactions over four binlogs, in a GTID domain of its own,
 * archived to a file:// store and then stopped: what the kill tests of the two apply modes restore from
 * (test/restore/apply-kill.test.ts, apply-session-kill.test.ts). A target's own setup transactions (its restore
 * account) are in domain 0, so `ours` picks the workload's part of a target's GTID position.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { openStore } from '../../src/store/open-store.ts';
import { stopProcess } from '../../testenv/proc.ts';
import { type Launched, type MariadbTools, launchMariadb } from '../../testenv/servers/mariadb.ts';
import { allocatePort } from '../../testenv/ports.ts';
import { ensureTools } from '../../testenv/tools.ts';
import { newKeyUrl } from './archive.ts';
import { WORKLOAD_SCHEMA, checksums, workloadRound } from './workload.ts';

export interface WorkloadSource { db: string; base: string; gtid: string; sums: string; storeUrl: string; key: string; name: string; work: string }

/** The workload domain's part of a GTID position, its sequence number, and a server's executed part. */
export function domainOf(domain: number): { ours: (gtid: string) => string; seqOf: (gtid: string) => number; executed: (t: { server: Launched }) => Promise<string> } {
  const ours = (gtid: string): string => gtid.split(',').find((g) => g.startsWith(`${domain}-`)) ?? '';
  return {
    ours,
    seqOf: (gtid) => Number(ours(gtid).split('-')[2] ?? 0),
    executed: async (t) => ours((await t.server.sql('SELECT @@gtid_binlog_pos')).trim()),
  };
}

export interface WorkloadSourceOptions {
  name: string;
  serverId: number;
  domain: number;
  /** Makes the directories (the caller removes them when it ends). */
  temp: (prefix: string) => string;
  /** Started servers go here, for the caller to stop. */
  servers: Launched[];
  /** One transaction before the base position, so `--from-gtid` is not empty. */
  transactionBeforeBase?: boolean;
}

export async function archivedWorkloadSource(o: WorkloadSourceOptions): Promise<WorkloadSource> {
  const tools = (await ensureTools(new Set(['mysql']))) as MariadbTools;
  const source = await launchMariadb({ name: o.name, dir: o.temp(`blarc-${o.name}-`), tools, port: await allocatePort('source'), binlog: true, serverId: o.serverId });
  o.servers.push(source);
  const db = `${o.name.replace(/\W/g, '_')}_${randomBytes(3).toString('hex')}`;
  const before = o.transactionBeforeBase === true ? `CREATE DATABASE ${db}_base; ` : '';
  await source.sql(`${before}SET GLOBAL sync_binlog = 0, innodb_flush_log_at_trx_commit = 0, gtid_domain_id = ${o.domain}; FLUSH BINARY LOGS`);
  const base = (await source.sql('SELECT @@gtid_binlog_pos')).trim();
  await source.sql(WORKLOAD_SCHEMA(db));
  const client = { query: (sql: string): Promise<string> => source.sql(sql) };
  // Thousands of small transactions over four binlogs: with durable settings on the target, applying takes seconds.
  for (let round = 0; round < 30; round++) {
    await workloadRound(client, db, round, 150);
    if (round % 10 === 9) await source.sql('FLUSH BINARY LOGS');
  }
  const gtid = domainOf(o.domain).ours((await source.sql('SELECT @@gtid_binlog_pos')).trim());
  const sums = await checksums((sql) => source.sql(sql), db);
  await source.sql('FLUSH BINARY LOGS');
  const work = o.temp(`blarc-${o.name}-work-`);
  const key = newKeyUrl(work);
  const storeUrl = `file://${path.join(work, 'store')}`;
  await runArchive({ binlogDir: source.binlogDir, store: openStore(storeUrl), keyUrl: key, source: o.name });
  await stopProcess(source.proc.pid, source.proc.exe);
  return { db, base, gtid, sums, storeUrl, key, name: o.name, work };
}
