/** A policy and a MySQL pod as the API server would return them, for the builder tests. */
import type { V1Pod, V1Volume } from '@kubernetes/client-node';
import type { BinlogArchivePolicy, BinlogArchivePolicySpec, BinlogRestore, BinlogRestoreSpec } from '../../src/api/index.ts';

export const IMAGE = 'ghcr.io/example/binlog-archiver:0.1.0';

export function policy(spec: Partial<BinlogArchivePolicySpec> = {}, name = 'orders'): BinlogArchivePolicy {
  return {
    apiVersion: 'binlog.archiver.dev/v1alpha1',
    kind: 'BinlogArchivePolicy',
    metadata: { name, namespace: 'shop', uid: '6f1c1d2e-0000-4000-8000-000000000001', generation: 3 },
    spec: {
      source: { selector: { matchLabels: { app: 'mysql' } }, binlogVolume: 'data', binlogPath: 'binlog' },
      storage: { bucket: 'acme-binlogs', prefix: 'prod/orders', region: 'eu-west-1' },
      keyProvider: { awsKms: { keyId: 'alias/binlog-archiver', region: 'eu-west-1' } },
      ...spec,
    },
  };
}

export function mysqlPod(overrides: { name?: string; namespace?: string; nodeName?: string | null; volume?: V1Volume } = {}): V1Pod {
  const nodeName = overrides.nodeName === undefined ? 'node-a' : overrides.nodeName;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: overrides.name ?? 'mysql-0', namespace: overrides.namespace ?? 'shop', labels: { app: 'mysql' } },
    spec: {
      ...(nodeName === null ? {} : { nodeName }),
      containers: [{ name: 'mysql', image: 'mysql:8.4', volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }] }],
      volumes: [
        overrides.volume ?? { name: 'data', persistentVolumeClaim: { claimName: 'data-mysql-0' } },
        { name: 'config', configMap: { name: 'mysql-config' } },
      ],
    },
  };
}

export function restore(spec: Partial<BinlogRestoreSpec> = {}): BinlogRestore {
  return {
    apiVersion: 'binlog.archiver.dev/v1alpha1',
    kind: 'BinlogRestore',
    metadata: { name: 'before-drop', namespace: 'shop', uid: '6f1c1d2e-0000-4000-8000-000000000002', generation: 1 },
    spec: {
      archive: { policyRef: { name: 'orders' } },
      sourceServer: 'shop-mysql-0',
      target: { latest: true },
      output: { volume: { claimName: 'restore-scratch', path: 'run-1' } },
      ...spec,
    },
  };
}
