/**
 * The agent's only MySQL statements: FLUSH BINARY LOGS (the RPO bound) and reading how long the server keeps
 * binlogs. mysql2 speaks the protocol for MySQL and MariaDB alike. Credentials come from files (a mounted
 * Secret), are re-read on every connection so a rotated Secret takes effect, and are never logged.
 */
import fs from 'node:fs';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { ArchiverError } from '../errors.ts';
import { AGENT_DEFAULTS } from './defaults.ts';

export interface MysqlTarget {
  host: string;
  port: number;
  userFile: string;
  passwordFile: string;
}

/** ER_UNKNOWN_SYSTEM_VARIABLE: the variable does not exist on this server flavor or version. */
const ER_UNKNOWN_SYSTEM_VARIABLE = 1193;

function readCredential(file: string, what: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ArchiverError('EBADINPUT', `cannot read the MySQL ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: 'mount the credentials Secret there (rpo.credentialsSecret), readable by the agent\'s user or group',
    });
  }
  // Secrets made from files often end in a newline; the value itself never does.
  const value = text.replace(/\r?\n$/, '');
  if (value === '' && what === 'user') throw new ArchiverError('EBADINPUT', `the MySQL user file ${file} is empty`);
  return value;
}

/** Fails now, with the file named, if a credential file cannot be read: a startup error beats one at the first rotation. */
export function checkCredentials(target: MysqlTarget): void {
  readCredential(target.userFile, 'user');
  readCredential(target.passwordFile, 'password');
}

async function connect(target: MysqlTarget): Promise<Connection> {
  return createConnection({
    host: target.host,
    port: target.port,
    user: readCredential(target.userFile, 'user'),
    password: readCredential(target.passwordFile, 'password'),
    connectTimeout: AGENT_DEFAULTS.mysqlConnectTimeoutMs,
  });
}

async function withConnection<T>(target: MysqlTarget, fn: (conn: Connection) => Promise<T>): Promise<T> {
  const conn = await connect(target);
  try {
    return await fn(conn);
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

/** Closes the active binlog and opens the next (needs RELOAD, or BINLOG_ADMIN on recent servers). */
export async function flushBinaryLogs(target: MysqlTarget): Promise<void> {
  await withConnection(target, async (conn) => {
    await conn.query('FLUSH BINARY LOGS');
  });
}

async function globalVariable(conn: Connection, name: string): Promise<number | undefined> {
  try {
    const [rows] = await conn.query<RowDataPacket[]>(`SELECT @@global.${name} AS v`);
    const v = rows[0]?.v as unknown;
    const n = typeof v === 'string' ? Number(v) : v;
    return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
  } catch (err) {
    if ((err as { errno?: number }).errno === ER_UNKNOWN_SYSTEM_VARIABLE) return undefined;
    throw err;
  }
}

/**
 * Seconds after which the server purges a binlog by age; 0 when it never does. MySQL 8.0 and MariaDB 10.6+ have
 * binlog_expire_logs_seconds; older MariaDB and a MySQL 8.0 configured the old way only expire_logs_days (used
 * when the former is 0); MySQL 8.0.29+ can switch age-based purging off with binlog_expire_logs_auto_purge.
 */
export async function readExpireLogsSeconds(target: MysqlTarget): Promise<number> {
  return withConnection(target, async (conn) => {
    if ((await globalVariable(conn, 'binlog_expire_logs_auto_purge')) === 0) return 0;
    const seconds = await globalVariable(conn, 'binlog_expire_logs_seconds');
    if (seconds !== undefined && seconds > 0) return Math.round(seconds);
    const days = await globalVariable(conn, 'expire_logs_days');
    return days === undefined ? 0 : Math.round(days * 86_400);
  });
}

/** A MySQL error as log fields: the driver's code and message (which never hold the password). */
export function mysqlErrorFields(err: unknown): Record<string, unknown> {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown };
  return { error: typeof e.message === 'string' ? e.message : String(err), ...(typeof e.code === 'string' ? { mysqlCode: e.code } : {}) };
}
