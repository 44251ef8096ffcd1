/**
 * A restore applied straight to a server, with no file written (`restore --apply-host …` without --out): plan,
 * verify every planned object in memory (verify-first.ts), then apply the verified range in the chosen mode.
 *
 * - `replication`: the target's own replication applier, fed by this process (apply-replication.ts).
 * - `session`: one client session fed by mysqlbinlog/mariadb-binlog reading stdin (apply-stream.ts).
 * - `auto` (the default): replication where it can apply these binlogs (MariaDB binlogs, not encrypted),
 *   else session; and session when the replication apply fails before the target applied anything (the target
 *   refuses it: not MariaDB, the binlogs' server id, log_slave_updates OFF, filters; or its replica cannot reach
 *   this process). Replication applied the bench's OLTP series 1.7-12.6x (median 4x) faster than a session
 *   (docs/PERFORMANCE.md §8), with the same checks of the result.
 */
import { ArchiverError } from '../errors.ts';
import { BatchKeys } from '../keys/batch-keys.ts';
import { type Logger, silentLogger } from '../logger.ts';
import { type ReplicationApplySettings, applyThroughReplication, assertReplicable } from './apply-replication.ts';
import { applyStreamedSession } from './apply-stream.ts';
import type { RestorePlan } from './plan.ts';
import { type RangeSummary, rangeSummary } from './plan-run.ts';
import { nothingApplied } from './replica-control.ts';
import type { DecodeContext } from './restore-file.ts';
import { type RestoreOptions, prepareRestore } from './restore-run.ts';
import { type VerifiedPlan, verifyPlanned } from './verify-first.ts';

export const APPLY_MODES = ['auto', 'session', 'replication'] as const;
export type ApplyMode = (typeof APPLY_MODES)[number];

export interface ApplyRunOptions extends Omit<RestoreOptions, 'out' | 'apply'>, Omit<ReplicationApplySettings, 'signal'> {
  mode: ApplyMode;
}

export interface ApplySummary extends RangeSummary {
  source: string;
  /** The mode that applied (or would have: nothing to apply), and why `auto` chose it. */
  applyMode: 'session' | 'replication';
  applyModeReason: string;
  appliedTo: string | null;
  /** The target's executed GTID position after the apply (null: a session apply that could not be checked). */
  executedGtids: string | null;
  /** How the result was checked on the target. */
  applyCheck: string | null;
  /** Events sent to the target's replica (replication mode). */
  events: number;
  verifyMs: number;
  applyMs: number;
  durationMs: number;
}

function summaryOf(source: string, plan: RestorePlan, verified: VerifiedPlan): ApplySummary {
  return {
    source, applyMode: 'session', applyModeReason: '', appliedTo: null, ...rangeSummary(plan, verified.bounds),
    executedGtids: null, applyCheck: null, events: 0, verifyMs: 0, applyMs: 0, durationMs: 0,
  };
}

/** Why `auto` does not use the replication applier for these binlogs (null: it does). */
function replicationUnfit(plan: RestorePlan, verified: VerifiedPlan, mode: ApplyRunOptions['mode']): string | null {
  if (mode === 'auto' && plan.files[0]?.source.flavor === 'mysql') {
    // Built from MySQL's documented protocol, but no MySQL server runs where this project is tested: opt-in only.
    return 'these are MySQL binlogs, and auto uses the replication applier for MariaDB ones only (ask for MySQL\'s with --apply-mode replication: README, restore)';
  }
  try {
    assertReplicable(plan, verified);
    return null;
  } catch (err) {
    if (err instanceof ArchiverError) return err.message;
    throw err;
  }
}

interface Run {
  options: ApplyRunOptions;
  ctx: DecodeContext;
  plan: RestorePlan;
  verified: VerifiedPlan;
  summary: ApplySummary;
  logger: Logger;
}

/** Tries the replication applier; true if it applied, false if `auto` should fall back to a session (reason set). */
async function tryReplication(r: Run): Promise<boolean> {
  const { options, summary } = r;
  const unfit = replicationUnfit(r.plan, r.verified, options.mode);
  if (unfit !== null) {
    if (options.mode === 'replication') assertReplicable(r.plan, r.verified);
    summary.applyModeReason = `auto: session, since ${unfit}`;
    return false;
  }
  try {
    const done = await applyThroughReplication({ ...options, ...(options.signal === undefined ? {} : { signal: options.signal }) }, r.ctx, r.plan, r.verified, r.logger);
    Object.assign(summary, { applyMode: 'replication', appliedTo: done.appliedTo, executedGtids: done.executedGtids, events: done.events });
    summary.applyCheck = `${done.executedGtids}: every replayed transaction and nothing past the target`;
    summary.applyModeReason ||= 'auto: replication, the target\'s parallel replication applier';
    return true;
  } catch (err) {
    if (options.mode !== 'auto' || !nothingApplied(err)) throw err;
    summary.applyModeReason = `auto: session, since the replication apply could not start (nothing was applied): ${(err as Error).message}`;
    r.logger.log('warn', 'Falling back to a session apply', { reason: (err as Error).message });
    return false;
  }
}

async function applyVerified(r: Run, clock: () => Date): Promise<void> {
  const { options, summary } = r;
  if (options.mode === 'replication') summary.applyModeReason = 'replication: as asked (--apply-mode replication)';
  if (options.mode !== 'session' && await tryReplication(r)) return;
  if (options.mode === 'session') summary.applyModeReason = 'session: as asked (--apply-mode session)';
  summary.applyMode = 'session';
  const done = await applyStreamedSession({ ...options, ...(options.signal === undefined ? {} : { signal: options.signal }) }, r.ctx, r.plan, r.verified, summary.source, clock);
  Object.assign(summary, done);
}

export async function runApply(options: ApplyRunOptions): Promise<ApplySummary> {
  const started = Date.now();
  const logger = (options.logger ?? silentLogger).child({ store: options.store.url });
  const { source, entries, plan } = await prepareRestore(options);
  const keys = new BatchKeys({ keyUrl: options.keyUrl, ...(options.keyProvider === undefined ? {} : { provider: options.keyProvider }) });
  try {
    const ctx: DecodeContext = { store: options.store, keys, ...(options.signal === undefined ? {} : { signal: options.signal }) };
    const verified = await verifyPlanned(ctx, plan, entries);
    const summary = summaryOf(source, plan, verified);
    summary.verifyMs = Date.now() - started;
    logger.log('info', 'Verified the binlogs to apply', { files: plan.files.length, ms: summary.verifyMs, targetReached: verified.bounds.reached });
    if (verified.bounds.apply) {
      const applyStarted = Date.now();
      await applyVerified({ options, ctx, plan, verified, summary, logger }, options.clock ?? (() => new Date()));
      summary.applyMs = Date.now() - applyStarted;
      logger.log('info', 'Applied restore', { server: summary.appliedTo, mode: summary.applyMode, ms: summary.applyMs, executedGtids: summary.executedGtids });
    } else {
      summary.applyModeReason = 'nothing to apply';
    }
    summary.durationMs = Date.now() - started;
    return summary;
  } finally {
    keys.dispose();
  }
}
