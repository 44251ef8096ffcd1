/**
 * TypeScript types of the API, inferred from the schemas (never written by hand): `...Spec` is what a user writes,
 * `Resolved...Spec` what the server stores after defaulting (applyDefaults gives the same).
 */
import type { API_VERSION } from './crd.ts';
import type { policySpec } from './policy-spec.ts';
import type { policyStatus, runStatus, sourceStatus } from './policy-status.ts';
import type { restoreSpec } from './restore-spec.ts';
import type { restoreStatus } from './restore-status.ts';
import type { condition } from './common.ts';
import type { InOf, OutOf } from './schema.ts';
import type { keyProvider, storage } from './storage.ts';

export type BinlogArchivePolicySpec = InOf<typeof policySpec>;
export type ResolvedPolicySpec = OutOf<typeof policySpec>;
export type BinlogArchivePolicyStatus = OutOf<typeof policyStatus>;
export type SourceStatus = OutOf<typeof sourceStatus>;
export type RunStatus = OutOf<typeof runStatus>;
export type BinlogRestoreSpec = InOf<typeof restoreSpec>;
export type ResolvedRestoreSpec = OutOf<typeof restoreSpec>;
export type BinlogRestoreStatus = OutOf<typeof restoreStatus>;
export type Condition = OutOf<typeof condition>;
export type StorageSpec = InOf<typeof storage>;
export type ResolvedStorage = OutOf<typeof storage>;
export type KeyProviderSpec = InOf<typeof keyProvider>;
export type ResolvedKeyProvider = OutOf<typeof keyProvider>;

/** The metadata fields this project reads (a subset of ObjectMeta, as JSON). */
export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
}

export interface BinlogArchivePolicy {
  apiVersion: typeof API_VERSION;
  kind: 'BinlogArchivePolicy';
  metadata: ObjectMeta;
  spec: BinlogArchivePolicySpec;
  status?: BinlogArchivePolicyStatus;
}

export interface BinlogRestore {
  apiVersion: typeof API_VERSION;
  kind: 'BinlogRestore';
  metadata: ObjectMeta;
  spec: BinlogRestoreSpec;
  status?: BinlogRestoreStatus;
}
