/**
 * `restore --plan-only`: what a restore would do, proven where the bytes decide it, with nothing written. The plan
 * comes from the manifest (files, bytes, gaps, the archive's recoverable window); the first and the last planned
 * binlogs are downloaded, authenticated and scanned in memory, because only their bytes say where replay starts and
 * stops and whether a position is a transaction boundary. The binlogs in between are checked by the restore itself.
 * This is what the operator's planning Job runs: a target outside the archive, a gap or a bad position fails here,
 * before anything is applied.
 */
import { parseGtidSet } from '../binlog/index.ts';
import { BatchKeys } from '../keys/batch-keys.ts';
import type { Gap } from '../store/continuity.ts';
import type { ManifestEntry } from '../store/manifest.ts';
import type { FileScanResult } from './boundaries.ts';
import { type ReplayBoundaries, planEnd, replayBoundaries } from './replay-range.ts';
import type { RestorePlan } from './plan.ts';
import { decodeEntry } from './restore-file.ts';
import { type RestoreOptions, emptyBoundaries, prepareRestore, scanFor, scanGoal } from './restore-run.ts';

/** What a plan and an apply report of their range: the binlogs, the replay range and what it recovers. */
export interface RangeSummary {
  files: { name: string; sequence: number; bytes: number }[];
  bytes: number;
  gaps: Gap[];
  replayFiles: string[];
  startPosition: number | null;
  stopPosition: number | null;
  targetReached: string;
  /** Time of the last transaction the replay applies, and the server's executed GTIDs after it. */
  recoveredUntil: string | null;
  recoveredGtidSet: string | null;
}

export function rangeSummary(plan: RestorePlan, bounds: ReplayBoundaries): RangeSummary {
  const files = plan.files;
  return {
    files: files.map((e) => ({ name: e.binlog.name, sequence: e.binlog.sequence, bytes: e.binlog.size })),
    bytes: files.reduce((n, e) => n + e.binlog.size, 0),
    gaps: plan.gaps,
    replayFiles: bounds.apply ? files.slice(bounds.firstFile, bounds.lastFile + 1).map((e) => e.binlog.name) : [],
    startPosition: bounds.apply ? bounds.startPosition : null,
    stopPosition: bounds.apply ? bounds.stopPosition : null,
    targetReached: bounds.reached,
    recoveredUntil: bounds.recovered?.until ?? null,
    recoveredGtidSet: bounds.recovered === null || bounds.recovered.gtids === '' ? null : bounds.recovered.gtids,
  };
}

export interface PlanSummary extends RangeSummary {
  source: string;
  firstBinlog: string | null;
  lastBinlog: string | null;
  /** The archive's recoverable window for this source: first and last archived event times. */
  window: { from: string | null; until: string | null };
  /** Whether anything is to be replayed; the replay range (binlogs and offsets) when it is. */
  apply: boolean;
  durationMs: number;
}

/** A binlog between the first and the last: replayed whole (the restore checks its bytes; its GTIDs from the manifest). */
function wholeFile(entry: ManifestEntry): FileScanResult {
  const last = entry.binlog.lastEventTime === null ? null : Math.floor(Date.parse(entry.binlog.lastEventTime) / 1000);
  const applied = { gtids: parseGtidSet(entry.source.flavor, entry.binlog.gtidsAdded), anonymous: 0 };
  return { file: entry.binlog.name, start: 4, firstToApply: null, stopAfterStart: null, stopAny: null, firstTransaction: null, reachedAtEnd: false, stopReason: null, lastTimestamp: last, transactions: 0,
    inexactAny: null, inexactAfterStart: null, undecidedAnonymous: null, heldBeforeStart: false, // known only from its bytes: the restore checks them
    atStopAny: null, atStopAfterStart: null, atEnd: { gtids: '', lastTimestamp: last, appliedAny: applied, appliedAfterStart: applied } };
}

export async function runPlan(options: Omit<RestoreOptions, 'out' | 'apply'>): Promise<PlanSummary> {
  const started = Date.now();
  const { source, entries, plan } = await prepareRestore(options);
  const files = plan.files;
  let bounds = emptyBoundaries(plan);
  if (files.length > 0) {
    const keys = new BatchKeys({ keyUrl: options.keyUrl, ...(options.keyProvider === undefined ? {} : { provider: options.keyProvider }) });
    try {
      const scans = files.map(wholeFile);
      const decoded = new Set<number>();
      const decode = async (i: number): Promise<FileScanResult> => {
        decoded.add(i);
        const scan = scanFor(plan, i);
        await decodeEntry({ store: options.store, keys }, files[i]!, scan);
        return (scans[i] = scan.finish());
      };
      // From the first binlog to the one replay starts in (binlogs that add no GTID may come before it), then the
      // last: a time target may stop in either of the last two (plan.ts takes one more than the target's).
      for (let i = 0; i < files.length && (await decode(i)).start === null; i++);
      const tail = plan.target.kind === 'time' ? [files.length - 2, files.length - 1] : [files.length - 1];
      for (const j of tail) if (j >= 0 && !decoded.has(j)) await decode(j);
      bounds = replayBoundaries(scanGoal(plan), scans, planEnd(files, entries));
    } finally {
      keys.dispose();
    }
  }
  return {
    source,
    ...rangeSummary(plan, bounds),
    firstBinlog: files[0]?.binlog.name ?? null,
    lastBinlog: files.at(-1)?.binlog.name ?? null,
    window: { from: entries[0]?.binlog.firstEventTime ?? null, until: entries.at(-1)?.binlog.lastEventTime ?? null },
    apply: bounds.apply,
    durationMs: Date.now() - started,
  };
}
