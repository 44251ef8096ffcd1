/**
 * A SQL connection to the server a restore applies to, with credentials read from files (mounted Secrets), for
 * the checks around an apply: what the server holds before, and what it shows after.
 * mysql2 is imported here on first use, not with the module: a restore to files never connects, and the client
 * costs it ~23 MiB of its peak RSS (docs/PERFORMANCE.md §8.1).
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { ArchiverError } from '../errors.ts';
import { type ApplyTarget, readCredential } from './apply.ts';

export async function openTarget(target: ApplyTarget): Promise<Connection> {
  const user = readCredential(target.userFile, 'user');
  const password = readCredential(target.passwordFile, 'password');
  const { createConnection } = await import('mysql2/promise');
  try {
    return await createConnection({ host: target.host, port: target.port, user, password, supportBigNumbers: true, bigNumberStrings: true });
  } catch (err) {
    throw new ArchiverError('EAPPLY', `cannot connect to ${target.host}:${target.port} to apply the restore: ${(err as Error).message}`, { cause: err });
  }
}

/** The first row of a query, or undefined. */
export async function queryRow(conn: Connection, sql: string, values: unknown[] = []): Promise<Record<string, unknown> | undefined> {
  const [rows] = await conn.query<RowDataPacket[]>(sql, values);
  return rows[0];
}
