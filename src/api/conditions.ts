/**
 * Condition builders: one pure function per condition type, from facts the controller observed to a
 * metav1.Condition. Positive polarity (True is good); the reason names the one most important cause, in a fixed
 * priority order, so the same facts always give the same condition. Time comes from a clock seam, and
 * `setCondition` keeps lastTransitionTime when the status did not change (Kubernetes API conventions).
 */
import type { Condition } from './types.ts';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export const CONDITION = {
  Ready: 'Ready',
  ContinuousArchiving: 'ContinuousArchiving',
  Planned: 'Planned',
  Complete: 'Complete',
  Reconciling: 'Reconciling',
  Stalled: 'Stalled',
  MigrationParity: 'MigrationParity',
  ArchiveVerified: 'ArchiveVerified',
} as const;

export const REASON = {
  ArchivingSucceeded: 'ArchivingSucceeded',
  AwaitingFirstArchive: 'AwaitingFirstArchive',
  BinlogGapDetected: 'BinlogGapDetected',
  AtRiskOfPurge: 'AtRiskOfPurge',
  KeyProviderUnavailable: 'KeyProviderUnavailable',
  StorageUnavailable: 'StorageUnavailable',
  Suspended: 'Suspended',
  NoSourcePods: 'NoSourcePods',
  SourceNotArchivable: 'SourceNotArchivable',
  ArchiveJobFailed: 'ArchiveJobFailed',
  CatchingUp: 'CatchingUp',
  KeyRefused: 'KeyRefused',
  Planning: 'Planning',
  PlanReady: 'PlanReady',
  GapsAccepted: 'GapsAccepted',
  NothingToRestore: 'NothingToRestore',
  PolicyNotFound: 'PolicyNotFound',
  Restoring: 'Restoring',
  RestoreSucceeded: 'RestoreSucceeded',
  RestoreFailed: 'RestoreFailed',
  ReadyToSwitch: 'ReadyToSwitch',
  VerifyingParity: 'VerifyingParity',
  ParityMismatch: 'ParityMismatch',
  ParityCheckFailed: 'ParityCheckFailed',
  AwaitingParityCheck: 'AwaitingParityCheck',
  VerificationSucceeded: 'VerificationSucceeded',
  VerificationProblems: 'VerificationProblems',
  VerificationFailed: 'VerificationFailed',
  AwaitingVerification: 'AwaitingVerification',
} as const;

export type Reason = (typeof REASON)[keyof typeof REASON];

/** A dependency as last probed: reachable, or why not. */
export type Probe = { ok: true } | { ok: false; message: string };

export interface SourceFacts {
  server: string;
  /** Binlogs archived so far (0: the first run has not finished). */
  archived: number;
  pendingBinlogs: number;
  lagSeconds: number;
  /** Unknown when neither the spec nor the server gave binlog_expire_logs_seconds. */
  secondsUntilPurge?: number;
  gaps: number;
  /** Set when the last Job of this source failed: its message. */
  lastRunFailure?: string;
  /** Set when the pod cannot be archived (e.g. its binlog volume is an emptyDir): why. */
  unarchivable?: string;
}

export interface PolicyFacts {
  suspended: boolean;
  storage: Probe;
  keyProvider: Probe;
  sources: readonly SourceFacts[];
  purgeThresholdSeconds: number;
  /** Set when the key provider refused the key itself (not an outage): why. No retry fixes that. */
  keyRefused?: string;
}

export interface ConditionContext {
  generation: number;
  clock: Clock;
}

function make(type: string, status: Condition['status'], reason: Reason, message: string, ctx: ConditionContext): Condition {
  return { type, status, observedGeneration: ctx.generation, lastTransitionTime: ctx.clock.now().toISOString().replace(/\.\d{3}Z$/, 'Z'), reason, message };
}

function list(items: readonly string[], max = 3): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

