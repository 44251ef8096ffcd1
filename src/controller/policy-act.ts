/**
 * Phase 5 of a policy reconcile: act. For each source, decide whether an archive Job is due (decide.ts); create
 * it with a deterministic name unless one created earlier is not yet in the cache (expectations); and say when
 * the policy must be looked at again (the soonest of retries, status refreshes, purge risk and store checks).
 */
import { newCorrelationId } from '../contracts/ids.ts';
import type { Logger } from '../logger.ts';
import { buildArchiveJob } from '../specs/archive-job.ts';
import type { AgentView } from './agent-watch.ts';
import { decide } from './decide.ts';
import { isAlreadyExists } from './kube/client.ts';
import type { Pod, Policy } from './kube/resources.ts';
import { type PolicyContext, SUMMARY_FILE, podRef, policyRef } from './policy-context.ts';
import type { PolicyObservation } from './policy-observe.ts';
import type { PolicyComputed } from './policy-state.ts';

/** The soonest of several delays (ms); negative and undefined ones are ignored. */
export class Soonest {
  value: number | undefined;

  add(ms: number | undefined): void {
    if (ms !== undefined && ms >= 0) this.value = this.value === undefined ? ms : Math.min(this.value, ms);
  }
}

/** Creates the Job (or finds it already created under its deterministic name); returns its name. */
export async function createArchiveJob(ctx: PolicyContext, policy: Policy, pod: Pod, trigger: string, why: string, agent: AgentView | undefined, log: Logger): Promise<string> {
  const { namespace, name } = policy.metadata;
  const correlationId = newCorrelationId();
  const job = buildArchiveJob(policy, pod, { image: ctx.settings.image, trigger, correlationId, summaryFile: SUMMARY_FILE });
  const jobName = job.metadata?.name ?? '';
  const jlog = log.child({ job: jobName, correlationId, pod: pod.metadata?.name, trigger });
  try {
    await ctx.kinds.jobs.create(job, namespace);
  } catch (err) {
    if (isAlreadyExists(err)) {
      jlog.log('info', 'Archive Job already exists (created before a restart); not creating another', {});
      return jobName;
    }
    throw err;
  }
  ctx.metrics.jobsCreated.inc({ namespace, policy: name });
  if (agent?.newestClosedSeenAt !== undefined && !trigger.startsWith('schedule-')) ctx.metrics.rotationToJob.observe((ctx.timers.nowMs() - agent.newestClosedSeenAt) / 1000);
  jlog.log('info', 'Created archive Job', { why });
  ctx.events.emit({
    regarding: policyRef(policy), related: podRef(namespace, pod.metadata?.name ?? '', pod.metadata?.uid), type: 'Normal', reason: 'ArchiveJobCreated', action: 'Archive',
    note: `Created archive Job ${jobName} for ${namespace}/${pod.metadata?.name ?? ''}: ${why}`,
  });
  return jobName;
}

/** Creates the Jobs that are due; returns false when leadership was lost on the way (nothing more may be done). */
export async function createDueJobs(ctx: PolicyContext, obs: PolicyObservation, policy: Policy, computed: PolicyComputed, leading: AbortSignal, soon: Soonest, log: Logger): Promise<boolean> {
  const s = ctx.settings;
  const now = ctx.timers.nowMs();
  for (const src of computed.sources) {
    const decision = decide(src, {
      now, suspended: obs.spec.suspend, safetyIntervalMs: s.safetyIntervalMs, agentSilentAfterMs: s.agentSilentAfterMs,
      failureBackoffMs: s.failureBackoffMs, failureBackoffMaxMs: s.failureBackoffMaxMs,
    });
    if (!decision.create) {
      soon.add(decision.retryInMs);
      continue;
    }
    if (leading.aborted) return false;
    const podKey = `${policy.metadata.namespace}/${src.input.pod}`;
    const expected = ctx.memory.expected.check(podKey, src.input.jobs.map((j) => j.name), now);
    if (expected.state === 'waiting') {
      soon.add(1000);
      continue;
    }
    if (expected.state === 'seen' && src.input.jobs.some((j) => j.name === expected.name && j.phase === 'Running')) continue;
    const pod = obs.sourcePods.find((p) => p.metadata?.name === src.input.pod);
    if (pod === undefined) continue;
    const name = await createArchiveJob(ctx, policy, pod, decision.trigger, decision.why, src.input.agent, log);
    ctx.memory.expected.expect(podKey, name, now);
  }
  return true;
}

/** When to reconcile again for what changes with time alone: pending binlogs, purge risk, store checks. */
export function timeDrivenRequeue(ctx: PolicyContext, obs: PolicyObservation, computed: PolicyComputed, soon: Soonest): void {
  if (computed.sources.some((s) => s.pending.length > 0)) soon.add(ctx.settings.statusRefreshMs);
  const threshold = obs.spec.purgeRisk.thresholdSeconds;
  for (const s of computed.sources) {
    const left = s.status.secondsUntilPurge;
    if (left !== undefined && left > threshold) soon.add((left - threshold) * 1000 + 1000);
    if (ctx.store !== undefined) soon.add(ctx.store.staleInMs(obs.url, s.input.server));
  }
}
