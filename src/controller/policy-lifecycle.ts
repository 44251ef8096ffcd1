/**
 * The scheduled verify and expire CronJobs of a policy (spec.verification, spec.retention), in the phases of a
 * policy reconcile. Observe: the finished Jobs of those CronJobs (listed from the API server, only when the policy
 * asks for a task) with their containers' termination messages from the pod cache. Compute: their reports folded
 * into status.verification / status.retention, oldest first, and condition ArchiveVerified. Act: the CronJobs
 * created, patched (spec changed, or a new lastVerifiedTime for scope recent) or deleted, and each finished Job's
 * metrics recorded once (then the `reported` annotation on it).
 */
import { archiveVerifiedCondition, setCondition } from '../api/conditions.ts';
import type { BinlogArchivePolicyStatus, Condition, ResolvedPolicySpec } from '../api/types.ts';
import type { Logger } from '../logger.ts';
import { ANNOTATION, LABEL } from '../specs/labels.ts';
import { type LifecycleTask, buildLifecycleCronJob } from '../specs/lifecycle-cronjob.ts';
import { labelValue, lifecycleCronJobName } from '../specs/names.ts';
import { terminatedContainer } from './job-result.ts';
import { JOB_NAME_LABELS, REPORTED_ANNOTATION, jobPhase } from './jobs.ts';
import type { Job, Policy } from './kube/resources.ts';
import { type FinishedRun, recordRunMetrics, retentionAfter, verificationAfter } from './lifecycle-status.ts';
import { type PolicyContext, SUMMARY_FILE } from './policy-context.ts';

const TASKS: readonly LifecycleTask[] = ['verify', 'expire'];
/** While a policy has scheduled tasks, how often the controller looks for their finished Jobs (no Job informer). */
export const LIFECYCLE_POLL_MS = 30_000;

export interface LifecycleRun extends FinishedRun {
  task: LifecycleTask;
  uid: string;
  reported: boolean;
}

export function tasksOf(spec: ResolvedPolicySpec): LifecycleTask[] {
  return TASKS.filter((t) => (t === 'verify' ? spec.verification : spec.retention) !== undefined);
}

function finishedAt(job: Job): string {
  const failed = job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True')?.lastTransitionTime;
  const t = job.status?.completionTime ?? failed ?? job.metadata?.creationTimestamp;
  return t === undefined ? new Date(0).toISOString() : new Date(t).toISOString();
}

/** The finished Jobs of the policy's lifecycle CronJobs, oldest first. */
export async function observeLifecycle(ctx: PolicyContext, policy: Policy, spec: ResolvedPolicySpec): Promise<LifecycleRun[]> {
  const tasks = tasksOf(spec);
  if (tasks.length === 0) return [];
  const { namespace, name } = policy.metadata;
  const selector = `${LABEL.component} in (verify,expire),${LABEL.policy}=${labelValue(name)},${LABEL.managedBy}=binlog-archiver-operator`;
  const jobs = await ctx.kinds.jobs.list(namespace, selector);
  const pods = ctx.pods.list(namespace);
  const runs: LifecycleRun[] = [];
  for (const job of jobs) {
    const { uid, name: jobName, ownerReferences, annotations } = job.metadata ?? {};
    if (uid === undefined || jobName === undefined) continue;
    const task = tasks.find((t) => ownerReferences?.some((r) => r.kind === 'CronJob' && r.name === lifecycleCronJobName(name, t)) === true);
    const phase = jobPhase(job);
    if (task === undefined || phase === 'Running') continue;
    const own = pods.filter((p) => JOB_NAME_LABELS.some((l) => p.metadata?.labels?.[l] === jobName));
    runs.push({
      task, uid, jobName, phase, finishedAt: finishedAt(job),
      message: terminatedContainer(own, task)?.message, reported: annotations?.[REPORTED_ANNOTATION] !== undefined,
    });
  }
  return runs.sort((a, b) => Date.parse(a.finishedAt) - Date.parse(b.finishedAt) || a.jobName.localeCompare(b.jobName));
}