/** Ready: the policy can archive (dependencies reachable, sources usable, chain intact, Jobs succeeding). */
export function readyCondition(facts: PolicyFacts, ctx: ConditionContext): Condition {
  const type = CONDITION.Ready;
  if (facts.suspended) return make(type, 'False', REASON.Suspended, 'spec.suspend is true: no archive Jobs are started', ctx);
  if (!facts.storage.ok) return make(type, 'False', REASON.StorageUnavailable, `object storage is unavailable: ${facts.storage.message}`, ctx);
  if (!facts.keyProvider.ok) return make(type, 'False', REASON.KeyProviderUnavailable, `key provider is unavailable: ${facts.keyProvider.message}`, ctx);
  if (facts.sources.length === 0) return make(type, 'False', REASON.NoSourcePods, 'no pod matches spec.source.selector', ctx);
  const unusable = facts.sources.filter((s) => s.unarchivable !== undefined);
  if (unusable.length > 0) {
    return make(type, 'False', REASON.SourceNotArchivable, list(unusable.map((s) => `${s.server}: ${s.unarchivable ?? ''}`)), ctx);
  }
  const gapped = facts.sources.filter((s) => s.gaps > 0);
  if (gapped.length > 0) return make(type, 'False', REASON.BinlogGapDetected, gapMessage(gapped), ctx);
  const failed = facts.sources.filter((s) => s.lastRunFailure !== undefined);
  if (failed.length > 0) {
    return make(type, 'False', REASON.ArchiveJobFailed, `the last archive Job failed for ${list(failed.map((s) => `${s.server} (${s.lastRunFailure ?? ''})`))}`, ctx);
  }
  if (facts.sources.every((s) => s.archived === 0)) return make(type, 'True', REASON.AwaitingFirstArchive, `${facts.sources.length} source(s) found; no binlog archived yet`, ctx);
  return make(type, 'True', REASON.ArchivingSucceeded, `${facts.sources.length} source(s) archiving`, ctx);
}

function gapMessage(gapped: readonly SourceFacts[]): string {
  return `gaps in the archived binlog chain of ${list(gapped.map((s) => `${s.server} (${s.gaps})`))}: a restore across a gap misses transactions; take a new base backup`;
}

/** ContinuousArchiving: every source keeps up (no gap, nothing close to being purged unarchived, Jobs succeed). */
export function continuousArchivingCondition(facts: PolicyFacts, ctx: ConditionContext): Condition {
  const type = CONDITION.ContinuousArchiving;
  if (facts.suspended) return make(type, 'False', REASON.Suspended, 'spec.suspend is true: rotated binlogs are not archived', ctx);
  const gapped = facts.sources.filter((s) => s.gaps > 0);
  if (gapped.length > 0) return make(type, 'False', REASON.BinlogGapDetected, gapMessage(gapped), ctx);
  const atRisk = facts.sources.filter((s) => s.pendingBinlogs > 0 && s.secondsUntilPurge !== undefined && s.secondsUntilPurge <= facts.purgeThresholdSeconds);
  if (atRisk.length > 0) {
    const worst = Math.min(...atRisk.map((s) => s.secondsUntilPurge ?? 0));
    return make(type, 'False', REASON.AtRiskOfPurge,
      `the oldest unarchived binlog of ${list(atRisk.map((s) => s.server))} may be purged in ${Math.max(0, worst)}s (threshold ${facts.purgeThresholdSeconds}s): fix archiving or raise binlog_expire_logs_seconds`, ctx);
  }
  if (!facts.storage.ok) return make(type, 'False', REASON.StorageUnavailable, `object storage is unavailable: ${facts.storage.message}`, ctx);
  if (!facts.keyProvider.ok) return make(type, 'False', REASON.KeyProviderUnavailable, `key provider is unavailable: ${facts.keyProvider.message}`, ctx);
  const failed = facts.sources.filter((s) => s.lastRunFailure !== undefined);
  if (failed.length > 0) return make(type, 'False', REASON.ArchiveJobFailed, `the last archive Job failed for ${list(failed.map((s) => s.server))}`, ctx);
  if (facts.sources.length === 0) return make(type, 'Unknown', REASON.NoSourcePods, 'no pod matches spec.source.selector', ctx);
  if (facts.sources.every((s) => s.archived === 0)) return make(type, 'Unknown', REASON.AwaitingFirstArchive, 'no binlog archived yet', ctx);
  const lag = Math.max(...facts.sources.map((s) => s.lagSeconds));
  return make(type, 'True', REASON.ArchivingSucceeded, `every source is archiving; largest lag ${lag}s`, ctx);
}

