/**
 * The MySQL target of a replication-mode apply (ReplicaControl, replica-control.ts), MySQL 8.0.26 and later (the
 * REPLICA/SOURCE statements and variable names): a replication channel of its own, position-based
 * (SOURCE_AUTO_POSITION = 0, so the replica asks for exactly the planned file and position), applied by
 * `replica_parallel_workers` workers with the server's own dependency tracking and commit order, UNTIL the planned
 * stop; then gtid_executed must be what it was plus exactly the replayed transactions (fail closed).
 *
 * Built from MySQL's documented statements, variables and replica protocol; not run against a MySQL server here
 * (none runs in the test environment): docs/PERFORMANCE.md §8.4 says what is tested and what is not.
 */
import type { Connection } from 'mysql2/promise';
import { ArchiverError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { type GtidSet, MysqlGtidSet } from '../binlog/index.ts';
import { checkExecuted } from './executed-check.ts';
import { type BinlogTraits, type ReplicaControl, type ReplicaState, type ReplicaStatus, type StartSpec, CONNECTION, bestEffort, refuse, setParallelism } from './replica-control.ts';
import { queryRow as one } from './target-connection.ts';

/** The first version with every statement and variable name used here (log_replica_updates, replica_parallel_workers). */
const MIN_VERSION = [8, 0, 26] as const;
const FOR_CHANNEL = `FOR CHANNEL '${CONNECTION}'`;

/** ER_REPLICA_CHANNEL_DOES_NOT_EXIST (3074; ER_SLAVE_CHANNEL_DOES_NOT_EXIST before 8.0.26). */
const NO_CHANNEL = 3074;

export function versionAtLeast(version: string, min: readonly number[]): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (m === null) return false;
  const have = [Number(m[1]), Number(m[2]), Number(m[3])];
  for (let i = 0; i < min.length; i++) if (have[i]! !== min[i]!) return have[i]! > min[i]!;
  return true;
}

export function replicaStatusOf(st: Record<string, unknown>): ReplicaStatus {
  return {
    file: String(st.Relay_Source_Log_File), position: Number(st.Exec_Source_Log_Pos), sqlRunning: st.Replica_SQL_Running !== 'No', ioRunning: String(st.Replica_IO_Running),
    sqlErrno: Number(st.Last_SQL_Errno ?? 0), sqlError: String(st.Last_SQL_Error), ioErrno: Number(st.Last_IO_Errno ?? 0), ioError: String(st.Last_IO_Error),
  };
}

async function replicaStatus(conn: Connection): Promise<ReplicaStatus | undefined> {
  try {
    const st = await one(conn, `SHOW REPLICA STATUS ${FOR_CHANNEL}`);
    return st === undefined ? undefined : replicaStatusOf(st);
  } catch (err) {
    if ((err as { errno?: number }).errno === NO_CHANNEL) return undefined;
    throw err;
  }
}

/** Whether a target in this gtid_mode applies these binlogs' transactions as they are (GTID ones keep their GTID). */
export function gtidModeFits(mode: string, binlogs: Pick<BinlogTraits, 'gtids' | 'anonymous'>): boolean {
  // ON refuses anonymous transactions, OFF refuses GTID ones; the permissive modes accept both.
  if (binlogs.gtids && binlogs.anonymous) return mode === 'ON_PERMISSIVE' || mode === 'OFF_PERMISSIVE';
  if (binlogs.gtids) return mode === 'ON' || mode === 'ON_PERMISSIVE';
  return mode === 'OFF' || mode === 'OFF_PERMISSIVE';
}

