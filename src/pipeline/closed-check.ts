/**
 * Only a closed binlog is archived: one the server has finished and will never change again. A file that is
 * not the newest of its series can still be unfinished — a copy cut short (at an event boundary, so it reads
 * cleanly), or a copy taken while the server had it open (the in-use flag of its Format_description event).
 * Archiving such a file marks it done, and the complete file is then refused forever as different content.
 *
 * Closed means: it ends with a Rotate or Stop event and its in-use flag is clear. One more case is closed
 * although it has neither event: a server that crashed while writing a file clears the flag when it recovers
 * the file at restart and continues in a new binlog, opened at startup (the `created` field of that next
 * file's FDE is non-zero; after a rotation it is 0). A file cut short before its Rotate has a next file
 * opened by rotation, and is refused.
 *
 * A MySQL-encrypted binlog shows nothing but its header: its place in the series is all there is to go by.
 */
import { type BinlogInfo, readFdeHead } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';
import type { Candidate } from './discover.ts';

function notClosed(candidate: Candidate, why: string, hint: string): ArchiverError {
  return new ArchiverError('EBINLOGACTIVE', `binlog ${candidate.path} is not closed: ${why}; it was not archived`, {
    hint, context: { binlog: candidate.name, notClosed: true },
  });
}

/** Throws EBINLOGACTIVE (naming why) unless `info`, read from `candidate`, is a closed binlog. */
export async function assertClosed(candidate: Candidate, info: BinlogInfo): Promise<void> {
  if (info.magic !== 'plain') return;
  if (info.inUse) {
    throw notClosed(candidate, 'the in-use flag of its Format_description event is set (the server had it open when it was copied, or crashed and has not restarted)',
      'copy the binlog again once the server has rotated or stopped (the flag is cleared then), or restart the crashed server so it recovers the file; the next run archives it');
  }
  if (info.closed) return;
  const next = candidate.next === null ? null : await readFdeHead(candidate.next.path).catch(() => null);
  if (next?.openedAtStartup === true) return; // ended by a crash, recovered at restart (see above)
  throw notClosed(candidate, `it ends after the event at byte ${info.lastEventPosition} with no Rotate or Stop event (a copy cut short?)`,
    `copy the complete binlog from the server (it ends with a Rotate or Stop event); the next run archives it`);
}
