/** The CustomResourceDefinitions, built from the schemas: the generator writes them to crds/, tests compare. */
import type { JSONSchemaProps } from './openapi.ts';
import { policySpec } from './policy-spec.ts';
import { policyStatus } from './policy-status.ts';
import { restoreSpec } from './restore-spec.ts';
import { restoreStatus } from './restore-status.ts';
import type { AnySchema } from './schema.ts';

export const GROUP = 'binlog.archiver.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;

interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

export interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: AnySchema;
  status: AnySchema;
  columns: PrinterColumn[];
}

const condition = (type: string, field: 'status' | 'reason') => `.status.conditions[?(@.type=="${type}")].${field}`;

export const KINDS: readonly KindDefinition[] = [
  {
    kind: 'BinlogArchivePolicy', plural: 'binlogarchivepolicies', singular: 'binlogarchivepolicy', shortNames: ['bap'],
    description: 'BinlogArchivePolicy archives every rotated binary log of the selected MySQL pods as an encrypted, verified, gap-checked object in S3.',
    spec: policySpec, status: policyStatus,
    columns: [
      { name: 'Ready', type: 'string', jsonPath: condition('Ready', 'status'), description: 'Whether archiving works (condition Ready).' },
      { name: 'Reason', type: 'string', jsonPath: condition('Ready', 'reason'), description: 'Reason of the Ready condition.', priority: 1 },
      { name: 'Last Archived', type: 'string', jsonPath: '.status.lastArchivedBinlog', description: 'Newest archived binlog (<pod>/<file>).' },
      { name: 'Lag', type: 'integer', jsonPath: '.status.lagSeconds', description: 'Seconds the oldest unarchived binlog has waited (largest over sources).' },
      { name: 'Recoverable Until', type: 'string', jsonPath: '.status.recoverableUntil', description: 'Every source can be restored up to this time.' },
      { name: 'Archiving', type: 'string', jsonPath: condition('ContinuousArchiving', 'reason'), description: 'Reason of the ContinuousArchiving condition.', priority: 1 },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age of the policy.' },
    ],
  },
  {
    kind: 'BinlogRestore', plural: 'binlogrestores', singular: 'binlogrestore', shortNames: ['blr'],
    description: 'BinlogRestore replays archived binary logs of one source server from a base backup to a point in time, GTID or position.',
    spec: restoreSpec, status: restoreStatus,
    columns: [
      { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Pending, Planning, Restoring, Succeeded or Failed.' },
      { name: 'Source', type: 'string', jsonPath: '.spec.sourceServer', description: 'Source server restored.' },
      { name: 'Binlogs', type: 'integer', jsonPath: '.status.plan.binlogs', description: 'Binlogs in the plan.' },
      { name: 'Recovered Until', type: 'string', jsonPath: '.status.recoveredUntil', description: 'Time of the last replayed transaction.' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age of the restore.' },
    ],
  },
];

/** The whole object's schema (apiVersion, kind, metadata, spec, status) of a kind, as in its CRD. */
export function rootSchema(def: KindDefinition): JSONSchemaProps {
  return {
    description: def.description,
    type: 'object',
    properties: {
      apiVersion: { description: 'APIVersion defines the versioned schema of this representation of an object.', type: 'string' },
      kind: { description: 'Kind is a string value representing the REST resource this object represents.', type: 'string' },
      metadata: { type: 'object' },
      spec: def.spec.json,
      status: def.status.json,
    },
    required: ['spec'],
  };
}

export function buildCrd(def: KindDefinition): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind: def.kind, listKind: `${def.kind}List`, plural: def.plural, singular: def.singular, shortNames: def.shortNames, categories: ['binlog-archiver'] },
      scope: 'Namespaced',
      versions: [{
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: def.columns,
        schema: { openAPIV3Schema: rootSchema(def) },
      }],
    },
  };
}

export function kindDefinition(kind: 'BinlogArchivePolicy' | 'BinlogRestore'): KindDefinition {
  const def = KINDS.find((k) => k.kind === kind);
  if (def === undefined) throw new Error(`unknown kind ${kind}`);
  return def;
}

/** File name under crds/ for each CRD, as kubebuilder names them. */
export function crdFileName(def: KindDefinition): string {
  return `${GROUP}_${def.plural}.yaml`;
}
