/** API paths of the resources the controller reads and writes, and the small object types it needs. */
import type { V1CronJob, V1Job, V1Pod } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../../api/crd.ts';
import type { BinlogArchivePolicy, BinlogRestore } from '../../api/types.ts';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string | Date;
    creationTimestamp?: string | Date;
    ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }>;
  };
}

export interface ListResult<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface ResourceType {
  /** API prefix: /api/v1 or /apis/<group>/<version>. */
  prefix: string;
  plural: string;
}

export const PODS: ResourceType = { prefix: '/api/v1', plural: 'pods' };
export const JOBS: ResourceType = { prefix: '/apis/batch/v1', plural: 'jobs' };
export const CRONJOBS: ResourceType = { prefix: '/apis/batch/v1', plural: 'cronjobs' };
export const POLICIES: ResourceType = { prefix: `/apis/${GROUP}/${VERSION}`, plural: 'binlogarchivepolicies' };
export const RESTORES: ResourceType = { prefix: `/apis/${GROUP}/${VERSION}`, plural: 'binlogrestores' };
export const PVCS: ResourceType = { prefix: '/api/v1', plural: 'persistentvolumeclaims' };
export const SERVICES: ResourceType = { prefix: '/api/v1', plural: 'services' };
export const LEASES: ResourceType = { prefix: '/apis/coordination.k8s.io/v1', plural: 'leases' };
export const EVENTS: ResourceType = { prefix: '/apis/events.k8s.io/v1', plural: 'events' };
export const SECRETS: ResourceType = { prefix: '/api/v1', plural: 'secrets' };

/** The collection path, in one namespace or (undefined) all of them. */
export function collectionPath(type: ResourceType, namespace: string | undefined): string {
  return namespace === undefined ? `${type.prefix}/${type.plural}` : `${type.prefix}/namespaces/${encodeURIComponent(namespace)}/${type.plural}`;
}

export function objectPath(type: ResourceType, namespace: string, name: string, subresource?: string): string {
  return `${collectionPath(type, namespace)}/${encodeURIComponent(name)}${subresource === undefined ? '' : `/${subresource}`}`;
}

export type Pod = V1Pod & KubeObject;
export type Job = V1Job & KubeObject;
export type CronJob = V1CronJob & KubeObject;
export type Policy = BinlogArchivePolicy & KubeObject & { metadata: BinlogArchivePolicy['metadata'] & NonNullable<KubeObject['metadata']> };

export type Restore = BinlogRestore & KubeObject & { metadata: BinlogRestore['metadata'] & NonNullable<KubeObject['metadata']> };

export function keyOf(obj: KubeObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
