/**
 * The target server's side of a replication-mode apply (MariaDB): checks that its replica would apply exactly
 * what is sent (no filters, a server id other than the binlogs', binlogging of replicated transactions where it
 * binlogs at all, no leftover connection of ours), points a named replica connection at this run's source with
 * parallel optimistic apply, starts it UNTIL the planned stop position, waits for the SQL thread to stop there,
 * checks the executed GTID position against what was sent (fail closed), and removes the configuration again.
 */
import type { Connection } from 'mysql2/promise';
import { setTimeout as sleep } from 'node:timers/promises';
import { ArchiverError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { type GtidSet, MariadbGtidList } from '../binlog/index.ts';
import { checkExecuted } from './executed-check.ts';
import { queryRow as one } from './target-connection.ts';

/** The replica connection's name on the target: removed at the end; one left by a killed run is reported. */
export const CONNECTION = 'binlog_archiver_restore';

export interface TargetState {
  logBin: boolean;
  parallelThreads: number;
  gtidSlavePos: string;
  gtidBinlogPos: string;
}

export async function slaveStatus(conn: Connection): Promise<Record<string, unknown> | undefined> {
  try {
    return await one(conn, `SHOW SLAVE '${CONNECTION}' STATUS`);
  } catch (err) {
    if ((err as { errno?: number }).errno === 1617) return undefined; // ER_SLAVE_CONNECTION_NOT_FOUND (unknown name)
    throw err;
  }
}

/** The context of a replication apply that failed before the target applied anything: `auto` may fall back. */
export const NOTHING_APPLIED = { nothingApplied: true } as const;

export function nothingApplied(err: unknown): boolean {
  return err instanceof ArchiverError && err.context.nothingApplied === true;
}

function refuse(message: string, hint: string): ArchiverError {
  return new ArchiverError('EUSAGE', message, { hint: `${hint}; or apply in one session with --apply-mode session`, context: NOTHING_APPLIED });
}

/** Everything that would make the replica apply something else than what is sent is refused before anything starts. */
export async function preflight(conn: Connection, binlogServerIds: ReadonlySet<number>): Promise<TargetState> {
  const v = (await one(conn, `SELECT VERSION() AS version, @@server_id AS serverId, @@log_bin AS logBin, @@log_slave_updates AS lsu,
    @@slave_parallel_threads AS threads, @@gtid_slave_pos AS slavePos, @@gtid_binlog_pos AS binlogPos, CONCAT_WS('', @@replicate_do_db, @@replicate_ignore_db,
    @@replicate_do_table, @@replicate_ignore_table, @@replicate_wild_do_table, @@replicate_wild_ignore_table) AS filters`))!;
  const version = String(v.version);
  if (!/mariadb/i.test(version)) throw refuse(`--apply-mode replication needs a MariaDB target; ${version} is not one`, 'apply to a MariaDB server');
  if (binlogServerIds.has(Number(v.serverId))) {
    throw refuse(`the target's server_id ${String(v.serverId)} is the server id of the archived binlogs: its replica would skip them as its own events`, 'give the target another server_id (SET GLOBAL server_id = N)');
  }
  const logBin = Number(v.logBin) === 1;
  if (logBin && Number(v.lsu) !== 1) {
    throw refuse('the target writes a binlog but log_slave_updates is OFF: replicated transactions would be missing from its binlog and GTID position', 'enable log_slave_updates on the target');
  }
  if (String(v.filters) !== '') throw refuse('the target has replication filters (replicate_*): its replica would skip part of the restore', 'remove the filters');
  const leftover = await slaveStatus(conn);
  if (leftover !== undefined) {
    throw new ArchiverError('ECONFLICT', `${CONNECTION} already exists on the target (IO ${String(leftover.Slave_IO_Running)}, SQL ${String(leftover.Slave_SQL_Running)}): another restore runs, or a killed one left it`, {
      hint: `if no restore runs: the server holds part of that restore; restore its base backup again, run STOP SLAVE '${CONNECTION}'; RESET SLAVE '${CONNECTION}' ALL, and retry`,
    });
  }
  return { logBin, parallelThreads: Number(v.threads), gtidSlavePos: String(v.slavePos), gtidBinlogPos: String(v.binlogPos) };
}

export interface StartSpec {
  host: string;
  port: number;
  user: string;
  password: string;
  file: string;
  position: number;
  untilFile: string;
  untilPosition: number;
  parallelThreads: number;
}

/** Points the named connection at the source and starts it until the planned stop, applying in parallel. */
export async function startReplica(conn: Connection, state: TargetState, spec: StartSpec, logger: Logger): Promise<void> {
  if (spec.parallelThreads !== state.parallelThreads) {
    try {
      await conn.query('SET GLOBAL slave_parallel_threads = ?', [spec.parallelThreads]);
    } catch (err) {
      // Only possible while every replica connection is stopped: others running keep the current setting.
      logger.log('warn', 'Could not set slave_parallel_threads; applying with the server\'s setting', { error: (err as Error).message, threads: state.parallelThreads });
    }
  }
  await conn.query(`CHANGE MASTER '${CONNECTION}' TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_LOG_FILE = ?, MASTER_LOG_POS = ?,
    MASTER_USE_GTID = no, MASTER_SSL = 0, MASTER_CONNECT_RETRY = 1, MASTER_HEARTBEAT_PERIOD = 5`,
  [spec.host, spec.port, spec.user, spec.password, spec.file, spec.position]);
  await conn.query(`SET GLOBAL ${CONNECTION}.slave_parallel_mode = 'optimistic'`);
  await conn.query(`START SLAVE '${CONNECTION}' UNTIL MASTER_LOG_FILE = ?, MASTER_LOG_POS = ?`, [spec.untilFile, spec.untilPosition]);
}

const errno = (v: unknown): number => Number(v ?? 0);

/** How long the target's replica may take to connect and ask for the binlogs before the apply gives up. */
export const REPLICA_CONNECT_TIMEOUT_MS = 30_000;

/** The stream this process serves: whether the replica has asked for it yet, and how it ends. */
export interface ServedStream {
  streamed: Promise<void>;
  started: () => boolean;
  /** host:port the replica was told to connect to (for the message when it cannot). */
  listen: string;
}

/** The replica never reached us (or never asked for the binlogs): nothing was sent, so nothing was applied. */
function unreachable(served: ServedStream, why: string): ArchiverError {
  return new ArchiverError('EAPPLY', `the target's replica did not reach binlog-archiver at ${served.listen}: ${why}`, {
    hint: 'the target must reach --apply-listen (in Kubernetes: the restore Job Pod\'s IP; check NetworkPolicies); nothing was applied',
    context: NOTHING_APPLIED,
  });
}

/** Waits for the SQL thread to have executed exactly up to file:position; any replica error or a failed stream fails it. */
export async function waitApplied(conn: Connection, served: ServedStream, until: { file: string; position: number }, logger: Logger, connectTimeoutMs = REPLICA_CONNECT_TIMEOUT_MS): Promise<void> {
  let streamError: Error | null = null;
  served.streamed.catch((err: unknown) => { streamError = err instanceof Error ? err : new Error(String(err)); });
  const connectDeadline = Date.now() + connectTimeoutMs;
  let lastLog = Date.now();
  for (;;) {
    if (streamError !== null) throw streamError as Error;
    const st = await slaveStatus(conn);
    if (st === undefined) throw new ArchiverError('EAPPLY', `the replica connection ${CONNECTION} disappeared from the target while applying`);
    if (errno(st.Last_SQL_Errno) !== 0) throw new ArchiverError('EAPPLY', `the target's replica failed applying at ${String(st.Relay_Master_Log_File)}:${String(st.Exec_Master_Log_Pos)}: ${String(st.Last_SQL_Error)}`, { hint: 'the server holds the transactions before that point: restore its base backup again before retrying' });
    if (errno(st.Last_IO_Errno) !== 0) {
      if (!served.started()) throw unreachable(served, String(st.Last_IO_Error));
      throw new ArchiverError('EAPPLY', `the target's replica could not read from binlog-archiver: ${String(st.Last_IO_Error)}`, { hint: 'the target must reach --apply-listen; the server holds the transactions applied so far' });
    }
    if (!served.started() && Date.now() > connectDeadline) throw unreachable(served, `no binlog request within ${connectTimeoutMs / 1000} s (replica IO thread: ${String(st.Slave_IO_Running)})`);
    const file = String(st.Relay_Master_Log_File);
    const pos = Number(st.Exec_Master_Log_Pos);
    // Nothing past the stop is ever sent, so the SQL thread idles there: the replica's UNTIL check runs only when a
    // next event arrives, and the position reached is what counts.
    if (file === until.file && pos === until.position) return;
    if (st.Slave_SQL_Running === 'No') {
      throw new ArchiverError('EAPPLY', `the target's replica stopped at ${file}:${pos}, not at the planned ${until.file}:${until.position}`, { hint: 'the server holds the transactions before that point: restore its base backup again before retrying' });
    }
    if (Date.now() - lastLog > 10_000) {
      lastLog = Date.now();
      logger.log('info', 'Applying through replication', { at: `${file}:${pos}`, until: `${until.file}:${until.position}` });
    }
    await sleep(100);
  }
}

/** Stops the connection and checks it is still exactly at the stop position. */
export async function stopAt(conn: Connection, until: { file: string; position: number }): Promise<void> {
  await conn.query(`STOP SLAVE '${CONNECTION}'`);
  const st = await slaveStatus(conn);
  const at = `${String(st?.Relay_Master_Log_File)}:${String(st?.Exec_Master_Log_Pos)}`;
  if (at !== `${until.file}:${until.position}`) throw new ArchiverError('EAPPLY', `the target's replica moved to ${at} past the planned ${until.file}:${until.position}`);
}

/** The executed GTID position (and the binlog's, when it writes one) must be the state before plus exactly the replayed transactions. */
export async function checkApplied(conn: Connection, state: TargetState, replayed: GtidSet, server: string): Promise<string> {
  const v = (await one(conn, 'SELECT @@gtid_slave_pos AS slavePos, @@gtid_binlog_pos AS binlogPos'))!;
  checkExecuted({ server, variable: 'gtid_slave_pos', before: MariadbGtidList.parse(state.gtidSlavePos), after: MariadbGtidList.parse(String(v.slavePos)), replayed });
  if (state.logBin) checkExecuted({ server, variable: 'gtid_binlog_pos', before: MariadbGtidList.parse(state.gtidBinlogPos), after: MariadbGtidList.parse(String(v.binlogPos)), replayed });
  return String(state.logBin ? v.binlogPos : v.slavePos);
}

/** Stops and removes the connection, and puts back the settings this run changed (best effort, each logged). */
export async function removeReplica(conn: Connection, state: TargetState, logger: Logger): Promise<void> {
  const steps: [string, string, unknown[]][] = [
    ['stop', `STOP SLAVE '${CONNECTION}'`, []],
    ['reset', `RESET SLAVE '${CONNECTION}' ALL`, []],
    ['gtid_slave_pos', 'SET GLOBAL gtid_slave_pos = ?', [state.gtidSlavePos]],
    ['slave_parallel_threads', 'SET GLOBAL slave_parallel_threads = ?', [state.parallelThreads]],
  ];
  for (const [what, sql, values] of steps) {
    try {
      await conn.query(sql, values);
    } catch (err) {
      logger.log('warn', 'Could not restore the target\'s replica setting', { step: what, error: (err as Error).message });
    }
  }
}
