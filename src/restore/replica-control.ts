/**
 * The target server's side of a replication-mode apply, whatever its flavour: what a flavour must provide
 * (ReplicaControl: its refusals, how to point a named replica channel at this run's source and start it UNTIL the
 * stop, its status in one shape, the executed-GTID check, the removal), and what is the same for both: waiting
 * for the SQL thread to reach the stop exactly, stopping there, and stopping on an interruption.
 */
import type { Connection } from 'mysql2/promise';
import { setTimeout as sleep } from 'node:timers/promises';
import { ArchiverError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { GtidSet } from '../binlog/index.ts';

/** The replica connection's (MariaDB) or channel's (MySQL) name on the target: removed at the end. */
export const CONNECTION = 'binlog_archiver_restore';

/** The context of a replication apply that failed before the target applied anything: `auto` may fall back. */
export const NOTHING_APPLIED = { nothingApplied: true } as const;

export function nothingApplied(err: unknown): boolean {
  return err instanceof ArchiverError && err.context.nothingApplied === true;
}

/** A refusal of the target, before any change to it. */
export function refuse(message: string, hint: string): ArchiverError {
  return new ArchiverError('EUSAGE', message, { hint: `${hint}; or apply in one session with --apply-mode session`, context: NOTHING_APPLIED });
}

/** The replica's state, in one shape for both flavours (SHOW SLAVE/REPLICA STATUS). */
export interface ReplicaStatus {
  /** The source binlog and position the SQL thread executed up to. */
  file: string;
  position: number;
  sqlRunning: boolean;
  ioRunning: string;
  sqlErrno: number;
  sqlError: string;
  ioErrno: number;
  ioError: string;
}

/** What the target held before the apply, and the settings to put back. */
export interface ReplicaState {
  logBin: boolean;
  parallelThreads: number;
  /** Executed-GTID variables before the apply (name → value), checked against after it. */
  before: Record<string, string>;
}

/** What the archived binlogs are, for the refusals. */
export interface BinlogTraits {
  serverIds: ReadonlySet<number>;
  /** Some transactions carry GTIDs (MySQL: Gtid events). */
  gtids: boolean;
  /** Some are anonymous (MySQL: Anonymous_gtid events, written with gtid_mode OFF). */
  anonymous: boolean;
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

export interface ReplicaControl {
  readonly flavor: 'mariadb' | 'mysql';
  /** Refuses (EUSAGE, NOTHING_APPLIED) a target whose replica would apply something else than what is sent. */
  preflight(conn: Connection, binlogs: BinlogTraits): Promise<ReplicaState>;
  /** Points the channel at the source and starts it until the planned stop, applying in parallel. */
  start(conn: Connection, state: ReplicaState, spec: StartSpec, logger: Logger): Promise<void>;
  /** undefined: the channel does not exist. */
  status(conn: Connection): Promise<ReplicaStatus | undefined>;
  stop(conn: Connection): Promise<void>;
  /** The executed-GTID variable that tells what the target holds now, for messages. */
  executed(conn: Connection, state: ReplicaState): Promise<{ variable: string; value: string }>;
  /** Fails closed unless the executed GTIDs are those before plus exactly `replayed`; returns the position. */
  checkApplied(conn: Connection, state: ReplicaState, replayed: GtidSet, server: string): Promise<string>;
  /** Stops and removes the channel and puts back the settings changed (best effort, each logged). */
  remove(conn: Connection, state: ReplicaState, logger: Logger): Promise<void>;
}

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

const RESTORE_AGAIN = 'the server holds the transactions before that point: restore its base backup again before retrying';

/** Waits for the SQL thread to have executed exactly up to file:position; any replica error or a failed stream fails it. */
export async function waitApplied(conn: Connection, control: ReplicaControl, served: ServedStream, until: { file: string; position: number }, logger: Logger,
  connectTimeoutMs = REPLICA_CONNECT_TIMEOUT_MS): Promise<void> {
  let streamError: Error | null = null;
  served.streamed.catch((err: unknown) => { streamError = err instanceof Error ? err : new Error(String(err)); });
  const connectDeadline = Date.now() + connectTimeoutMs;
  let lastLog = Date.now();
  for (;;) {
    if (streamError !== null) throw streamError as Error;
    const st = await control.status(conn);
    if (st === undefined) throw new ArchiverError('EAPPLY', `the replica connection ${CONNECTION} disappeared from the target while applying`);
    if (st.sqlErrno !== 0) throw new ArchiverError('EAPPLY', `the target's replica failed applying at ${st.file}:${st.position}: ${st.sqlError}`, { hint: RESTORE_AGAIN });
    if (st.ioErrno !== 0) {
      if (!served.started()) throw unreachable(served, st.ioError);
      throw new ArchiverError('EAPPLY', `the target's replica could not read from binlog-archiver: ${st.ioError}`, { hint: 'the target must reach --apply-listen; the server holds the transactions applied so far' });
    }
    if (!served.started() && Date.now() > connectDeadline) throw unreachable(served, `no binlog request within ${connectTimeoutMs / 1000} s (replica IO thread: ${st.ioRunning})`);
    // Nothing past the stop is ever sent, so the SQL thread idles there: the replica's UNTIL check runs only when a
    // next event arrives, and the position reached is what counts.
    if (st.file === until.file && st.position === until.position) return;
    if (!st.sqlRunning) throw new ArchiverError('EAPPLY', `the target's replica stopped at ${st.file}:${st.position}, not at the planned ${until.file}:${until.position}`, { hint: RESTORE_AGAIN });
    if (Date.now() - lastLog > 10_000) {
      lastLog = Date.now();
      logger.log('info', 'Applying through replication', { at: `${st.file}:${st.position}`, until: `${until.file}:${until.position}` });
    }
    await sleep(100);
  }
}

/** Stops the channel and checks it is still exactly at the stop position. */
export async function stopAt(conn: Connection, control: ReplicaControl, until: { file: string; position: number }): Promise<void> {
  await control.stop(conn);
  const st = await control.status(conn);
  const at = `${st?.file}:${st?.position}`;
  if (at !== `${until.file}:${until.position}`) throw new ArchiverError('EAPPLY', `the target's replica moved to ${at} past the planned ${until.file}:${until.position}`);
}

/**
 * `err` unchanged unless it is an interruption (SIGTERM, SIGINT) while the target applies; then its replica is
 * stopped at once (the SQL thread stops between transactions, and with in-order parallel commit what it executed
 * is a prefix of what was sent), and the error tells where the target stands, before the caller removes the channel.
 */
export async function stopInterrupted(conn: Connection, control: ReplicaControl, state: ReplicaState, err: unknown): Promise<unknown> {
  if (!(err instanceof ArchiverError) || err.code !== 'EINTERRUPTED') return err;
  let where: string;
  try {
    await control.stop(conn);
    const { variable, value } = await control.executed(conn, state);
    where = `its replica was stopped; it executed up to GTID position ${value === '' ? '(empty)' : value} (${variable}), a prefix of the planned restore`;
  } catch (stopErr) {
    where = `stopping its replica failed (${(stopErr as Error).message}); the server may still be applying what it received`;
  }
  return new ArchiverError('EINTERRUPTED', `${err.message} while the target applied it: ${where}; the replica connection ${CONNECTION} is removed`, {
    cause: err,
    hint: 'the server holds part of the restore: restore its base backup again (or use a fresh server) and run the same restore again',
  });
}

/**
 * Sets the target's parallel applier width for this run when it differs; a failure (e.g. MariaDB while another
 * replica connection runs) is logged and the server's own setting applies.
 */
export async function setParallelism(conn: Connection, variable: string, state: ReplicaState, wanted: number, logger: Logger): Promise<void> {
  if (wanted === state.parallelThreads) return;
  try {
    await conn.query(`SET GLOBAL ${variable} = ?`, [wanted]);
  } catch (err) {
    logger.log('warn', `Could not set ${variable}; applying with the server's setting`, { error: (err as Error).message, [variable]: state.parallelThreads });
  }
}

/** Runs clean-up statements in order, each failure logged and passed over. */
export async function bestEffort(conn: Connection, steps: [string, string, unknown[]][], logger: Logger): Promise<void> {
  for (const [what, sql, values] of steps) {
    try {
      await conn.query(sql, values);
    } catch (err) {
      logger.log('warn', 'Could not restore the target\'s replica setting', { step: what, error: (err as Error).message });
    }
  }
}