/** The status with the lifecycle runs folded in (idempotent: the same runs give the same status). */
export function withLifecycle(status: BinlogArchivePolicyStatus, spec: ResolvedPolicySpec, runs: readonly LifecycleRun[], previous: BinlogArchivePolicyStatus | undefined,
  ctx: { generation: number; clock: { now(): Date } }): BinlogArchivePolicyStatus {
  let verification = spec.verification === undefined ? undefined : previous?.verification;
  let retention = spec.retention === undefined ? undefined : previous?.retention;
  for (const run of runs) {
    if (run.task === 'verify') verification = verificationAfter(verification, run);
    else retention = retentionAfter(retention, run);
  }
  let conditions: Condition[] = (status.conditions ?? []).filter((c) => c.type !== 'ArchiveVerified');
  if (spec.verification !== undefined) conditions = setCondition(status.conditions ?? [], archiveVerifiedCondition(verification, ctx));
  return { ...status, conditions, ...(verification === undefined ? {} : { verification }), ...(retention === undefined ? {} : { retention }) };
}

/** Creates, patches or deletes the CronJob of each task; records each finished Job's metrics once. */
export async function actLifecycle(ctx: PolicyContext, policy: Policy, spec: ResolvedPolicySpec, runs: readonly LifecycleRun[], log: Logger): Promise<number | undefined> {
  const { namespace, name } = policy.metadata;
  const verifiedUntil = policy.status?.verification?.lastVerifiedTime;
  const generation = policy.metadata.generation ?? 0;
  const tasks = tasksOf(spec);
  const memo = policy.metadata.uid ?? `${namespace}/${name}`;
  // Nothing asked for and nothing found at this generation: no lookups on every reconcile of every policy.
  if (tasks.length === 0 && ctx.memory.noLifecycle.get(memo) === generation) return undefined;
  for (const task of TASKS) {
    const cronName = lifecycleCronJobName(name, task);
    const desired = buildLifecycleCronJob(policy, task, { image: ctx.settings.image, summaryFile: SUMMARY_FILE, ...(verifiedUntil === undefined ? {} : { verifiedUntil }) });
    const existing = await ctx.kinds.cronJobs.get(namespace, cronName);
    if (desired === undefined) {
      if (existing !== undefined && await ctx.kinds.cronJobs.delete(namespace, cronName, { propagationPolicy: 'Background' })) log.log('info', 'Deleted a scheduled CronJob the policy no longer asks for', { cronJob: cronName });
    } else if (existing === undefined) {
      await ctx.kinds.cronJobs.create(desired, namespace);
      log.log('info', 'Created scheduled CronJob', { cronJob: cronName, schedule: desired.spec?.schedule });
    } else if (JSON.stringify(existing.spec?.jobTemplate.spec?.template.spec?.containers[0]?.args) !== JSON.stringify(desired.spec?.jobTemplate.spec?.template.spec?.containers[0]?.args)
      || existing.spec?.schedule !== desired.spec?.schedule || existing.spec?.suspend !== desired.spec?.suspend
      || existing.metadata?.annotations?.[ANNOTATION.generation] !== desired.metadata?.annotations?.[ANNOTATION.generation]) {
      await ctx.kinds.cronJobs.patch(namespace, cronName, { metadata: { annotations: desired.metadata?.annotations }, spec: desired.spec });
      log.log('info', 'Updated scheduled CronJob', { cronJob: cronName, schedule: desired.spec?.schedule });
    }
  }
  for (const run of runs.filter((r) => !r.reported && !ctx.memory.reported.has(r.uid))) {
    recordRunMetrics(ctx.metrics, namespace, name, run.task === 'verify' ? { verification: verificationAfter(undefined, run) } : { retention: retentionAfter(undefined, run) });
    ctx.memory.reported.add(run.uid);
    await ctx.kinds.jobs.patch(namespace, run.jobName, { metadata: { annotations: { [REPORTED_ANNOTATION]: run.phase } } });
    log.log(run.phase === 'Succeeded' ? 'info' : 'warn', `Scheduled ${run.task} Job finished`, { job: run.jobName, result: run.phase });
  }
  if (tasks.length === 0) ctx.memory.noLifecycle.set(memo, generation);
  else ctx.memory.noLifecycle.delete(memo);
  if (policy.status?.verification?.lastVerifiedTime !== undefined) ctx.metrics.setLastVerified(namespace, name, Date.parse(policy.status.verification.lastVerifiedTime));
  return tasks.length === 0 ? undefined : LIFECYCLE_POLL_MS;
}
