/**
 * Phase 4 of a policy reconcile: tell people and programs what the new status means. Events for what changed
 * (gaps, purge risk, recoveries), metrics per source and per condition, and for each finished archive Job not yet
 * reported: its event, its metrics, then the `reported` annotation on the Job (so a restart reports it once).
 */
import type { BinlogArchivePolicyStatus } from '../api/types.ts';
import type { RunReport } from '../contracts/run-report.ts';
import type { Logger } from '../logger.ts';
import { sourceName } from '../specs/names.ts';
import { type JobView, REPORTED_ANNOTATION, failureCode, failureMessage } from './jobs.ts';
import type { Policy } from './kube/resources.ts';
import { type PolicyContext, podRef, policyRef } from './policy-context.ts';
import type { PolicyObservation } from './policy-observe.ts';
import { type PolicyComputed, notices } from './policy-state.ts';

function mib(n: number): string {
  return n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`;
}

function archivedNote(job: JobView, report: RunReport, namespace: string): string {
  const n = report.archived + report.adopted;
  const range = report.first === null || report.last === null ? '' : report.first.binlog === report.last.binlog ? ` (${report.first.binlog}` : ` (${report.first.binlog} to ${report.last.binlog}`;
  return `Archived ${n} binlog${n === 1 ? '' : 's'} of ${namespace}/${job.pod}${range}${range === '' ? ' (' : ', '}${mib(report.archivedBytes)}) in ${(report.durationMs / 1000).toFixed(1)}s`;
}

/** Events for the differences between the previous and the new status. */
export function emitNotices(ctx: PolicyContext, obs: PolicyObservation, policy: Policy, previous: BinlogArchivePolicyStatus | undefined, computed: PolicyComputed): void {
  const { namespace, name } = policy.metadata;
  for (const n of notices(namespace, previous, computed, obs.spec.purgeRisk.thresholdSeconds)) {
    if (n.reason === 'BinlogGapDetected') ctx.metrics.gapsDetected.inc({ namespace, policy: name, source: sourceName(namespace, n.pod ?? '') });
    const pod = n.pod === undefined ? undefined : obs.sourcePods.find((p) => p.metadata?.name === n.pod);
    ctx.events.emit({ regarding: policyRef(policy), related: pod === undefined ? undefined : podRef(namespace, n.pod ?? '', pod.metadata?.uid), type: n.type, reason: n.reason, action: n.action, note: n.note });
  }
}

/** Gauges per source and per condition; series of sources that went away are removed. */
export function setPolicyMetrics(ctx: PolicyContext, policy: Policy, computed: PolicyComputed): void {
  const m = ctx.metrics;
  const { namespace, name } = policy.metadata;
  const key = `${namespace}/${name}`;
  const now = new Set<string>();
  for (const s of computed.sources) {
    const labels = { namespace, policy: name, source: s.input.server };
    now.add(s.input.server);
    m.lagSeconds.set(labels, s.status.lagSeconds ?? 0);
    m.pendingBinlogs.set(labels, s.status.pendingBinlogs ?? 0);
    if (s.status.secondsUntilPurge === undefined) m.secondsUntilPurge.remove(labels);
    else m.secondsUntilPurge.set(labels, s.status.secondsUntilPurge);
    m.gaps.set(labels, s.archived.gaps);
    const ok = s.lastSuccess?.completionTime;
    if (ok !== undefined) m.lastSuccess.set(labels, Date.parse(ok) / 1000);
  }
  for (const old of ctx.memory.sourceSeries.get(key) ?? []) if (!now.has(old)) m.forgetSource({ namespace, policy: name, source: old });
  ctx.memory.sourceSeries.set(key, now);
  for (const c of computed.status.conditions ?? []) m.setCondition(namespace, name, c.type, c.status, c.reason);
  m.dependencyUp.set({ namespace, policy: name, dependency: 'storage' }, computed.facts.storage.ok ? 1 : 0);
  m.dependencyUp.set({ namespace, policy: name, dependency: 'keyProvider' }, computed.facts.keyProvider.ok ? 1 : 0);
}

function reportJob(ctx: PolicyContext, policy: Policy, server: string, job: JobView, log: Logger): void {
  const { namespace, name } = policy.metadata;
  const labels = { namespace, policy: name, source: server };
  const jlog = log.child({ job: job.name, correlationId: job.correlationId, source: server });
  const seconds = job.startTime !== undefined && job.completionTime !== undefined ? (Date.parse(job.completionTime) - Date.parse(job.startTime)) / 1000 : undefined;
  if (seconds !== undefined && seconds >= 0) ctx.metrics.jobDuration.observe({ namespace, policy: name, result: job.phase }, seconds);
  const related = podRef(namespace, job.pod);
  for (const [reason, n] of Object.entries(job.report?.storeRetries ?? {})) {
    if (Number.isSafeInteger(n) && n > 0) ctx.metrics.storeRetries.inc({ ...labels, reason }, n);
  }
  if (job.phase === 'Succeeded') {
    const r = job.report;
    if (r !== undefined && r.archived + r.adopted > 0) {
      ctx.metrics.binlogsArchived.inc(labels, r.archived + r.adopted);
      ctx.metrics.bytesArchived.inc(labels, r.archivedBytes);
      ctx.events.emit({ regarding: policyRef(policy), related, type: 'Normal', reason: 'Archived', action: 'Archive', note: archivedNote(job, r, namespace) });
    }
    jlog.log('info', 'Archive Job succeeded', { archived: r?.archived, adopted: r?.adopted, skipped: r?.skipped, bytes: r?.archivedBytes, last: r?.newest?.binlog, gaps: r?.gaps });
    return;
  }
  const code = failureCode(job);
  ctx.metrics.archiveFailures.inc({ ...labels, reason: code });
  ctx.events.emit({
    regarding: policyRef(policy), related, type: 'Warning', reason: 'ArchiveFailed', action: 'Archive',
    note: `Archive Job ${job.name} of ${namespace}/${job.pod} failed: ${failureMessage(job)}`,
  });
  jlog.log('warn', 'Archive Job failed', { code, error: failureMessage(job) });
}

/**
 * Reports each Job that finished and was not reported yet, then marks it reported. Returns true when a finished
 * Job waits for its pod's termination message (the pod watch may lag the Job's).
 */
export async function reportFinishedJobs(ctx: PolicyContext, policy: Policy, computed: PolicyComputed, log: Logger): Promise<boolean> {
  let later = false;
  for (const s of computed.sources) {
    for (const job of s.input.jobs) {
      if (job.phase === 'Running' || job.reported || ctx.memory.reported.has(job.uid)) continue;
      const finishedMs = Date.parse(job.completionTime ?? '') || job.created;
      if (job.report === undefined && job.pods > 0 && ctx.timers.nowMs() - finishedMs < 60_000) {
        later = true;
        continue;
      }
      reportJob(ctx, policy, s.input.server, job, log);
      ctx.memory.reported.add(job.uid);
      await ctx.kinds.jobs.patch(policy.metadata.namespace, job.name, { metadata: { annotations: { [REPORTED_ANNOTATION]: job.phase } } });
    }
  }
  return later;
}
