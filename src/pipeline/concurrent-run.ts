/**
 * Two archive runs for one source at once (a Job, a cron job and a manual run overlapping) race for the same
 * names; the store lets one win (no overwrite) and the other sees ECONFLICT. The loser must tell that apart
 * from a real conflict (other content under the name) and must not fail in a way that marks anything wrong:
 * - the winner's entry is there, for identical content: nothing to do, the binlog counts as skipped;
 * - the winner's object is there but not (yet) its entry: the other run is at work; say so and stop, writing
 *   nothing (a later run adopts the object if the winner died).
 */
import { ArchiverError } from '../errors.ts';
import { type ManifestEntry, readEntry } from '../store/manifest.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { Candidate } from './discover.ts';

/** A write of this binlog's object, sidecar or entry found its name taken: the ECONFLICT it met. */
export class LostRace extends Error {
  readonly conflict: ArchiverError;
  constructor(conflict: ArchiverError) {
    super(conflict.message, { cause: conflict });
    this.conflict = conflict;
  }
}

/** `write`, with the store's "already exists" refusal turned into LostRace (other errors pass unchanged). */
export async function racing<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (err) {
    throw err instanceof ArchiverError && err.code === 'ECONFLICT' ? new LostRace(err) : err;
  }
}

/**
 * Called with the ECONFLICT a write of `candidate`'s object, sidecar or entry met: returns the entry another run
 * wrote for the same content, or throws an ECONFLICT that says another run is at work (or `err` itself for a
 * conflict that is not a race).
 */
export async function resolveConflict(store: ObjectStore, source: string, candidate: Candidate, sha256: () => Promise<string>, err: ArchiverError): Promise<ManifestEntry> {
  const entry = await readEntry(store, source, candidate.sequence, candidate.name);
  if (entry !== undefined) {
    if (entry.binlog.sha256 === (await sha256())) return entry;
    throw err;
  }
  throw new ArchiverError('ECONFLICT', `another archive run for source ${source} is archiving ${candidate.name} at the same time: ${err.message}; this run wrote nothing for it`, {
    cause: err,
    hint: `another archive run for source ${source} is at work; retry later (if none is, run again: what an interrupted run left is adopted)`,
    context: { ...err.context, concurrentRun: true, binlog: candidate.name },
  });
}
