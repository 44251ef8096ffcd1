/** Pure helpers that keep the policy status bounded and its `kubectl get` aggregates consistent with the sources. */
import { RECENT_RUNS_MAX } from './policy-status.ts';
import type { BinlogArchivePolicyStatus, RunStatus, SourceStatus } from './types.ts';

/** The runs with `run` first (replacing an entry of the same correlation id), at most RECENT_RUNS_MAX. */
export function recordRun(runs: readonly RunStatus[] | undefined, run: RunStatus): RunStatus[] {
  return [run, ...(runs ?? []).filter((r) => r.correlationId !== run.correlationId)].slice(0, RECENT_RUNS_MAX);
}

type Aggregates = Pick<BinlogArchivePolicyStatus, 'lastArchivedBinlog' | 'lastArchivedTime' | 'lagSeconds' | 'recoverableUntil'>;

/**
 * The top-level fields the printer columns show: the newest archived binlog, the largest lag, and the time every
 * source can be restored to (the earliest lastRecoverableTime; absent while any source has none).
 */
export function aggregateSources(sources: readonly SourceStatus[]): Aggregates {
  const out: Aggregates = {};
  let newest: SourceStatus | undefined;
  for (const s of sources) {
    if (s.lastArchivedTime !== undefined && (newest?.lastArchivedTime === undefined || Date.parse(s.lastArchivedTime) > Date.parse(newest.lastArchivedTime))) newest = s;
  }
  if (newest?.lastArchivedBinlog !== undefined && newest.lastArchivedTime !== undefined) {
    out.lastArchivedBinlog = `${newest.pod}/${newest.lastArchivedBinlog}`;
    out.lastArchivedTime = newest.lastArchivedTime;
  }
  if (sources.length > 0) out.lagSeconds = Math.max(...sources.map((s) => s.lagSeconds ?? 0));
  const recoverable = sources.map((s) => s.lastRecoverableTime);
  if (recoverable.length > 0 && recoverable.every((t) => t !== undefined)) {
    out.recoverableUntil = recoverable.reduce((a, b) => (Date.parse(b) < Date.parse(a) ? b : a));
  }
  return out;
}
