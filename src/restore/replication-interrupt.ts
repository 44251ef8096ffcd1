/**
 * A replication-mode apply interrupted (SIGTERM, SIGINT) while the target applies: its replica is stopped at once
 * (the SQL thread stops between transactions, and with in-order parallel commit what it executed is a prefix of
 * what was sent), and the error tells where the target stands, before the caller removes the replica connection.
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { ArchiverError } from '../errors.ts';
import { CONNECTION } from './replication-target.ts';

/** `err` unchanged unless it is the interruption; then the interruption, saying what the target now holds. */
export async function stopInterrupted(conn: Connection, err: unknown, logBin: boolean): Promise<unknown> {
  if (!(err instanceof ArchiverError) || err.code !== 'EINTERRUPTED') return err;
  let where: string;
  try {
    await conn.query(`STOP SLAVE '${CONNECTION}'`);
    const [rows] = await conn.query<RowDataPacket[]>('SELECT @@gtid_binlog_pos AS binlogPos, @@gtid_slave_pos AS slavePos');
    const v: Record<string, unknown> = rows[0] ?? {};
    const position = String(logBin ? v.binlogPos : v.slavePos);
    where = `its replica was stopped; it executed up to GTID position ${position === '' ? '(empty)' : position} (${logBin ? 'gtid_binlog_pos' : 'gtid_slave_pos'}), a prefix of the planned restore`;
  } catch (stopErr) {
    where = `stopping its replica failed (${(stopErr as Error).message}); the server may still be applying what it received`;
  }
  return new ArchiverError('EINTERRUPTED', `${err.message} while the target applied it: ${where}; the replica connection ${CONNECTION} is removed`, {
    cause: err,
    hint: 'the server holds part of the restore: restore its base backup again (or use a fresh server) and run the same restore again',
  });
}
