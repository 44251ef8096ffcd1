/**
 * Whether a source needs an archive Job now, and with which trigger (the Job name derives from it, so the same
 * state always yields the same name and a restarted controller meets AlreadyExists instead of duplicating).
 * Pure: the computed source state, the time, and the schedule settings.
 */
import type { SourceComputed } from './policy-state.ts';

export interface DecideSettings {
  now: number;
  suspended: boolean;
  /** Without a word from the agent for this long, a Job runs on the safety schedule (ms). */
  safetyIntervalMs: number;
  /** An agent never reached, or unreachable, for this long counts as silent (ms). */
  agentSilentAfterMs: number;
  /** Wait after a failed Job: base doubling per consecutive failure, capped (ms). */
  failureBackoffMs: number;
  failureBackoffMaxMs: number;
}

export type Decision =
  | { create: false; why: string; retryInMs?: number }
  | { create: true; trigger: string; why: string };

/** Consecutive failed Jobs since the last success (newest first). */
export function consecutiveFailures(s: SourceComputed): number {
  let n = 0;
  for (const j of [...s.input.jobs].reverse()) {
    if (j.phase === 'Running') continue;
    if (j.phase === 'Succeeded') break;
    n += 1;
  }
  return n;
}

/** `base`, or `base~N` for the Nth attempt when earlier Jobs of the same base trigger failed. */
export function attemptTrigger(s: SourceComputed, base: string): string {
  const failed = s.input.jobs.filter((j) => j.phase === 'Failed' && (j.trigger === base || j.trigger.startsWith(`${base}~`))).length;
  return failed === 0 ? base : `${base}~${failed + 1}`;
}

export function decide(s: SourceComputed, o: DecideSettings): Decision {
  if (o.suspended) return { create: false, why: 'suspended' };
  if (s.input.unarchivable !== undefined) return { create: false, why: `not archivable: ${s.input.unarchivable}` };
  if (s.running !== undefined) return { create: false, why: `Job ${s.running.name} is running` };
  const failures = consecutiveFailures(s);
  const last = s.lastFinished;
  if (failures > 0 && last !== undefined) {
    const wait = Math.min(o.failureBackoffMaxMs, o.failureBackoffMs * 2 ** (failures - 1));
    const done = Date.parse(last.completionTime ?? '') || last.created;
    if (o.now < done + wait) return { create: false, why: `backing off after ${failures} failed Job(s)`, retryInMs: done + wait - o.now };
  }
  const agent = s.input.agent;
  if (s.agentKnown) {
    const newest = s.pending.at(-1);
    if (newest === undefined) return { create: false, why: 'nothing pending' };
    // A Job that succeeded for this very binlog while it still shows pending: the store view lags; do not loop.
    if (s.input.jobs.some((j) => j.phase === 'Succeeded' && j.trigger.split('~')[0] === newest.name && j.created > Date.parse(newest.mtime))) {
      if (failures === 0) return { create: false, why: `a Job already archived up to ${newest.name}; waiting for the archive view to catch up` };
    }
    return { create: true, trigger: attemptTrigger(s, newest.name), why: `${s.pending.length} closed binlog(s) pending, newest ${newest.name}` };
  }
  // No state from the agent: after a grace period, archive on the safety schedule (pending binlogs may exist).
  const silentSince = agent === undefined ? undefined : (agent.errorSince ?? agent.watchedSince);
  if (silentSince === undefined || o.now - silentSince < o.agentSilentAfterMs) return { create: false, why: 'waiting for the agent', retryInMs: o.agentSilentAfterMs };
  const newestJob = s.input.jobs.at(-1)?.created ?? 0;
  if (o.now - newestJob < o.safetyIntervalMs) return { create: false, why: 'agent silent; safety schedule not due', retryInMs: newestJob + o.safetyIntervalMs - o.now };
  const window = Math.floor(o.now / o.safetyIntervalMs);
  return { create: true, trigger: attemptTrigger(s, `schedule-${window}`), why: 'agent silent: safety schedule' };
}
