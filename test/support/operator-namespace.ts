/**
 * The operator installed as users install it, in one namespace of the real node: the chart with helm (the
 * controller a Pod of the project image, watching that namespace, leader-elected), the Secrets a policy and a
 * restore use, the policy archiving MariaDB Pods labelled app=mysql into S3 with AWS KMS, and BinlogRestores into a
 * server. Shared by test/node/operator-loop.test.ts and `npm run demo -- --operator`.
 */
import { randomBytes } from 'node:crypto';
import type { BinlogArchivePolicySpec, BinlogRestore, BinlogRestoreSpec } from '../../src/api/index.ts';
import { CHART, helm, tool, valuesFile } from '../chart/helm.ts';
import { createRestrictedNamespace, eventually, installCrds, kubectl, ok } from '../api/kubectl.ts';
import type { MariadbPod } from './mariadb-pod.ts';
import { need } from './node.ts';

export const RELEASE = 'ba';
export const POLICY = 'orders';
const RESTORE_SECRET = 'restore-account';

export interface OperatorNamespace {
  ns: string;
  policySpec: BinlogArchivePolicySpec;
  /** The account BinlogRestores apply with, created on `server` without being binlogged (its GTID position stays as it was). */
  restoreAccount(server: MariadbPod): Promise<void>;
  /** Creates a BinlogRestore and waits until it is Succeeded or Failed. */
  restore(name: string, spec: Omit<BinlogRestoreSpec, 'archive' | 'sourceServer'>, timeoutMs?: number): Promise<BinlogRestore>;
  /** The controller Pod's name once it holds the Lease. */
  leader(): Promise<string>;
  /** helm upgrade --reuse-values with `set` (key=value), waiting for the rollout. */
  upgrade(set: string[]): Promise<string>;
  /** The objects and the last lines of every Job Pod: what a person looks at when something failed. */
  describe(): Promise<string>;
  uninstall(): Promise<void>;
}

function policySpecFor(ns: string): BinlogArchivePolicySpec {
  const s3 = need('s3');
  const kms = need('kms');
  return {
    source: { selector: { matchLabels: { app: 'mysql' } }, container: 'mysql', binlogVolume: 'data', binlogPath: 'binlog' },
    storage: { bucket: s3.bucket, prefix: `loop/${ns}`, region: s3.region, endpoint: s3.podEndpoint, forcePathStyle: true, credentials: { secretName: 's3-credentials' } },
    keyProvider: { awsKms: { keyId: kms.keyAlias, region: kms.region, endpoint: kms.podEndpoint } },
  };
}

/** A `restricted` namespace with the CRDs, the Secrets and the chart installed (helm install --wait). */
export async function installOperator(ns: string): Promise<OperatorNamespace> {
  const { kubeconfig, image } = need('node');
  const s3 = need('s3');
  const password = randomBytes(12).toString('hex');
  await tool('helm');
  await installCrds();
  await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/binlogarchivepolicies.binlog.archiver.dev', 'crd/binlogrestores.binlog.archiver.dev']);
  await createRestrictedNamespace(ns);
  // One profile for S3 and KMS, as on AWS (the test KMS accepts any signed request).
  await ok(['create', 'secret', 'generic', 's3-credentials', '-n', ns,
    `--from-literal=credentials=[default]\naws_access_key_id = ${s3.accessKeyId}\naws_secret_access_key = ${s3.secretAccessKey}\n`]);
  await ok(['create', 'secret', 'generic', RESTORE_SECRET, '-n', ns, '--from-literal=username=restorer', `--from-literal=password=${password}`]);
  const [repository, tag] = image.split(':');
  // The CRDs are the cluster's (applied above, as other tests do): the release does not take them over.
  const installed = await helm(['install', RELEASE, CHART, '--kubeconfig', kubeconfig, '--namespace', ns, '--wait', '--timeout', '180s', '-f', valuesFile({
    replicaCount: 1, crds: { create: false }, image: { repository, tag, pullPolicy: 'IfNotPresent' }, watchNamespace: ns, leaderElection: { enabled: true },
  })]);
  if (installed.code !== 0) throw new Error(`helm install ${RELEASE} into ${ns} failed: ${installed.stderr}`);
  return {
    ns, policySpec: policySpecFor(ns),
    restoreAccount: async (server) => {
      await server.query(`SET sql_log_bin = 0; CREATE USER 'restorer'@'%' IDENTIFIED BY '${password}'; GRANT ALL PRIVILEGES ON *.* TO 'restorer'@'%'`);
    },
    restore: async (name, spec, timeoutMs = 180_000) => {
      await ok(['apply', '-n', ns, '-f', '-'], JSON.stringify({ apiVersion: 'binlog.archiver.dev/v1alpha1', kind: 'BinlogRestore', metadata: { name },
        spec: { archive: { policyRef: { name: POLICY } }, sourceServer: `${ns}-mysql-0`, ...spec } }));
      return eventually(`BinlogRestore ${name} to finish`, async () => {
        const x = JSON.parse(await ok(['get', 'blr', name, '-n', ns, '-o', 'json'])) as BinlogRestore;
        return x.status?.phase === 'Succeeded' || x.status?.phase === 'Failed' ? x : undefined;
      }, timeoutMs);
    },
    leader: async () => {
      return eventually('a controller Pod to hold the Lease', async () => {
        const pods = JSON.parse(await ok(['get', 'pods', '-n', ns, '-l', 'app.kubernetes.io/component=controller', '-o', 'json'])) as { items: { metadata: { name: string; deletionTimestamp?: string } }[] };
        const leases = JSON.parse(await ok(['get', 'leases', '-n', ns, '-o', 'json'])) as { items: { spec?: { holderIdentity?: string } }[] };
        const holders = leases.items.map((l) => l.spec?.holderIdentity ?? '');
        return pods.items.filter((p) => p.metadata.deletionTimestamp === undefined).map((p) => p.metadata.name).find((n) => holders.some((h) => h.startsWith(n)));
      }, 60_000);
    },
    upgrade: async (set) => {
      const r = await helm(['upgrade', RELEASE, CHART, '--kubeconfig', kubeconfig, '--namespace', ns, '--reuse-values', '--wait', '--timeout', '180s', ...set.flatMap((x) => ['--set', x])]);
      if (r.code !== 0) throw new Error(`helm upgrade ${RELEASE} in ${ns} failed: ${r.stderr}`);
      return r.stdout;
    },
    describe: async () => (await kubectl(['get', 'pods,jobs,bap,blr', '-n', ns, '-o', 'wide'])).stdout
      + (await kubectl(['logs', '-n', ns, '-l', 'batch.kubernetes.io/job-name', '--tail=20', '--prefix'])).stdout,
    uninstall: async () => {
      await helm(['uninstall', RELEASE, '--kubeconfig', kubeconfig, '--namespace', ns, '--ignore-not-found']);
    },
  };
}

/** A server output for a BinlogRestore through the namespace's restore account. */
export function serverOutput(service: string, applyMode: 'session' | 'replication' = 'session'): BinlogRestoreSpec['output'] {
  return { server: { service, applyMode, credentialsSecret: { name: RESTORE_SECRET } } };
}