/**
 * Stalled (kstatus): the policy cannot make progress without a person — a gap in the chain, a key the provider
 * refuses, a source that cannot be archived. Outages and failed runs are retried, so they are not Stalled.
 */
export function stalledCondition(facts: PolicyFacts, ctx: ConditionContext): Condition {
  const type = CONDITION.Stalled;
  const gapped = facts.sources.filter((s) => s.gaps > 0);
  if (gapped.length > 0) return make(type, 'True', REASON.BinlogGapDetected, gapMessage(gapped), ctx);
  if (facts.keyRefused !== undefined) return make(type, 'True', REASON.KeyRefused, `the key provider refuses the key: ${facts.keyRefused}; fix spec.keyProvider or the key's policy`, ctx);
  const unusable = facts.sources.filter((s) => s.unarchivable !== undefined);
  if (unusable.length > 0) return make(type, 'True', REASON.SourceNotArchivable, list(unusable.map((s) => `${s.server}: ${s.unarchivable ?? ''}`)), ctx);
  if (facts.suspended) return make(type, 'False', REASON.Suspended, 'spec.suspend is true', ctx);
  return make(type, 'False', REASON.ArchivingSucceeded, 'nothing needs a person', ctx);
}

/** Reconciling (kstatus): the policy converges — its first archive, or rotated binlogs not archived yet. */
export function reconcilingCondition(facts: PolicyFacts, ctx: ConditionContext): Condition {
  const type = CONDITION.Reconciling;
  const stalled = stalledCondition(facts, ctx);
  if (stalled.status === 'True') return make(type, 'False', stalled.reason as Reason, 'stalled: see the Stalled condition', ctx);
  if (facts.suspended) return make(type, 'False', REASON.Suspended, 'spec.suspend is true: nothing is archived', ctx);
  if (facts.sources.length > 0 && facts.sources.every((s) => s.archived === 0)) return make(type, 'True', REASON.AwaitingFirstArchive, 'no binlog archived yet', ctx);
  const pending = facts.sources.filter((s) => s.pendingBinlogs > 0);
  if (pending.length > 0) {
    return make(type, 'True', REASON.CatchingUp, `binlogs waiting to be archived: ${list(pending.map((s) => `${s.server} (${s.pendingBinlogs})`))}`, ctx);
  }
  return make(type, 'False', REASON.ArchivingSucceeded, 'every rotated binlog is archived', ctx);
}

/** The last parity check of one source (an archive Job's report), for MigrationParity. */
export interface ParityFacts {
  server: string;
  ok: boolean;
  consecutiveMatchingCycles: number;
  /** The first problems, e.g. "differs: mysql-bin.000042". */
  detail: string | null;
  /** The check itself could not run (legacy location or passphrase unreadable). */
  error: string | null;
}

/**
 * MigrationParity (spec.migration): True with reason ReadyToSwitch once every source's newest `required` rotation
 * cycles match the legacy pipeline's; the message carries the count of consecutive verified cycles.
 */
export function migrationParityCondition(checks: readonly ParityFacts[], sources: number, required: number, ctx: ConditionContext): Condition {
  const type = CONDITION.MigrationParity;
  const failed = checks.filter((c) => c.error !== null);
  if (failed.length > 0) return make(type, 'Unknown', REASON.ParityCheckFailed, `the parity check could not run for ${list(failed.map((c) => `${c.server} (${c.error ?? ''})`))}`, ctx);
  if (checks.length === 0 || checks.length < sources) return make(type, 'Unknown', REASON.AwaitingParityCheck, 'no archive Job has compared every source with the legacy pipeline yet', ctx);
  const cycles = Math.min(...checks.map((c) => c.consecutiveMatchingCycles));
  const counted = `${cycles} consecutive verified rotation cycle(s) of ${required}`;
  const bad = checks.filter((c) => !c.ok);
  if (bad.length > 0) return make(type, 'False', REASON.ParityMismatch, `${counted}; the legacy pipeline differs: ${list(bad.map((c) => `${c.server}: ${c.detail ?? ''}`))}`, ctx);
  if (cycles >= required) return make(type, 'True', REASON.ReadyToSwitch, `${counted}: switch the restore runbook to binlog-archiver`, ctx);
  return make(type, 'False', REASON.VerifyingParity, counted, ctx);
}

