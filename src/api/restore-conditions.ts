/**
 * The conditions of a BinlogRestore, in the shape Flux (kstatus) and Argo CD read without custom code:
 * `Reconciling=True` while it is not finished (waiting, planning, restoring), `Ready=True` once it succeeded,
 * `Stalled=True` with `Ready=False` when it failed for good, each with a specific reason. And the one mapping from
 * the CLI's error codes to those reasons.
 */
import type { Clock } from './conditions.ts';
import { setCondition } from './conditions.ts';
import type { Condition } from './types.ts';

export const RESTORE_CONDITION = { Ready: 'Ready', Reconciling: 'Reconciling', Stalled: 'Stalled' } as const;

export const RESTORE_REASON = {
  // Waiting (Pending): the restore starts once the cause is gone.
  PolicyNotFound: 'PolicyNotFound',
  ClaimNotFound: 'ClaimNotFound',
  WaitingForActiveRestore: 'WaitingForActiveRestore',
  ServiceNotFound: 'ServiceNotFound',
  TargetIsArchived: 'TargetIsArchived',
  // A Job's Pod cannot start: a Secret it mounts (or a key in it) does not exist, as the kubelet reports.
  SecretNotFound: 'SecretNotFound',
  // In progress.
  Planning: 'Planning',
  Restoring: 'Restoring',
  // Done.
  RestoreSucceeded: 'RestoreSucceeded',
  // Failed for good (Stalled).
  BinlogGapDetected: 'BinlogGapDetected',
  TargetNotInArchive: 'TargetNotInArchive',
  SourceNotInArchive: 'SourceNotInArchive',
  InvalidTarget: 'InvalidTarget',
  KeyProviderUnavailable: 'KeyProviderUnavailable',
  StorageUnavailable: 'StorageUnavailable',
  VerificationFailed: 'VerificationFailed',
  ApplyFailed: 'ApplyFailed',
  JobFailed: 'JobFailed',
  TimedOut: 'TimedOut',
  // Waited longer than spec.waitTimeout for something it needs (a waiting reason above, other than WaitingForActiveRestore).
  WaitTimedOut: 'WaitTimedOut',
  Interrupted: 'Interrupted',
} as const;

export type RestoreReason = (typeof RESTORE_REASON)[keyof typeof RESTORE_REASON];

/** Where a restore stands, as the conditions say it. */
export type RestoreFacts =
  | { state: 'waiting'; reason: RestoreReason; message: string }
  | { state: 'planning' | 'restoring'; message: string }
  | { state: 'succeeded'; message: string }
  | { state: 'failed'; reason: RestoreReason; message: string };

/**
 * The reason for a failed plan or restore run, from the CLI's error code. `step` tells a plan failure from one
 * while applying.
 */
export function reasonForError(code: string, step: 'plan' | 'restore', applying: boolean): RestoreReason {
  switch (code) {
    case 'EGAP': return RESTORE_REASON.BinlogGapDetected;
    case 'ETARGET':
    case 'EEXPIRED': return RESTORE_REASON.TargetNotInArchive;
    case 'ENOTFOUND': return RESTORE_REASON.SourceNotInArchive;
    case 'EUSAGE': return RESTORE_REASON.InvalidTarget;
    case 'EKEY':
    case 'EKEYUNAVAILABLE': return RESTORE_REASON.KeyProviderUnavailable;
    case 'ESTORE':
    case 'ESTOREUNAVAILABLE': return RESTORE_REASON.StorageUnavailable;
    case 'EVERIFY':
    case 'EAUTH':
    case 'EFORMAT': return RESTORE_REASON.VerificationFailed;
    case 'EAPPLY': return RESTORE_REASON.ApplyFailed;
    case 'EINTERRUPTED': return RESTORE_REASON.Interrupted;
    default: return step === 'restore' && applying ? RESTORE_REASON.ApplyFailed : RESTORE_REASON.JobFailed;
  }
}

function cond(type: string, status: Condition['status'], reason: string, message: string, generation: number, clock: Clock): Condition {
  return { type, status, observedGeneration: generation, lastTransitionTime: clock.now().toISOString().replace(/\.\d{3}Z$/, 'Z'), reason, message };
}

/** The three conditions for `facts`, merged into `previous` (lastTransitionTime kept where the status stays). */
export function restoreConditions(previous: readonly Condition[], facts: RestoreFacts, generation: number, clock: Clock): Condition[] {
  const c = (type: string, status: Condition['status'], reason: string) => cond(type, status, reason, facts.message, generation, clock);
  const reason = facts.state === 'waiting' || facts.state === 'failed' ? facts.reason
    : facts.state === 'planning' ? RESTORE_REASON.Planning
      : facts.state === 'restoring' ? RESTORE_REASON.Restoring : RESTORE_REASON.RestoreSucceeded;
  const terminal = facts.state === 'succeeded' || facts.state === 'failed';
  const next = [
    c(RESTORE_CONDITION.Ready, facts.state === 'succeeded' ? 'True' : 'False', reason),
    c(RESTORE_CONDITION.Reconciling, terminal ? 'False' : 'True', reason),
    c(RESTORE_CONDITION.Stalled, facts.state === 'failed' ? 'True' : 'False', facts.state === 'failed' ? reason : 'NotStalled'),
  ];
  return next.reduce<Condition[]>((acc, n) => setCondition(acc, n), previous.filter((p) => Object.values(RESTORE_CONDITION).includes(p.type as never)));
}
