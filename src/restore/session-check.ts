/**
 * The checks around a session apply (`replay | client`), so that it fails closed like the replication apply:
 * before, the server must be one that can show what it executed (and, for MySQL, must not hold any of the
 * transactions to replay, which it would skip silently); after, its executed GTIDs must be the state before
 * plus exactly the replayed transactions (executed-check.ts). A server that cannot show it is refused before
 * anything is applied, unless the caller accepts an unverified apply.
 */
import type { Connection } from 'mysql2/promise';
import { type GtidFlavor, type GtidSet, parseGtidSet } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';
import type { ApplyTarget } from './apply.ts';
import type { Applied } from './boundaries.ts';
import { checkExecuted, checkNotYetExecuted } from './executed-check.ts';
import { openTarget, queryRow } from './target-connection.ts';

/** What the server showed before the apply: the variable to compare, or why no comparison is possible. */
export type SessionBaseline = { variable: string; before: GtidSet } | { unverifiable: string };

const server = (t: ApplyTarget): string => `${t.host}:${t.port}`;

async function withTarget<T>(target: ApplyTarget, use: (conn: Connection) => Promise<T>): Promise<T> {
  const conn = await openTarget(target);
  try {
    return await use(conn);
  } finally {
    await conn.end().catch(() => undefined);
  }
}

/** The server's executed-GTID variable for binlogs of `flavor`, or why it keeps none. */
async function executedVariable(conn: Connection, flavor: GtidFlavor, target: ApplyTarget): Promise<{ variable: string; value: string } | { unverifiable: string }> {
  const version = String((await queryRow(conn, 'SELECT VERSION() AS v'))?.v as string | undefined ?? '');
  const isMariadb = /mariadb/i.test(version);
  if (isMariadb !== (flavor === 'mariadb')) {
    throw new ArchiverError('EAPPLY', `${server(target)} runs ${version}, which cannot apply ${flavor === 'mariadb' ? 'MariaDB' : 'MySQL'} binlogs`, { hint: 'apply to a server of the same kind as the archived source' });
  }
  if (isMariadb) {
    const v = (await queryRow(conn, 'SELECT @@log_bin AS logBin, @@gtid_binlog_pos AS pos'))!;
    if (Number(v.logBin) !== 1) return { unverifiable: `log_bin is OFF on ${server(target)}, so it keeps no record of the GTIDs it executes in a session` };
    return { variable: 'gtid_binlog_pos', value: String(v.pos) };
  }
  const v = (await queryRow(conn, 'SELECT @@GLOBAL.gtid_mode AS mode, @@GLOBAL.gtid_executed AS executed'))!;
  if (!String(v.mode).startsWith('ON')) return { unverifiable: `gtid_mode is ${String(v.mode)} on ${server(target)}, so it keeps no executed GTID set` };
  return { variable: 'gtid_executed', value: String(v.executed) };
}

/**
 * Reads the baseline before a session apply. Refused (EUSAGE, nothing applied) when the result could not be
 * checked, unless `allowUnverified`; refused (EAPPLY) when the server already holds part of the replay (MariaDB:
 * past `from`, the start point, in a domain the replay writes).
 */
export async function sessionBaseline(target: ApplyTarget, flavor: GtidFlavor, replayed: Applied, allowUnverified: boolean, from: GtidSet | null = null): Promise<SessionBaseline> {
  const found = await withTarget(target, async (conn) => {
    const v = await executedVariable(conn, flavor, target);
    if ('unverifiable' in v) return v;
    if (replayed.anonymous > 0) return { unverifiable: `${replayed.anonymous} of the replayed transactions have no GTID, so the server's GTIDs cannot show them` };
    return { variable: v.variable, before: parseGtidSet(flavor, v.value) };
  });
  if ('before' in found) {
    checkNotYetExecuted({ server: server(target), variable: found.variable, before: found.before, replayed: replayed.gtids, from });
    return found;
  }
  if (allowUnverified) return found;
  throw new ArchiverError('EUSAGE', `refusing to apply: the result could not be checked afterwards (${found.unverifiable})`, {
    hint: flavor === 'mariadb'
      ? 'enable log_bin on the target, or use --apply-mode replication (checked through gtid_slave_pos), or accept an unchecked apply with --allow-unverified-apply'
      : 'apply to a server with gtid_mode=ON, or accept an unchecked apply with --allow-unverified-apply',
  });
}

/**
 * After the apply: the server must show exactly the baseline plus the replayed transactions. Returns how it was
 * checked, and the executed GTIDs it shows (null when it could not be checked).
 */
export async function checkSessionApplied(target: ApplyTarget, flavor: GtidFlavor, baseline: SessionBaseline, replayed: Applied): Promise<{ check: string; executed: string | null }> {
  if ('unverifiable' in baseline) return { check: `not checked: ${baseline.unverifiable} (--allow-unverified-apply)`, executed: null };
  const after = await withTarget(target, async (conn) => String((await queryRow(conn, `SELECT @@GLOBAL.${baseline.variable} AS v`))?.v as string | undefined ?? ''));
  checkExecuted({ server: server(target), variable: baseline.variable, before: baseline.before, after: parseGtidSet(flavor, after), replayed: replayed.gtids });
  const executed = after.replace(/\s+/g, '');
  return { check: `${baseline.variable} ${executed}: every replayed transaction and nothing past the target`, executed };
}

/**
 * An interrupted apply (EINTERRUPTED from applyReplay): once the client's session ended on the server, its executed
 * GTIDs stand still and are read to say where it stands (what a session commits is a prefix of the replay).
 */
export async function sessionInterrupted(target: ApplyTarget, baseline: SessionBaseline, err: unknown): Promise<unknown> {
  if (!(err instanceof ArchiverError) || err.code !== 'EINTERRUPTED' || err.context.sessionEnded !== true) return err;
  let where: string;
  if ('unverifiable' in baseline) {
    where = `what it executed cannot be read from it (${baseline.unverifiable})`;
  } else {
    try {
      const position = await withTarget(target, async (conn) => String((await queryRow(conn, `SELECT @@GLOBAL.${baseline.variable} AS v`))?.v as string | undefined ?? '').replace(/\s+/g, ''));
      where = `it executed up to GTID position ${position === '' ? '(empty)' : position} (${baseline.variable}), a prefix of the planned restore`;
    } catch (readErr) {
      where = `its GTID position could not be read (${(readErr as Error).message})`;
    }
  }
  return new ArchiverError('EINTERRUPTED', `${err.message}; ${where}`, { cause: err.cause, ...(err.hint === undefined ? {} : { hint: err.hint }), context: err.context });
}
