/** Pure builders of the Kubernetes objects the operator creates: (resource, pod, options) -> object. */
export { buildArchiveJob, type ArchiveJobOptions } from './archive-job.ts';
export { buildAgentSidecar, type AgentSidecar, type AgentSidecarOptions } from './agent-sidecar.ts';
export { buildPlanJob, buildRestoreJob, pointArgs, type RestoreJobOptions, type RestoreStep } from './restore-job.ts';
export { SPEC_DEFAULTS } from './defaults.ts';
export { buildLifecycleCronJob, type LifecycleCronJobOptions, type LifecycleTask } from './lifecycle-cronjob.ts';
export { ANNOTATION, LABEL } from './labels.ts';
export { archiveJobName, labelValue, lifecycleCronJobName, restoreJobName, restorePlanJobName, sourceName } from './names.ts';
export { keyUrl, storeUrl } from './urls.ts';
