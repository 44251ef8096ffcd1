/** The binlog.archiver.dev/v1alpha1 API: schemas (the single source of truth), inferred types, defaulting, conditions. */
export { API_VERSION, GROUP, KINDS, VERSION, buildCrd, crdFileName } from './crd.ts';
export { applyDefaults } from './defaults.ts';
export { policySpec } from './policy-spec.ts';
export { policyStatus, RECENT_RUNS_MAX, SOURCES_MAX } from './policy-status.ts';
export { restoreSpec } from './restore-spec.ts';
export { restoreStatus, RESTORE_PHASES } from './restore-status.ts';
export * from './conditions.ts';
export { aggregateSources, recordRun } from './status.ts';
export type * from './types.ts';
export * from './restore-conditions.ts';
