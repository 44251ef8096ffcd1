/**
 * The MariaDB target of a replication-mode apply (ReplicaControl, replica-control.ts): checks that its replica
 * would apply exactly what is sent (no filters, a server id other than the binlogs', binlogging of replicated
 * transactions where it binlogs at all, no leftover connection of ours), points a named replica connection at
 * this run's source with parallel optimistic apply, starts it UNTIL the planned stop position, checks the
 * executed GTID position against what was sent (fail closed), and removes the configuration again.
 */
import type { Connection } from 'mysql2/promise';
import { ArchiverError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { type GtidSet, MariadbGtidList } from '../binlog/index.ts';
import { checkExecuted } from './executed-check.ts';
import { type BinlogTraits, type ReplicaControl, type ReplicaState, type ReplicaStatus, type StartSpec, CONNECTION, bestEffort, refuse, setParallelism } from './replica-control.ts';
import { queryRow as one } from './target-connection.ts';

async function slaveStatus(conn: Connection): Promise<ReplicaStatus | undefined> {
  let st: Record<string, unknown> | undefined;
  try {
    st = await one(conn, `SHOW SLAVE '${CONNECTION}' STATUS`);
  } catch (err) {
    if ((err as { errno?: number }).errno === 1617) return undefined; // ER_SLAVE_CONNECTION_NOT_FOUND (unknown name)
    throw err;
  }
  if (st === undefined) return undefined;
  return {
    file: String(st.Relay_Master_Log_File), position: Number(st.Exec_Master_Log_Pos), sqlRunning: st.Slave_SQL_Running !== 'No', ioRunning: String(st.Slave_IO_Running),
    sqlErrno: Number(st.Last_SQL_Errno ?? 0), sqlError: String(st.Last_SQL_Error), ioErrno: Number(st.Last_IO_Errno ?? 0), ioError: String(st.Last_IO_Error),
  };
}

/** Everything that would make the replica apply something else than what is sent is refused before anything starts. */
async function preflight(conn: Connection, binlogs: BinlogTraits): Promise<ReplicaState> {
  const v = (await one(conn, `SELECT VERSION() AS version, @@server_id AS serverId, @@log_bin AS logBin, @@log_slave_updates AS lsu,
    @@slave_parallel_threads AS threads, @@gtid_slave_pos AS slavePos, @@gtid_binlog_pos AS binlogPos, CONCAT_WS('', @@replicate_do_db, @@replicate_ignore_db,
    @@replicate_do_table, @@replicate_ignore_table, @@replicate_wild_do_table, @@replicate_wild_ignore_table) AS filters`))!;
  const version = String(v.version);
  if (!/mariadb/i.test(version)) throw refuse(`--apply-mode replication of MariaDB binlogs needs a MariaDB target; ${version} is not one`, 'apply to a MariaDB server');
  if (binlogs.serverIds.has(Number(v.serverId))) {
    throw refuse(`the target's server_id ${String(v.serverId)} is the server id of the archived binlogs: its replica would skip them as its own events`, 'give the target another server_id (SET GLOBAL server_id = N)');
  }
  const logBin = Number(v.logBin) === 1;
  if (logBin && Number(v.lsu) !== 1) {
    throw refuse('the target writes a binlog but log_slave_updates is OFF: replicated transactions would be missing from its binlog and GTID position', 'enable log_slave_updates on the target');
  }
  if (String(v.filters) !== '') throw refuse('the target has replication filters (replicate_*): its replica would skip part of the restore', 'remove the filters');
  const leftover = await slaveStatus(conn);
  if (leftover !== undefined) {
    throw new ArchiverError('ECONFLICT', `${CONNECTION} already exists on the target (IO ${leftover.ioRunning}, SQL ${leftover.sqlRunning ? 'Yes' : 'No'}): another restore runs, or a killed one left it`, {
      hint: `if no restore runs: the server holds part of that restore; restore its base backup again, run STOP SLAVE '${CONNECTION}'; RESET SLAVE '${CONNECTION}' ALL, and retry`,
    });
  }
  return { logBin, parallelThreads: Number(v.threads), before: { gtid_slave_pos: String(v.slavePos), gtid_binlog_pos: String(v.binlogPos) } };
}

/** Points the named connection at the source and starts it until the planned stop, applying in parallel. */
async function startReplica(conn: Connection, state: ReplicaState, spec: StartSpec, logger: Logger): Promise<void> {
  // Only possible while every replica connection is stopped: others running keep the current setting.
  await setParallelism(conn, 'slave_parallel_threads', state, spec.parallelThreads, logger);
  await conn.query(`CHANGE MASTER '${CONNECTION}' TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_LOG_FILE = ?, MASTER_LOG_POS = ?,
    MASTER_USE_GTID = no, MASTER_SSL = 0, MASTER_CONNECT_RETRY = 1, MASTER_HEARTBEAT_PERIOD = 5`,
  [spec.host, spec.port, spec.user, spec.password, spec.file, spec.position]);
  await conn.query(`SET GLOBAL ${CONNECTION}.slave_parallel_mode = 'optimistic'`);
  await conn.query(`START SLAVE '${CONNECTION}' UNTIL MASTER_LOG_FILE = ?, MASTER_LOG_POS = ?`, [spec.untilFile, spec.untilPosition]);
}

/** The executed GTID position (and the binlog's, when it writes one) must be the state before plus exactly the replayed transactions. */
async function checkApplied(conn: Connection, state: ReplicaState, replayed: GtidSet, server: string): Promise<string> {
  const v = (await one(conn, 'SELECT @@gtid_slave_pos AS slavePos, @@gtid_binlog_pos AS binlogPos'))!;
  const before = (name: string): MariadbGtidList => MariadbGtidList.parse(state.before[name] ?? '');
  checkExecuted({ server, variable: 'gtid_slave_pos', before: before('gtid_slave_pos'), after: MariadbGtidList.parse(String(v.slavePos)), replayed });
  if (state.logBin) checkExecuted({ server, variable: 'gtid_binlog_pos', before: before('gtid_binlog_pos'), after: MariadbGtidList.parse(String(v.binlogPos)), replayed });
  return String(state.logBin ? v.binlogPos : v.slavePos);
}

export const mariadbReplica: ReplicaControl = {
  flavor: 'mariadb',
  preflight,
  start: startReplica,
  status: slaveStatus,
  stop: async (conn) => { await conn.query(`STOP SLAVE '${CONNECTION}'`); },
  executed: async (conn, state) => {
    const v = (await one(conn, 'SELECT @@gtid_binlog_pos AS binlogPos, @@gtid_slave_pos AS slavePos'))!;
    return state.logBin ? { variable: 'gtid_binlog_pos', value: String(v.binlogPos) } : { variable: 'gtid_slave_pos', value: String(v.slavePos) };
  },
  checkApplied,
  remove: (conn, state, logger) => bestEffort(conn, [
    ['stop', `STOP SLAVE '${CONNECTION}'`, []],
    ['reset', `RESET SLAVE '${CONNECTION}' ALL`, []],
    ['gtid_slave_pos', 'SET GLOBAL gtid_slave_pos = ?', [state.before.gtid_slave_pos ?? '']],
    ['slave_parallel_threads', 'SET GLOBAL slave_parallel_threads = ?', [state.parallelThreads]],
  ], logger),
};
