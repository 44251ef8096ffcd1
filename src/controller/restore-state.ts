/**
 * From what was observed of a BinlogRestore to what it is and what to do next: pure. By state, never by event:
 * no Job -> plan (unless it must wait); plan Job finished -> its plan, then the restore Job or a terminal failure;
 * restore Job finished -> Succeeded or Failed. Terminal states are never left.
 *
 * Waiting (phase Pending): for something it needs before its plan Job (the policy, the claim, the Service, the
 * suspension of a policy archiving the target; restore-reconciler.ts finds out which), or a Job whose Pod cannot
 * start because a Secret is missing. Such a wait is timed: status.waitingSince is when it began, without
 * interruption, and after spec.waitTimeout it fails (WaitTimedOut) and its unfinished Job is stopped. Queueing
 * behind another restore on the same target (WaitingForActiveRestore) is not timed: that restore has its own bounds,
 * and failing a restore because another one runs would make the user redo a valid request.
 */
import { durationMs, formatDuration } from '../api/duration.ts';
import { WAIT_TIMEOUT_DEFAULT } from '../api/restore-spec.ts';
import { RESTORE_REASON, type RestoreFacts, type RestoreReason, reasonForError, restoreConditions } from '../api/restore-conditions.ts';
import type { Clock } from '../api/conditions.ts';
import type { BinlogRestoreStatus, ResolvedRestoreSpec } from '../api/types.ts';
import type { JobPhase } from './jobs.ts';
import { type JobOutcome, type PlanResult, type RestoreResult, type RunError, parsePlanMessage, parseRestoreMessage } from './restore-result.ts';

export type RestorePhase = NonNullable<BinlogRestoreStatus['phase']>;

export interface StepJob {
  name: string;
  phase: JobPhase;
  startTime?: string;
  completionTime?: string;
  /** The container's termination message (undefined while running or before the pod status shows it). */
  message?: string;
  /** The Job's Failed condition (reason: message), when it failed. */
  failure?: string;
  pods: number;
  /** Its Pod cannot start until something appears (a Secret, as the kubelet reports). */
  waitingFor?: RestoreWait;
  /** A Pod of it exists and has not started (Pending): its cause may show in events only, so look again. */
  starting?: boolean;
}

/** Something a restore waits for: the reason, the message to show, and for the timeout's message what it is and why. */
export interface RestoreWait {
  reason: RestoreReason;
  what: string;
  message: string;
  detail?: string;
}

export interface RestoreObservation {
  spec: ResolvedRestoreSpec;
  generation: number;
  previous: BinlogRestoreStatus | undefined;
  planJob?: StepJob;
  runJob?: StepJob;
  /** Why it cannot start yet (a missing policy or claim, another restore on the target). */
  waiting?: RestoreWait;
}

export interface RestoreDecision {
  phase: RestorePhase;
  facts: RestoreFacts;
  /** The Job to create now. */
  create?: 'plan' | 'restore';
  plan?: PlanResult;
  result?: RestoreResult;
  /** A finished Job whose termination message is not visible yet: look again shortly. */
  awaitingMessage: boolean;
  /** A timed wait: since when (kept in status.waitingSince), and when to look again at the latest (its deadline). */
  waitingSince?: string;
  recheckAfterMs?: number;
  /** Terminal with a Job that has not finished (a wait timed out): delete it, so it never runs later. */
  stopJobs?: boolean;
}