/** The last scheduled verification (status.verification), for ArchiveVerified. */
export interface VerificationFacts {
  result?: 'Succeeded' | 'Failed';
  problems?: number;
  lastVerifiedTime?: string;
  message?: string;
}

/**
 * ArchiveVerified (spec.verification): True after a verify run found every decoded object as its manifest entry
 * says; False when the last run found problems (VerificationProblems) or could not run (VerificationFailed);
 * Unknown until the first run finishes.
 */
export function archiveVerifiedCondition(facts: VerificationFacts | undefined, ctx: ConditionContext): Condition {
  const type = CONDITION.ArchiveVerified;
  if (facts?.result === undefined) return make(type, 'Unknown', REASON.AwaitingVerification, 'no scheduled verification has finished yet', ctx);
  const message = facts.message ?? '';
  if (facts.result === 'Succeeded') return make(type, 'True', REASON.VerificationSucceeded, message, ctx);
  if ((facts.problems ?? 0) > 0) return make(type, 'False', REASON.VerificationProblems, `${message}; run binlog-archiver verify for the full list`, ctx);
  return make(type, 'False', REASON.VerificationFailed, message, ctx);
}

export type PlanFacts =
  | { state: 'planning' }
  | { state: 'policyNotFound'; policy: string }
  | { state: 'storageUnavailable' | 'keyProviderUnavailable'; message: string }
  | { state: 'empty'; message: string }
  | { state: 'planned'; binlogs: number; gaps: number; acceptGaps: boolean };

/** Planned (BinlogRestore): the files from the starting point to the target are known and continuous. */
export function plannedCondition(facts: PlanFacts, ctx: ConditionContext): Condition {
  const type = CONDITION.Planned;
  switch (facts.state) {
    case 'planning': return make(type, 'Unknown', REASON.Planning, 'reading the manifest and checking continuity', ctx);
    case 'policyNotFound': return make(type, 'False', REASON.PolicyNotFound, `BinlogArchivePolicy ${facts.policy} does not exist in this namespace`, ctx);
    case 'storageUnavailable': return make(type, 'False', REASON.StorageUnavailable, `object storage is unavailable: ${facts.message}`, ctx);
    case 'keyProviderUnavailable': return make(type, 'False', REASON.KeyProviderUnavailable, `key provider is unavailable: ${facts.message}`, ctx);
    case 'empty': return make(type, 'False', REASON.NothingToRestore, facts.message, ctx);
    case 'planned':
      if (facts.gaps > 0 && !facts.acceptGaps) {
        return make(type, 'False', REASON.BinlogGapDetected, `${facts.gaps} gap(s) between the starting point and the target: set spec.acceptGaps to restore anyway (transactions will be missing)`, ctx);
      }
      if (facts.gaps > 0) return make(type, 'True', REASON.GapsAccepted, `${facts.binlogs} binlog(s) planned; ${facts.gaps} gap(s) accepted by spec.acceptGaps`, ctx);
      return make(type, 'True', REASON.PlanReady, `${facts.binlogs} binlog(s) planned, continuous`, ctx);
  }
}

export type RunFacts = { state: 'running' } | { state: 'succeeded'; message: string } | { state: 'failed'; message: string };

/** Complete (BinlogRestore): the restore Job finished and wrote or applied every planned binlog. */
export function completeCondition(facts: RunFacts, ctx: ConditionContext): Condition {
  const type = CONDITION.Complete;
  switch (facts.state) {
    case 'running': return make(type, 'Unknown', REASON.Restoring, 'the restore Job is running', ctx);
    case 'succeeded': return make(type, 'True', REASON.RestoreSucceeded, facts.message, ctx);
    case 'failed': return make(type, 'False', REASON.RestoreFailed, facts.message, ctx);
  }
}

/**
 * The conditions with `next` in place of the one of its type. lastTransitionTime stays when the status is
 * unchanged: it records when the status changed, not when it was last computed.
 */
export function setCondition(conditions: readonly Condition[], next: Condition): Condition[] {
  const previous = conditions.find((c) => c.type === next.type);
  const merged = previous !== undefined && previous.status === next.status ? { ...next, lastTransitionTime: previous.lastTransitionTime } : next;
  return previous === undefined ? [...conditions, merged] : conditions.map((c) => (c.type === next.type ? merged : c));
}
