/**
 * Phases 1 and 2 of a policy reconcile. Observe: from the caches, the agents and (optionally) the store, what
 * each selected pod looks like (its Jobs and their reports, its agent's view, the store index, whether a Job can
 * be built for it). Compute: the status those observations give, against the freshest stored policy. No writes.
 */
import { applyDefaults } from '../api/defaults.ts';
import { policySpec } from '../api/policy-spec.ts';
import { SOURCES_MAX } from '../api/policy-status.ts';
import type { ResolvedPolicySpec } from '../api/types.ts';
import { ArchiverError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { buildArchiveJob } from '../specs/archive-job.ts';
import { LABEL } from '../specs/labels.ts';
import { sourceName } from '../specs/names.ts';
import { storeUrl } from '../specs/urls.ts';
import type { AgentView } from './agent-watch.ts';
import { type JobView, jobView, ownerPolicy } from './jobs.ts';
import type { Pod, Policy } from './kube/resources.ts';
import type { PolicyContext } from './policy-context.ts';
import { type PolicyComputed, type SourceInput, computePolicy } from './policy-state.ts';
import { matchesSelector } from './selector.ts';

export interface PolicyObservation {
  /** The policy the observation was made for (its generation is the one the status describes). */
  policy: Policy;
  spec: ResolvedPolicySpec;
  /** Selected pods, by name, at most SOURCES_MAX. */
  sourcePods: Pod[];
  url: string;
  inputs: SourceInput[];
}

export function isJobPod(pod: Pod): boolean {
  return pod.metadata?.labels?.[LABEL.component] === 'archive' && pod.metadata.labels[LABEL.managedBy] === 'binlog-archiver-operator';
}

/** The MySQL pods a policy selects (never its own Job pods, never pods being deleted). */
export function selectedPods(policy: Policy, pods: readonly Pod[]): Pod[] {
  const selector = policy.spec.source.selector;
  return pods.filter((p) => !isJobPod(p) && p.metadata?.deletionTimestamp === undefined && matchesSelector(selector, p.metadata?.labels))
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

/** The policy's archive Jobs in the cache (its controller reference, this uid), oldest first, with their reports. */
export function jobsOf(ctx: PolicyContext, policy: Policy): JobView[] {
  const key = `${policy.metadata.namespace}/${policy.metadata.name}`;
  const uid = policy.metadata.uid;
  return ctx.jobs.list(policy.metadata.namespace)
    .filter((j) => ownerPolicy(j) === key && (uid === undefined || j.metadata?.ownerReferences?.some((r) => r.uid === uid) === true))
    .map((j) => {
      const jobUid = j.metadata?.uid ?? '';
      const view = jobView(j, ctx.jobPods(policy.metadata.namespace, j.metadata?.name ?? ''), ctx.memory.reports.get(jobUid));
      if (view.report !== undefined && view.phase !== 'Running') ctx.memory.reports.set(jobUid, view.report);
      if (view.reported) ctx.memory.reported.delete(jobUid);
      return view;
    })
    .sort((a, b) => a.created - b.created || a.name.localeCompare(b.name));
}

function agentOf(ctx: PolicyContext, podKey: string): AgentView {
  const view = ctx.agents(podKey);
  if (view !== undefined) {
    ctx.memory.noAgentSince.delete(podKey);
    return view;
  }
  // No address (no IP yet, not Running): silent since the controller first saw it so.
  let since = ctx.memory.noAgentSince.get(podKey);
  if (since === undefined) {
    since = ctx.timers.nowMs();
    ctx.memory.noAgentSince.set(podKey, since);
  }
  return { url: '', watchedSince: since, errorSince: since, error: 'the pod has no IP address or is not Running' };
}

/** Why no archive Job can be built for the pod (the builder refuses it), or undefined. */
function unarchivable(ctx: PolicyContext, policy: Policy, pod: Pod): string | undefined {
  try {
    buildArchiveJob(policy, pod, { image: ctx.settings.image, trigger: 'check', correlationId: 'check' });
    return undefined;
  } catch (err) {
    if (err instanceof ArchiverError && err.code === 'EBADINPUT') return err.message;
    throw err;
  }
}

export async function observePolicy(ctx: PolicyContext, policy: Policy, log: Logger): Promise<PolicyObservation> {
  const { namespace } = policy.metadata;
  const spec = applyDefaults(policySpec, policy.spec);
  const pods = selectedPods(policy, ctx.pods.list(namespace));
  if (pods.length > SOURCES_MAX) log.log('warn', 'More pods match than a policy reports; the first ones by name are archived', { matching: pods.length, max: SOURCES_MAX });
  const sourcePods = pods.slice(0, SOURCES_MAX);
  const jobs = jobsOf(ctx, policy);
  const url = storeUrl(spec.storage);
  // Store views: refreshed for sources whose Job finished since it was last reported.
  const inputs = await Promise.all(sourcePods.map(async (pod): Promise<SourceInput> => {
    const podName = pod.metadata?.name ?? '';
    const server = sourceName(namespace, podName);
    const podJobs = jobs.filter((j) => j.pod === podName);
    if (ctx.store !== undefined && podJobs.some((j) => j.phase !== 'Running' && !j.reported)) ctx.store.invalidate(url, server);
    const index = ctx.store === undefined ? undefined : await ctx.store.read(url, server);
    return { pod: podName, server, jobs: podJobs, agent: agentOf(ctx, `${namespace}/${podName}`), index, unarchivable: unarchivable(ctx, policy, pod) };
  }));
  return { policy, spec, sourcePods, url, inputs };
}

/** The status the observation gives, against `current` (the freshest stored policy: its previous status). */
export function computeStatus(ctx: PolicyContext, obs: PolicyObservation, current: Policy): PolicyComputed {
  const { spec } = obs;
  return computePolicy({
    // The status of a fresher object read after a conflict still describes the spec observed: its generation.
    generation: obs.policy.metadata.generation ?? 0,
    suspended: spec.suspend,
    expireLogsSeconds: spec.purgeRisk.expireLogsSeconds,
    purgeThresholdSeconds: spec.purgeRisk.thresholdSeconds,
    sources: obs.inputs.map((i) => ({ ...i, previous: current.status?.sources?.find((s) => s.pod === i.pod) })),
    previous: current.status,
    clock: ctx.timers,
    migration: spec.migration !== undefined,
  });
}