const MESSAGE_GRACE_MS = 60_000;
const WAIT_RECHECK_MS = 5_000;

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Pending for `w`; past spec.waitTimeout (counted from status.waitingSince), Failed with WaitTimedOut. */
function waitFor(o: RestoreObservation, w: RestoreWait, now: number, jobName: string | undefined): RestoreDecision {
  if (w.reason === RESTORE_REASON.WaitingForActiveRestore) return { phase: 'Pending', facts: { state: 'waiting', reason: w.reason, message: w.message }, awaitingMessage: false };
  // The API server checked the value against the same grammar: the default stands in only for a malformed one.
  const timeout = o.spec.waitTimeout !== undefined && durationMs(o.spec.waitTimeout) !== undefined ? o.spec.waitTimeout : WAIT_TIMEOUT_DEFAULT;
  const timeoutMs = durationMs(timeout) ?? 3_600_000;
  const recorded = Date.parse(o.previous?.waitingSince ?? '');
  const since = Number.isNaN(recorded) ? now : Math.min(recorded, now);
  const deadline = since + timeoutMs;
  if (now >= deadline) {
    const stopped = jobName === undefined ? 'nothing was applied' : `Job ${jobName} was deleted before its container started; nothing was applied`;
    const message = `gave up after waiting ${formatDuration(now - since)} (spec.waitTimeout ${timeout}, since ${iso(since)}) for ${w.what}${w.detail === undefined ? '' : ` (${w.detail})`}; ${stopped}; create a new BinlogRestore once it is there`;
    return { phase: 'Failed', facts: { state: 'failed', reason: RESTORE_REASON.WaitTimedOut, message }, awaitingMessage: false, stopJobs: jobName !== undefined };
  }
  return {
    phase: 'Pending', facts: { state: 'waiting', reason: w.reason, message: `${w.message}; gives up at ${iso(deadline)} (spec.waitTimeout ${timeout})` },
    awaitingMessage: false, waitingSince: iso(since), recheckAfterMs: Math.max(1000, Math.min(WAIT_RECHECK_MS, deadline - now)),
  };
}

function outcome<T>(job: StepJob, parse: (t: string | undefined) => JobOutcome<T> | undefined, now: number): JobOutcome<T> | 'later' {
  const parsed = parse(job.message);
  if (parsed !== undefined) {
    // A Job that failed while its report says ok (killed after writing it, deadline): the Job decides.
    if (parsed.ok && job.phase === 'Failed') return { ok: false, error: { code: 'EJOBFAILED', message: job.failure ?? 'the Job failed' } };
    return parsed;
  }
  const finished = Date.parse(job.completionTime ?? '') || 0;
  if (job.pods > 0 && now - finished < MESSAGE_GRACE_MS) return 'later';
  if (job.phase === 'Succeeded') return { ok: false, error: { code: 'EUNKNOWN', message: `Job ${job.name} succeeded without a summary` } };
  return { ok: false, error: { code: /DeadlineExceeded/.test(job.failure ?? '') ? 'ETIMEDOUT' : 'EJOBFAILED', message: job.failure ?? `Job ${job.name} failed` } };
}

