/**
 * A restore that downloads binlogs holds a restore lease on its source while it runs (store/restore-lease.ts),
 * so `expire` deletes nothing it planned with. Taken before the restore reads the manifest.
 */
import os from 'node:os';
import type { Logger } from '../logger.ts';
import { listSources } from '../store/manifest.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { withLease } from '../store/restore-lease.ts';

export async function underRestoreLease<T>(store: ObjectStore, source: string | undefined, log: Logger, fn: () => Promise<T>): Promise<T> {
  const sources = source === undefined ? await listSources(store) : [source];
  const [only] = sources;
  // No source or several: the restore itself refuses that, naming them; there is nothing to hold.
  if (only === undefined || sources.length > 1) return fn();
  return withLease(store, only, {
    holder: `restore on ${os.hostname()} (pid ${process.pid})`,
    onRenewFailure: (err) => log.log('warn', 'Could not renew the restore lease; expire may no longer wait for this restore', { source: only, error: (err as Error).message }),
  }, fn);
}
