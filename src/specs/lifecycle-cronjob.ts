/**
 * The scheduled Jobs of a policy's archive lifecycle, one CronJob per task: `verify` (spec.verification) and
 * `expire` (spec.retention). Like the archive Job: non-root on a read-only root filesystem, credentials and keys
 * as mounted files, the operator's image, and the run's compact JSON report (`--summary-file`) as the container's
 * termination message, which the controller reads from the finished Jobs. Not pinned to a node: neither task
 * reads the binlog volume. Pure: the same (policy, options) always gives the same object.
 */
import type { V1Container, V1CronJob, V1Job } from '@kubernetes/client-node';
import { applyDefaults } from '../api/defaults.ts';
import { policySpec } from '../api/policy-spec.ts';
import type { BinlogArchivePolicy, ResolvedPolicySpec } from '../api/types.ts';
import { SPEC_DEFAULTS } from './defaults.ts';
import { assembleJob, resourcesOf, tmpVolume } from './job-common.ts';
import { keyMaterial, mergeParts, storageCredentials } from './key-material.ts';
import { ANNOTATION, lifecycleLabels } from './labels.ts';
import { lifecycleCronJobName } from './names.ts';
import { containerSecurityContext } from './security.ts';
import { keyUrl, storeUrl } from './urls.ts';

export type LifecycleTask = 'verify' | 'expire';

export interface LifecycleCronJobOptions {
  /** The operator's image, used unless spec.job.image is set. */
  image: string;
  /** Where the container writes its report: /dev/termination-log, which the operator reads from the pod status. */
  summaryFile: string;
  /**
   * verify with scope `recent`: decode only what was archived since this time (status.verification.lastVerifiedTime).
   * Unset, or scope `all`: every object.
   */
  verifiedUntil?: string;
}

/** Finished Jobs kept per CronJob: enough for the controller to read the last reports and people to look. */
export const CRONJOB_HISTORY = 3;
/** A run missed by more than this (controller or cluster down) is skipped, not started late. */
export const STARTING_DEADLINE_SECONDS = 600;

function taskArgs(task: LifecycleTask, spec: ResolvedPolicySpec, options: LifecycleCronJobOptions): string[] {
  const common = ['--store', storeUrl(spec.storage), '--key', keyUrl(spec.keyProvider)];
  if (task === 'expire') {
    return ['expire', ...common, '--recovery-window', spec.retention?.recoveryWindow ?? '', '--json', '--summary-file', options.summaryFile];
  }
  const since = spec.verification?.scope === 'recent' && options.verifiedUntil !== undefined ? ['--since', options.verifiedUntil] : [];
  return ['verify', ...common, ...since, '--json', '--summary-file', options.summaryFile];
}

function schedule(task: LifecycleTask, spec: ResolvedPolicySpec): string | undefined {
  return task === 'verify' ? spec.verification?.schedule : spec.retention?.schedule;
}

/** The CronJob of `task`, or undefined when the policy does not ask for it (the controller then deletes it). */
export function buildLifecycleCronJob(policy: BinlogArchivePolicy, task: LifecycleTask, options: LifecycleCronJobOptions): V1CronJob | undefined {
  const spec = applyDefaults(policySpec, policy.spec);
  const when = schedule(task, spec);
  if (when === undefined) return undefined;
  const { namespace, name: policyName } = policy.metadata;
  const secrets = mergeParts(storageCredentials(spec.storage), keyMaterial(spec.keyProvider));
  const container: V1Container = {
    name: task,
    image: spec.job.image ?? options.image,
    imagePullPolicy: SPEC_DEFAULTS.imagePullPolicy,
    command: ['binlog-archiver'],
    args: taskArgs(task, spec, options),
    // A crash before the report is written still leaves the log tail as the message.
    terminationMessagePath: options.summaryFile,
    terminationMessagePolicy: 'FallbackToLogsOnError',
    ...(secrets.env.length === 0 ? {} : { env: secrets.env }),
    ...(spec.job.resources === undefined ? {} : { resources: resourcesOf(spec.job) }),
    securityContext: containerSecurityContext(),
    volumeMounts: [{ name: 'tmp', mountPath: SPEC_DEFAULTS.tmpDir }, ...secrets.mounts],
  };
  const name = lifecycleCronJobName(policyName, task);
  const labels = lifecycleLabels(policyName, task);
  const annotations = {
    [ANNOTATION.policy]: policyName,
    ...(policy.metadata.generation === undefined ? {} : { [ANNOTATION.generation]: String(policy.metadata.generation) }),
  };
  const serviceAccountName = spec.storage.credentials?.serviceAccountName;
  const job: V1Job = assembleJob({
    name, namespace, labels, annotations,
    owner: { kind: 'BinlogArchivePolicy', name: policyName, ...(policy.metadata.uid === undefined ? {} : { uid: policy.metadata.uid }) },
    shape: spec.job,
    container,
    volumes: [tmpVolume(), ...secrets.volumes],
    ...(serviceAccountName === undefined ? {} : { serviceAccountName }),
  });
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: job.metadata ?? {},
    spec: {
      schedule: when,
      // One run at a time: two expiries or verifications of one store would only repeat each other's work.
      concurrencyPolicy: 'Forbid',
      suspend: spec.suspend,
      startingDeadlineSeconds: STARTING_DEADLINE_SECONDS,
      successfulJobsHistoryLimit: CRONJOB_HISTORY,
      failedJobsHistoryLimit: CRONJOB_HISTORY,
      jobTemplate: { metadata: { labels: { ...labels }, annotations: { ...annotations } }, spec: job.spec ?? { template: {} } },
    },
  };
}
