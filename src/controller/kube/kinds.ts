/**
 * The kinds the controller reads and writes, each with the parser that checks an API answer before it is typed:
 * the two CRDs against their full schema (src/api, the same one the CRDs are generated from), built-in kinds for
 * the metadata every caller relies on (name, namespace, uid, labels as strings).
 */
import type { EventsV1Event, V1PersistentVolumeClaim, V1Service } from '@kubernetes/client-node';
import { kindDefinition, rootSchema } from '../../api/crd.ts';
import { checked } from '../../api/validate.ts';
import type { JSONSchemaProps } from '../../api/openapi.ts';
import type { KubeClient } from './client.ts';
import {
  CRONJOBS, EVENTS, JOBS, PODS, POLICIES, PVCS, RESTORES, SERVICES,
  type CronJob, type Job, type KubeObject, type Pod, type Policy, type Restore,
} from './resources.ts';
import { type Parser, Resource } from './typed.ts';

const stringMap: JSONSchemaProps = { type: 'object', additionalProperties: { type: 'string' } };

/** The metadata fields the controller reads, as the API server always sets them on a stored object. */
const storedMetadata: JSONSchemaProps = {
  type: 'object',
  required: ['name', 'namespace', 'uid', 'resourceVersion'],
  properties: {
    name: { type: 'string', minLength: 1 },
    namespace: { type: 'string', minLength: 1 },
    uid: { type: 'string', minLength: 1 },
    resourceVersion: { type: 'string' },
    generation: { type: 'integer', minimum: 0 },
    labels: stringMap,
    annotations: stringMap,
    finalizers: { type: 'array', items: { type: 'string' } },
    deletionTimestamp: { type: 'string', format: 'date-time' },
    creationTimestamp: { type: 'string', format: 'date-time' },
    ownerReferences: {
      type: 'array',
      items: { type: 'object', required: ['apiVersion', 'kind', 'name', 'uid'], properties: { name: { type: 'string' }, kind: { type: 'string' }, uid: { type: 'string' }, controller: { type: 'boolean' } } },
    },
  },
};

function withMetadata(schema: JSONSchemaProps): JSONSchemaProps {
  return { ...schema, required: [...new Set([...(schema.required ?? []), 'metadata'])], properties: { ...schema.properties, metadata: storedMetadata } };
}

/** A parser from a schema: the object typed as T when it matches, else EFORMAT naming the fields. */
export function parserOf<T>(schema: JSONSchemaProps, kind: string): Parser<T> {
  const full = withMetadata(schema);
  return (value: unknown) => {
    const name = typeof value === 'object' && value !== null ? (value as KubeObject).metadata?.name : undefined;
    return checked<T>(value, full, `${kind} ${name ?? '(unnamed)'}`);
  };
}

export const parsePolicy: Parser<Policy> = parserOf<Policy>(rootSchema(kindDefinition('BinlogArchivePolicy')), 'BinlogArchivePolicy');
export const parseRestore: Parser<Restore> = parserOf<Restore>(rootSchema(kindDefinition('BinlogRestore')), 'BinlogRestore');

const builtin: JSONSchemaProps = { type: 'object', properties: { spec: { type: 'object' }, status: { type: 'object' } } };
export const parseJob: Parser<Job> = parserOf<Job>(builtin, 'Job');
export const parseCronJob: Parser<CronJob> = parserOf<CronJob>(builtin, 'CronJob');
export const parsePod: Parser<Pod> = parserOf<Pod>(builtin, 'Pod');
export type Pvc = V1PersistentVolumeClaim & KubeObject;
export type Service = V1Service & KubeObject;
export const parsePvc: Parser<Pvc> = parserOf<Pvc>(builtin, 'PersistentVolumeClaim');
export const parseService: Parser<Service> = parserOf<Service>(builtin, 'Service');
/** events.k8s.io/v1 Events: read only to learn why a restore Job's Pod does not start (the kubelet's FailedMount). */
export type KubeEvent = Omit<EventsV1Event, 'metadata'> & KubeObject;
export const parseEvent: Parser<KubeEvent> = parserOf<KubeEvent>({ type: 'object', properties: { reason: { type: 'string' }, note: { type: 'string' } } }, 'Event');

/** The typed resources of one client. */
export interface Kinds {
  policies: Resource<Policy>;
  restores: Resource<Restore>;
  jobs: Resource<Job>;
  cronJobs: Resource<CronJob>;
  pods: Resource<Pod>;
  pvcs: Resource<Pvc>;
  services: Resource<Service>;
  events: Resource<KubeEvent>;
}

export function kinds(client: KubeClient): Kinds {
  return {
    policies: new Resource(client, POLICIES, parsePolicy),
    restores: new Resource(client, RESTORES, parseRestore),
    jobs: new Resource(client, JOBS, parseJob),
    cronJobs: new Resource(client, CRONJOBS, parseCronJob),
    pods: new Resource(client, PODS, parsePod),
    pvcs: new Resource(client, PVCS, parsePvc),
    services: new Resource(client, SERVICES, parseService),
    events: new Resource(client, EVENTS, parseEvent),
  };
}