/** Everything that would make the replica apply something else than what is sent is refused before anything starts. */
async function preflight(conn: Connection, binlogs: BinlogTraits): Promise<ReplicaState> {
  const v = (await one(conn, 'SELECT VERSION() AS version'))!;
  const version = String(v.version);
  if (/mariadb/i.test(version)) throw refuse(`--apply-mode replication of MySQL binlogs needs a MySQL target; ${version} is MariaDB`, 'apply to a MySQL server');
  if (!versionAtLeast(version, MIN_VERSION)) throw refuse(`--apply-mode replication needs MySQL ${MIN_VERSION.join('.')} or later; the target runs ${version}`, 'upgrade the target');
  const s = (await one(conn, `SELECT @@GLOBAL.server_id AS serverId, @@GLOBAL.log_bin AS logBin, @@GLOBAL.log_replica_updates AS lru, @@GLOBAL.gtid_mode AS gtidMode,
    @@GLOBAL.replica_parallel_workers AS workers, @@GLOBAL.gtid_executed AS executed,
    (SELECT COUNT(*) FROM performance_schema.replication_applier_global_filters) AS filters`))!;
  if (binlogs.serverIds.has(Number(s.serverId))) {
    throw refuse(`the target's server_id ${String(s.serverId)} is the server id of the archived binlogs: its replica would skip them as its own events`, 'give the target another server_id (SET GLOBAL server_id = N)');
  }
  const logBin = Number(s.logBin) === 1;
  if (logBin && Number(s.lru) !== 1) {
    throw refuse('the target writes a binlog but log_replica_updates is OFF: replicated transactions would be missing from its binlog', 'enable log_replica_updates on the target');
  }
  const mode = String(s.gtidMode);
  if (!gtidModeFits(mode, binlogs)) {
    const held = binlogs.gtids && binlogs.anonymous ? 'both GTID and anonymous' : binlogs.gtids ? 'GTID' : 'anonymous';
    throw refuse(`the target's gtid_mode is ${mode}, which does not apply the ${held} transactions the archived binlogs hold`,
      `set gtid_mode to ${binlogs.gtids && binlogs.anonymous ? 'ON_PERMISSIVE' : binlogs.gtids ? 'ON' : 'OFF'} on the target`);
  }
  if (Number(s.filters) !== 0) throw refuse('the target has global replication filters (replicate_*): its replica would skip part of the restore', 'remove the filters');
  const leftover = await replicaStatus(conn);
  if (leftover !== undefined) {
    throw new ArchiverError('ECONFLICT', `replication channel ${CONNECTION} already exists on the target (IO ${leftover.ioRunning}, SQL ${leftover.sqlRunning ? 'Yes' : 'No'}): another restore runs, or a killed one left it`, {
      hint: `if no restore runs: the server holds part of that restore; restore its base backup again, run STOP REPLICA ${FOR_CHANNEL}; RESET REPLICA ALL ${FOR_CHANNEL}, and retry`,
    });
  }
  return { logBin, parallelThreads: Number(s.workers), before: { gtid_executed: String(s.executed).replace(/\s+/g, '') } };
}

/** The channel's statements, in order (pure: tested without a server). */
export function startStatements(spec: StartSpec): [string, unknown[]][] {
  return [
    [`CHANGE REPLICATION SOURCE TO SOURCE_HOST = ?, SOURCE_PORT = ?, SOURCE_USER = ?, SOURCE_PASSWORD = ?, SOURCE_LOG_FILE = ?, SOURCE_LOG_POS = ?,
      SOURCE_AUTO_POSITION = 0, SOURCE_SSL = 0, SOURCE_CONNECT_RETRY = 1, SOURCE_HEARTBEAT_PERIOD = 5 ${FOR_CHANNEL}`,
    [spec.host, spec.port, spec.user, spec.password, spec.file, spec.position]],
    [`START REPLICA UNTIL SOURCE_LOG_FILE = ?, SOURCE_LOG_POS = ? ${FOR_CHANNEL}`, [spec.untilFile, spec.untilPosition]],
  ];
}

async function startReplica(conn: Connection, state: ReplicaState, spec: StartSpec, logger: Logger): Promise<void> {
  // Read by a channel when it starts: the other channels keep theirs until they restart.
  await setParallelism(conn, 'replica_parallel_workers', state, spec.parallelThreads, logger);
  for (const [sql, values] of startStatements(spec)) await conn.query(sql, values);
}

async function checkApplied(conn: Connection, state: ReplicaState, replayed: GtidSet, server: string): Promise<string> {
  const v = (await one(conn, 'SELECT @@GLOBAL.gtid_executed AS executed'))!;
  const after = String(v.executed).replace(/\s+/g, '');
  checkExecuted({ server, variable: 'gtid_executed', before: MysqlGtidSet.parse(state.before.gtid_executed ?? ''), after: MysqlGtidSet.parse(after), replayed });
  return after;
}

export const mysqlReplica: ReplicaControl = {
  flavor: 'mysql',
  preflight,
  start: startReplica,
  status: replicaStatus,
  stop: async (conn) => { await conn.query(`STOP REPLICA ${FOR_CHANNEL}`); },
  executed: async (conn) => {
    const v = (await one(conn, 'SELECT @@GLOBAL.gtid_executed AS executed'))!;
    return { variable: 'gtid_executed', value: String(v.executed).replace(/\s+/g, '') };
  },
  checkApplied,
  remove: (conn, state, logger) => bestEffort(conn, [
    ['stop', `STOP REPLICA ${FOR_CHANNEL}`, []],
    ['reset', `RESET REPLICA ALL ${FOR_CHANNEL}`, []],
    ['replica_parallel_workers', 'SET GLOBAL replica_parallel_workers = ?', [state.parallelThreads]],
  ], logger),
};
