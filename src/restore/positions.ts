/**
 * Exact replay boundaries from the restored files: where the first needed transaction starts (after the base
 * backup's GTIDs) and where the target is reached (first transaction after the time, or the end of the
 * transaction that completes the target GTID set).
 */
import { type GtidSet, addGtidTo, emptyGtidSet, gtidSetContains, parseGtidSet, readBinlogTransactions } from '../binlog/index.ts';
import type { ManifestEntry } from '../store/manifest.ts';
import type { RestoreTarget } from './target.ts';

export async function startPosition(file: string, entry: ManifestEntry, from: GtidSet | null): Promise<number> {
  if (from === null) return 4;
  for await (const t of readBinlogTransactions(file)) {
    if (t.gtidValue === null) return t.startPosition;
    const one = emptyGtidSet(entry.source.flavor);
    addGtidTo(one, t.gtidValue);
    if (!gtidSetContains(from, one)) return t.startPosition;
  }
  return entry.binlog.endPosition;
}

/** null = replay the last file to its end. */
export async function stopPosition(file: string, entry: ManifestEntry, target: RestoreTarget, targetGtids: GtidSet | null): Promise<number | null> {
  if (target.kind === 'latest') return null;
  if (target.kind === 'position') return target.position;
  if (target.kind === 'time') {
    // Binlog timestamps have one-second resolution: everything stamped at or before the target second is applied.
    const limit = Math.floor(target.until.getTime() / 1000);
    for await (const t of readBinlogTransactions(file)) {
      if (t.timestamp > limit) return t.startPosition;
    }
    return null;
  }
  if (targetGtids === null || entry.binlog.previousGtids === null) return null;
  const state = parseGtidSet(entry.source.flavor, entry.binlog.previousGtids);
  for await (const t of readBinlogTransactions(file)) {
    if (t.gtidValue !== null) addGtidTo(state, t.gtidValue);
    if (gtidSetContains(state, targetGtids)) return t.endPosition;
  }
  return null;
}