function failed(step: 'plan' | 'restore', error: RunError, applying: boolean, extra: Partial<RestoreDecision> = {}): RestoreDecision {
  const reason = error.code === 'ETIMEDOUT' ? RESTORE_REASON.TimedOut : reasonForError(error.code, step, applying);
  const where = step === 'plan' ? 'planning' : 'restoring';
  const message = `${where} failed: ${error.code}: ${error.message}${error.hint === undefined ? '' : ` (${error.hint})`}`;
  return { phase: 'Failed', facts: { state: 'failed', reason, message }, awaitingMessage: false, ...extra };
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

export function planNote(p: PlanResult): string {
  const range = p.firstBinlog === null ? '' : ` (${p.firstBinlog}${p.lastBinlog !== null && p.lastBinlog !== p.firstBinlog ? ` to ${p.lastBinlog}` : ''})`;
  return `${p.files} binlog(s)${range}, ${mib(p.bytes)}; archive window ${p.window.from ?? '?'} to ${p.window.until ?? '?'}; ${p.gaps} gap(s)`;
}

export function decideRestore(o: RestoreObservation, now: number): RestoreDecision {
  const prev = o.previous?.phase;
  if (prev === 'Succeeded' || prev === 'Failed') {
    const c = o.previous?.conditions?.find((x) => x.type === 'Stalled' && x.status === 'True');
    return { phase: prev, facts: prev === 'Succeeded' ? { state: 'succeeded', message: o.previous?.message ?? 'restored' } : { state: 'failed', reason: (c?.reason ?? RESTORE_REASON.JobFailed) as RestoreReason, message: o.previous?.message ?? 'failed' }, awaitingMessage: false };
  }
  const applying = o.spec.output.server !== undefined;
  if (o.runJob !== undefined) {
    if (o.runJob.phase === 'Running' && o.runJob.waitingFor !== undefined) return waitFor(o, o.runJob.waitingFor, now, o.runJob.name);
    if (o.runJob.phase === 'Running') return { phase: 'Restoring', facts: { state: 'restoring', message: `restore Job ${o.runJob.name} is running` }, awaitingMessage: false };
    const r = outcome(o.runJob, parseRestoreMessage, now);
    if (r === 'later') return { phase: 'Restoring', facts: { state: 'restoring', message: `restore Job ${o.runJob.name} finished; reading its result` }, awaitingMessage: true };
    if (!r.ok) return failed('restore', r.error, applying);
    const into = applying ? `applied to ${o.spec.output.server?.service ?? ''}` : `written to claim ${o.spec.output.volume?.claimName ?? ''}`;
    return { phase: 'Succeeded', facts: { state: 'succeeded', message: `restored ${r.result.files} binlog(s) (${mib(r.result.bytes)}) of ${o.spec.sourceServer}, ${into}` }, result: r.result, awaitingMessage: false };
  }
  if (o.planJob !== undefined) {
    if (o.planJob.phase === 'Running' && o.planJob.waitingFor !== undefined) return waitFor(o, o.planJob.waitingFor, now, o.planJob.name);
    if (o.planJob.phase === 'Running') return { phase: 'Planning', facts: { state: 'planning', message: `plan Job ${o.planJob.name} is running` }, awaitingMessage: false };
    const p = outcome(o.planJob, parsePlanMessage, now);
    if (p === 'later') return { phase: 'Planning', facts: { state: 'planning', message: `plan Job ${o.planJob.name} finished; reading its plan` }, awaitingMessage: true };
    if (!p.ok) return failed('plan', p.error, false);
    if (p.result.gaps > 0 && !o.spec.acceptGaps) {
      return failed('plan', { code: 'EGAP', message: `the binlogs needed have gaps: ${planNote(p.result)}`, hint: 'set spec.acceptGaps in a new BinlogRestore to restore anyway (transactions will be missing)' }, false, { plan: p.result });
    }
    return { phase: 'Restoring', facts: { state: 'restoring', message: `planned ${planNote(p.result)}; restore Job starting` }, create: 'restore', plan: p.result, awaitingMessage: false };
  }
  if (o.waiting !== undefined) return waitFor(o, o.waiting, now, undefined);
  return { phase: 'Planning', facts: { state: 'planning', message: 'plan Job starting: reading the manifest and the boundary binlogs' }, create: 'plan', awaitingMessage: false };
}

export interface StatusExtras {
  correlationId: string;
  planJobName?: string;
  jobName?: string;
  clock: Clock;
}

/** The status for a decision; fields set earlier (plan, start time) stay. */
export function restoreStatus(o: RestoreObservation, d: RestoreDecision, x: StatusExtras): BinlogRestoreStatus {
  const prev = o.previous ?? {};
  const nowText = x.clock.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const plan = d.plan === undefined ? prev.plan : {
    binlogs: d.plan.files, bytes: d.plan.bytes, firstBinlog: d.plan.firstBinlog ?? undefined, lastBinlog: d.plan.lastBinlog ?? undefined, gaps: d.plan.gaps,
    windowFrom: d.plan.window.from ?? undefined, windowUntil: d.plan.window.until ?? undefined,
    startPosition: d.plan.startPosition ?? undefined, stopPosition: d.plan.stopPosition ?? undefined, targetReached: d.plan.targetReached?.slice(0, 1024) ?? undefined,
  };
  const terminal = d.phase === 'Succeeded' || d.phase === 'Failed';
  return {
    ...prev,
    observedGeneration: o.generation,
    phase: d.phase,
    conditions: restoreConditions(prev.conditions ?? [], d.facts, o.generation, x.clock),
    correlationId: x.correlationId,
    planJobName: x.planJobName ?? prev.planJobName,
    jobName: x.jobName ?? prev.jobName,
    startTime: prev.startTime ?? (d.phase === 'Pending' ? undefined : nowText),
    completionTime: prev.completionTime ?? (terminal ? nowText : undefined),
    // The earliest start of this wait: a decision made on a stale cache must not move it later.
    waitingSince: d.waitingSince === undefined ? undefined : (prev.waitingSince ?? d.waitingSince),
    plan,
    binlogsRestored: d.result?.files ?? prev.binlogsRestored,
    bytesRestored: d.result?.bytes ?? prev.bytesRestored,
    recoveredUntil: d.result?.recoveredUntil ?? prev.recoveredUntil,
    recoveredGtidSet: d.result?.recoveredGtidSet ?? prev.recoveredGtidSet,
    applyMode: d.result?.applyMode ?? prev.applyMode,
    applyModeReason: d.result?.applyModeReason ?? prev.applyModeReason,
    message: d.facts.message.slice(0, 4096),
  };
}
