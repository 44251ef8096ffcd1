/** Labels (for selection, values bounded) and annotations (full values) that identify what a built object is for. */
import { GROUP } from '../api/crd.ts';
import { labelValue } from './names.ts';

export const LABEL = {
  name: 'app.kubernetes.io/name',
  component: 'app.kubernetes.io/component',
  managedBy: 'app.kubernetes.io/managed-by',
  policy: `${GROUP}/policy`,
  restore: `${GROUP}/restore`,
  sourcePod: `${GROUP}/source-pod`,
  correlationId: `${GROUP}/correlation-id`,
} as const;

export const ANNOTATION = {
  policy: `${GROUP}/policy`,
  restore: `${GROUP}/restore`,
  sourcePod: `${GROUP}/source-pod`,
  source: `${GROUP}/source`,
  correlationId: `${GROUP}/correlation-id`,
  trigger: `${GROUP}/trigger`,
  generation: `${GROUP}/generation`,
  /** Which Job of a restore: `plan` (restore --plan-only) or `restore`. */
  step: `${GROUP}/step`,
} as const;

export type Component = 'archive' | 'restore' | 'agent' | 'verify' | 'expire';

export function baseLabels(component: Component): Record<string, string> {
  return { [LABEL.name]: 'binlog-archiver', [LABEL.component]: component, [LABEL.managedBy]: 'binlog-archiver-operator' };
}

/** Labels of an archive Job and its pod. */
export function archiveLabels(policy: string, pod: string, correlationId: string): Record<string, string> {
  return { ...baseLabels('archive'), [LABEL.policy]: labelValue(policy), [LABEL.sourcePod]: labelValue(pod), [LABEL.correlationId]: labelValue(correlationId) };
}

/** Labels of a scheduled verify or expire CronJob, its Jobs and their pods. */
export function lifecycleLabels(policy: string, task: 'verify' | 'expire'): Record<string, string> {
  return { ...baseLabels(task), [LABEL.policy]: labelValue(policy) };
}

/** Labels of a restore Job and its pod. */
export function restoreLabels(restore: string, correlationId: string): Record<string, string> {
  return { ...baseLabels('restore'), [LABEL.restore]: labelValue(restore), [LABEL.correlationId]: labelValue(correlationId) };
}
