/** The Job settings both kinds share: image, resources, scheduling, identity, retries and clean-up. */
import { affinity, nodeSelector, resources, tolerations } from './common.ts';
import { array, integer, object, string } from './schema.ts';

/** Default UID and GID: "nonroot" of distroless images; any non-zero id works. */
export const NONROOT_ID = 65532;

export function jobShape(description: string, defaults: { backoffLimit: number; activeDeadlineSeconds: number }) {
  return object(description, {
    image: string('Container image of the Jobs. Empty: the operator\'s own image (the same version).', { maxLength: 1024 }),
    resources,
    nodeSelector,
    tolerations,
    affinity,
    priorityClassName: string('PriorityClass of the Job pods.', { maxLength: 253 }),
    runAsUser: integer('UID the Job runs as (never 0). It must be able to read the binlogs: see supplementalGroups.', { default: NONROOT_ID, minimum: 1, format: 'int64' }),
    runAsGroup: integer('GID the Job runs as; also the fsGroup that makes the mounted key Secrets readable (mode 0440).', { default: NONROOT_ID, minimum: 1, format: 'int64' }),
    supplementalGroups: array('Extra groups of the Job, e.g. the MySQL group (999 in the official image) when binlogs are mode 0640.',
      integer('A GID.', { minimum: 1, format: 'int64' }), { maxItems: 16, listType: 'atomic' }),
    ttlSecondsAfterFinished: integer('Finished Jobs are deleted after this many seconds (their results stay in the status and the manifest).', {
      default: 86400, minimum: 0, maximum: 2592000, format: 'int32',
    }),
    backoffLimit: integer('Retries of a failed pod before the Job fails (a rerun converges without duplicates).', {
      default: defaults.backoffLimit, minimum: 0, maximum: 10, format: 'int32',
    }),
    activeDeadlineSeconds: integer('A Job running longer than this is stopped and counted as failed.', {
      default: defaults.activeDeadlineSeconds, minimum: 60, format: 'int64',
    }),
  }, { default: {} });
}
