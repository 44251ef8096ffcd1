/**
 * Ending a session apply that was interrupted: the client's connection is killed on the server (KILL CONNECTION,
 * from a connection of our own), and we wait until the server has dropped it. Killing only the client process
 * would not do: the server finishes the statement it runs (a COMMIT included) and only then sees the socket
 * closed, so a transaction could commit after we read the target's position. Once the connection is gone the
 * server's executed GTIDs stand still: what it committed stays, the open transaction is rolled back.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApplyTarget } from './apply.ts';
import { openTarget, queryRow } from './target-connection.ts';

/** How long a killed session may take to roll back its open transaction before we stop waiting. */
const GONE_TIMEOUT_MS = 60_000;

/** Kills connection `id` and waits until the server no longer lists it; returns null, or why it could not. */
export async function killSession(target: ApplyTarget, id: number, timeoutMs = GONE_TIMEOUT_MS): Promise<string | null> {
  let conn;
  try {
    conn = await openTarget(target);
  } catch (err) {
    return `the server could not be reached to end the client's session (${(err as Error).message})`;
  }
  try {
    await conn.query(`KILL CONNECTION ${id}`).catch((err: unknown) => {
      // ER_NO_SUCH_THREAD: the session had already ended (the client exited first).
      if ((err as { errno?: number }).errno !== 1094) throw err;
    });
    const deadline = Date.now() + timeoutMs;
    while (Number((await queryRow(conn, 'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?', [id]))?.n ?? 0) > 0) {
      if (Date.now() > deadline) return `the client's session ${id} was killed but still rolls back after ${timeoutMs / 1000} s`;
      await sleep(20);
    }
    return null;
  } catch (err) {
    return `ending the client's session ${id} failed (${(err as Error).message})`;
  } finally {
    await conn.end().catch(() => undefined);
  }
}
