/** What the archive and restore Jobs share: the Job around a single container, owner reference, pod settings. */
import type { V1Container, V1Job, V1OwnerReference, V1PodSpec, V1Volume } from '@kubernetes/client-node';
import { API_VERSION } from '../api/crd.ts';
import type { ResolvedPolicySpec } from '../api/types.ts';
import { ArchiverError } from '../errors.ts';
import { SPEC_DEFAULTS } from './defaults.ts';
import { podSecurityContext } from './security.ts';

export type JobShape = ResolvedPolicySpec['job'];

export interface Owner {
  kind: 'BinlogArchivePolicy' | 'BinlogRestore';
  name: string;
  uid?: string;
}

/** The controller reference that makes the Job garbage-collected with its owner. */
export function ownerReference(owner: Owner): V1OwnerReference {
  if (owner.uid === undefined || owner.uid === '') {
    throw new ArchiverError('EBADINPUT', `${owner.kind} ${owner.name} has no metadata.uid`, { hint: 'build Jobs from the object as read from the API server' });
  }
  return { apiVersion: API_VERSION, kind: owner.kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true };
}

export function tmpVolume(): V1Volume {
  return { name: 'tmp', emptyDir: { sizeLimit: SPEC_DEFAULTS.tmpSizeLimit } };
}

export interface JobParts {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  owner: Owner;
  shape: JobShape;
  container: V1Container;
  volumes: V1Volume[];
  serviceAccountName?: string;
  /** Scheduling decided by the builder (node pinning); merged with nothing else. */
  affinity?: V1PodSpec['affinity'];
}

export function assembleJob(p: JobParts): V1Job {
  const { shape } = p;
  const pod: V1PodSpec = {
    restartPolicy: 'Never',
    ...(p.serviceAccountName === undefined ? {} : { serviceAccountName: p.serviceAccountName }),
    // The Jobs never call the Kubernetes API; a Vault login uses its own projected token.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: podSecurityContext({ runAsUser: shape.runAsUser, runAsGroup: shape.runAsGroup, ...(shape.supplementalGroups === undefined ? {} : { supplementalGroups: shape.supplementalGroups }) }),
    ...(shape.priorityClassName === undefined ? {} : { priorityClassName: shape.priorityClassName }),
    ...(shape.nodeSelector === undefined ? {} : { nodeSelector: { ...shape.nodeSelector } }),
    ...(shape.tolerations === undefined ? {} : { tolerations: structuredClone(shape.tolerations) }),
    ...(p.affinity === undefined ? (shape.affinity === undefined ? {} : { affinity: structuredClone(shape.affinity) }) : { affinity: p.affinity }),
    containers: [p.container],
    volumes: p.volumes,
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: p.name, namespace: p.namespace, labels: p.labels, annotations: p.annotations, ownerReferences: [ownerReference(p.owner)] },
    spec: {
      backoffLimit: shape.backoffLimit,
      ttlSecondsAfterFinished: shape.ttlSecondsAfterFinished,
      activeDeadlineSeconds: shape.activeDeadlineSeconds,
      // A usage error (exit 2) fails the same way on every retry: fail the Job at once.
      podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { containerName: p.container.name, operator: 'In', values: [SPEC_DEFAULTS.usageExitCode] } }] },
      template: { metadata: { labels: { ...p.labels }, annotations: { ...p.annotations } }, spec: pod },
    },
  };
}

export function resourcesOf(shape: JobShape): V1Container['resources'] {
  return shape.resources === undefined ? undefined : structuredClone(shape.resources) as V1Container['resources'];
}
