/** Reading archive Jobs: which policy and pod a Job is for, whether it finished, and its run report. */
import { ANNOTATION, LABEL } from '../specs/labels.ts';
import { SPEC_DEFAULTS } from '../specs/defaults.ts';
import { jobResult } from './job-result.ts';
import type { Job, Pod } from './kube/resources.ts';
import { type RunReport, parseTerminationMessage } from '../contracts/run-report.ts';

export const JOB_NAME_LABELS = ['batch.kubernetes.io/job-name', 'job-name'] as const;
/** Set on a Job once its result reached the policy status, events and metrics (so a restart reports it once). */
export const REPORTED_ANNOTATION = 'binlog.archiver.dev/reported';

export type JobPhase = 'Running' | 'Succeeded' | 'Failed';

export interface JobView {
  name: string;
  uid: string;
  namespace: string;
  policy: string;
  pod: string;
  trigger: string;
  correlationId: string;
  phase: JobPhase;
  created: number;
  startTime?: string;
  completionTime?: string;
  /** From the pod's termination message; undefined while running or when the pod is gone. */
  report?: RunReport;
  /** The Job's Failed condition, when it failed: reason and message. */
  failure?: string;
  reported: boolean;
  /** Pods of the Job in the cache (a finished Job whose pod shows no terminated state yet: the pod update lags). */
  pods: number;
}

function time(t: string | Date | undefined): string | undefined {
  if (t === undefined) return undefined;
  return typeof t === 'string' ? t : t.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function isArchiveJob(job: Job): boolean {
  return job.metadata?.labels?.[LABEL.component] === 'archive' && job.metadata.labels[LABEL.managedBy] === 'binlog-archiver-operator';
}

export function jobPhase(job: Job): JobPhase {
  for (const c of job.status?.conditions ?? []) {
    if (c.status !== 'True') continue;
    if (c.type === 'Complete') return 'Succeeded';
    if (c.type === 'Failed') return 'Failed';
  }
  return 'Running';
}

/** The policy (namespace/name) that controls the Job, from its controller owner reference. */
export function ownerPolicy(job: { metadata?: Job['metadata'] }): string | undefined {
  const ref = job.metadata?.ownerReferences?.find((r) => r.controller === true && r.kind === 'BinlogArchivePolicy');
  return ref === undefined ? undefined : `${job.metadata?.namespace ?? ''}/${ref.name}`;
}

/** The job name a Job pod belongs to. */
export function jobNameOfPod(pod: Pod): string | undefined {
  for (const l of JOB_NAME_LABELS) {
    const v = pod.metadata?.labels?.[l];
    if (v !== undefined) return v;
  }
  return undefined;
}

/** The run report of a Job: from the newest of its pods whose archive container terminated. */
export function reportFromPods(pods: readonly Pod[]): RunReport | undefined {
  return jobResult(pods, SPEC_DEFAULTS.archiveContainer, parseTerminationMessage);
}

export function jobView(job: Job, pods: readonly Pod[], cachedReport: RunReport | undefined): JobView {
  const a = job.metadata?.annotations ?? {};
  const phase = jobPhase(job);
  const failed = job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
  const report = phase === 'Running' ? undefined : (cachedReport ?? reportFromPods(pods));
  const startTime = time(job.status?.startTime);
  const completionTime = time(job.status?.completionTime) ?? (failed === undefined ? undefined : time(failed.lastTransitionTime));
  return {
    name: job.metadata?.name ?? '',
    uid: job.metadata?.uid ?? '',
    namespace: job.metadata?.namespace ?? '',
    policy: a[ANNOTATION.policy] ?? '',
    pod: a[ANNOTATION.sourcePod] ?? '',
    trigger: a[ANNOTATION.trigger] ?? '',
    correlationId: a[ANNOTATION.correlationId] ?? '',
    phase,
    created: Date.parse(time(job.metadata?.creationTimestamp) ?? '') || 0,
    ...(startTime === undefined ? {} : { startTime }),
    ...(completionTime === undefined ? {} : { completionTime }),
    ...(report === undefined ? {} : { report }),
    ...(failed === undefined ? {} : { failure: `${failed.reason ?? 'Failed'}: ${failed.message ?? ''}`.trim() }),
    reported: a[REPORTED_ANNOTATION] !== undefined,
    pods: pods.length,
  };
}

/** Why a finished Job failed, for people: the report's error, else the Job's condition. */
export function failureMessage(job: JobView): string {
  const e = job.report?.error;
  if (e !== undefined && e !== null) return `${e.code}: ${e.message}`;
  return job.failure ?? 'the Job failed';
}

/** The error code of a failed run (EKEYUNAVAILABLE, ESTORE, ...), or JobFailed when the report is missing. */
export function failureCode(job: JobView): string {
  return job.report?.error?.code ?? 'JobFailed';
}
