/**
 * From what was observed of a BinlogRestore to what it is and what to do next: pure. By state, never by event:
 * no Job -> plan (unless it must wait); plan Job finished -> its plan, then the restore Job or a terminal failure;
 * restore Job finished -> Succeeded or Failed. Terminal states are never left.
 */
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
}

export interface RestoreObservation {
  spec: ResolvedRestoreSpec;
  generation: number;
  previous: BinlogRestoreStatus | undefined;
  planJob?: StepJob;
  runJob?: StepJob;
  /** Why it cannot start yet (a missing policy or claim, another restore on the target). */
  waiting?: { reason: RestoreReason; message: string };
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
}

const MESSAGE_GRACE_MS = 60_000;

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
    if (o.runJob.phase === 'Running') return { phase: 'Restoring', facts: { state: 'restoring', message: `restore Job ${o.runJob.name} is running` }, awaitingMessage: false };
    const r = outcome(o.runJob, parseRestoreMessage, now);
    if (r === 'later') return { phase: 'Restoring', facts: { state: 'restoring', message: `restore Job ${o.runJob.name} finished; reading its result` }, awaitingMessage: true };
    if (!r.ok) return failed('restore', r.error, applying);
    const into = applying ? `applied to ${o.spec.output.server?.service ?? ''}` : `written to claim ${o.spec.output.volume?.claimName ?? ''}`;
    return { phase: 'Succeeded', facts: { state: 'succeeded', message: `restored ${r.result.files} binlog(s) (${mib(r.result.bytes)}) of ${o.spec.sourceServer}, ${into}` }, result: r.result, awaitingMessage: false };
  }
  if (o.planJob !== undefined) {
    if (o.planJob.phase === 'Running') return { phase: 'Planning', facts: { state: 'planning', message: `plan Job ${o.planJob.name} is running` }, awaitingMessage: false };
    const p = outcome(o.planJob, parsePlanMessage, now);
    if (p === 'later') return { phase: 'Planning', facts: { state: 'planning', message: `plan Job ${o.planJob.name} finished; reading its plan` }, awaitingMessage: true };
    if (!p.ok) return failed('plan', p.error, false);
    if (p.result.gaps > 0 && !o.spec.acceptGaps) {
      return failed('plan', { code: 'EGAP', message: `the binlogs needed have gaps: ${planNote(p.result)}`, hint: 'set spec.acceptGaps in a new BinlogRestore to restore anyway (transactions will be missing)' }, false, { plan: p.result });
    }
    return { phase: 'Restoring', facts: { state: 'restoring', message: `planned ${planNote(p.result)}; restore Job starting` }, create: 'restore', plan: p.result, awaitingMessage: false };
  }
  if (o.waiting !== undefined) return { phase: 'Pending', facts: { state: 'waiting', ...o.waiting }, awaitingMessage: false };
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
    plan,
    binlogsRestored: d.result?.files ?? prev.binlogsRestored,
    bytesRestored: d.result?.bytes ?? prev.bytesRestored,
    recoveredUntil: d.result?.recoveredUntil ?? prev.recoveredUntil,
    recoveredGtidSet: d.result?.recoveredGtidSet ?? prev.recoveredGtidSet,
    message: d.facts.message.slice(0, 4096),
  };
}
