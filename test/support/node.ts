/**
 * Tests on the real node of the test environment (`npm run testenv -- up` starts it by default). An environment
 * brought up without it (`--no-node`, TESTENV_NODE=0, a TESTENV_SERVERS subset without kube) skips these tests,
 * saying why.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { BinlogArchivePolicy, BinlogArchivePolicySpec } from '../../src/api/index.ts';
import type { Endpoints } from '../../testenv/context.ts';
import { allocatePort } from '../../testenv/ports.ts';
import { stopProcess } from '../../testenv/proc.ts';
import { launchMariadb, type MariadbTools } from '../../testenv/servers/mariadb.ts';
import { ensureTools } from '../../testenv/tools.ts';
import { stateDir } from '../../testenv/versions.ts';
import { createRestrictedNamespace, eventually, installCrds, kubectl, ok, uniqueName } from '../api/kubectl.ts';
import { tempDir } from './archive.ts';
import { need as needServer } from './testenv.ts';

const run = promisify(execFile);

function endpoints(): Partial<Endpoints> | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(stateDir(), 'endpoints.json'), 'utf8')) as Partial<Endpoints>;
  } catch {
    return undefined;
  }
}

/** A skip reason when the environment has no node; false when it has one. */
export function nodeSkip(): string | false {
  const e = endpoints();
  if ((e?.kube?.nodes ?? []).length > 0 && e?.image !== undefined) return false;
  if (process.env.TESTENV_NODE === '0') return 'TESTENV_NODE=0: no node';
  if (e?.noNode !== undefined) return `the environment was brought up without the node (${e.noNode})`;
  // An environment from before the node was the default: it has no record of why.
  return 'the environment has no node: `npm run testenv -- down`, then `up` (the node is the default)';
}

type Server = Parameters<typeof needServer>[0];

export function need(server: 'node'): { kube: Endpoints['kube'] & { nodes: string[] }; image: string; mariadbImage: string; kubeconfig: string };
export function need<K extends Server>(server: K): ReturnType<typeof needServer<K>>;
export function need(server: Server | 'node'): unknown {
  if (server !== 'node') return needServer(server);
  const e = endpoints();
  const nodes = e?.kube?.nodes;
  if (e?.kube === undefined || nodes === undefined || nodes.length === 0 || e.image === undefined || e.kubeconfig === undefined) {
    throw new Error('the test environment has no node: run `npm run testenv -- up` (without --no-node)');
  }
  return { kube: { ...e.kube, nodes }, image: e.image, mariadbImage: e.mariadbImage ?? '', kubeconfig: e.kubeconfig };
}

/** SQL as the environment's archiver user, over TCP. */
export async function launchSql(mysql: Endpoints['mysql'], statement: string): Promise<void> {
  const password = fs.readFileSync(mysql.passwordFile, 'utf8').trim();
  await run('mariadb', ['--no-defaults', '-h', mysql.host, '-P', String(mysql.port), '-u', mysql.user, '--batch', '-e', statement], {
    env: { ...process.env, MYSQL_PWD: password },
  });
}

/** A PersistentVolumeClaim `claim` in `ns` bound to a new hostPath PersistentVolume `pv` holding `hostDir`. */
export async function hostPathClaim(ns: string, claim: string, pv: string, hostDir: string): Promise<void> {
  await ok(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: pv },
    spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', storageClassName: 'manual',
      claimRef: { namespace: ns, name: claim }, hostPath: { path: hostDir, type: 'Directory' } },
  }));
  await ok(['apply', '-n', ns, '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: claim },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'manual', volumeName: pv, resources: { requests: { storage: '1Gi' } } },
  }));
}

/**
 * A namespace enforcing `restricted`, with the MySQL pod's binlog claim (a hostPath PV holding `hostDir`) and the
 * Secrets an archive Job mounts; the project's CRDs are installed, so its policies can be validated and created.
 */
export interface ArchiveNamespace {
  ns: string;
  nodeName: string;
  image: string;
  prefix: string;
  pod: V1Pod;
  policy(spec?: Partial<BinlogArchivePolicySpec>): BinlogArchivePolicy;
  cleanup(): Promise<void>;
}

export async function archiveNamespace(hostDir: string): Promise<ArchiveNamespace> {
  const { kube, image } = need('node');
  const s3 = needServer('s3');
  const ns = uniqueName('node-e2e');
  const pv = `${ns}-binlogs`;
  const nodeName = kube.nodes[0] ?? '';
  const prefix = `node-e2e/${ns}`;
  await installCrds();
  await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/binlogarchivepolicies.binlog.archiver.dev']);
  await createRestrictedNamespace(ns);
  await hostPathClaim(ns, 'data-mysql-0', pv, hostDir);
  await ok(['create', 'secret', 'generic', 'master-key', '-n', ns, `--from-literal=key=${randomBytes(32).toString('hex')}`]);
  await ok(['create', 'secret', 'generic', 's3-credentials', '-n', ns,
    `--from-literal=credentials=[default]\naws_access_key_id = ${s3.accessKeyId}\naws_secret_access_key = ${s3.secretAccessKey}\n`]);
  // The MySQL pod's identity and volume, as the controller would read them from the API server.
  const pod: V1Pod = {
    metadata: { name: 'mysql-0', namespace: ns, labels: { app: 'mysql' } },
    spec: { nodeName, containers: [{ name: 'mysql', image }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-mysql-0' } }] },
  };
  const uid = randomUUID();
  return {
    ns, nodeName, image, prefix, pod,
    policy: (spec = {}) => ({
      apiVersion: 'binlog.archiver.dev/v1alpha1', kind: 'BinlogArchivePolicy',
      metadata: { name: 'orders', namespace: ns, generation: 1, uid },
      spec: {
        source: { selector: { matchLabels: { app: 'mysql' } }, binlogVolume: 'data', binlogPath: 'binlog' },
        storage: { bucket: s3.bucket, prefix, region: s3.region, endpoint: s3.podEndpoint, forcePathStyle: true, credentials: { secretName: 's3-credentials' } },
        keyProvider: { local: { secretName: 'master-key', key: 'key' } },
        ...spec,
      },
    }),
    cleanup: async () => {
      await kubectl(['delete', 'namespace', ns, '--wait=true', '--timeout=60s']);
      await kubectl(['delete', 'pv', pv, '--wait=false']);
    },
  };
}

/**
 * Closed binlogs of a private MariaDB (written, rotated twice, shut down), copied into a new directory a hostPath PV
 * can hold. Private, not the environment's server: test files run concurrently, and another file's writes or
 * rotations on the shared server would change what these tests archive (and these rotations theirs).
 */
export async function closedBinlogsDir(): Promise<string> {
  needServer('mysql');
  const dir = tempDir('blarc-node-pv-');
  const tools = (await ensureTools(new Set(['mysql']))) as MariadbTools;
  const server = await launchMariadb({ name: 'node-pv', dir: path.join(dir, 'server'), tools, port: await allocatePort('node-pv'), binlog: true });
  try {
    await server.sql('CREATE DATABASE nodee2e; CREATE TABLE nodee2e.t (id INT PRIMARY KEY AUTO_INCREMENT, v TEXT); INSERT INTO nodee2e.t (v) VALUES (REPEAT("x", 1000)); FLUSH BINARY LOGS; INSERT INTO nodee2e.t (v) VALUES ("y"); FLUSH BINARY LOGS');
  } finally {
    await stopProcess(server.proc.pid, server.proc.exe);
  }
  const binlogs = path.join(dir, 'binlog');
  fs.mkdirSync(binlogs);
  for (const f of fs.readdirSync(server.binlogDir)) fs.copyFileSync(path.join(server.binlogDir, f), path.join(binlogs, f));
  fs.rmSync(path.join(dir, 'server'), { recursive: true, force: true });
  // The Job runs as uid 65532: a hostPath volume gets no fsGroup, so the copies are world-readable.
  for (const p of [dir, binlogs]) fs.chmodSync(p, 0o755);
  for (const f of fs.readdirSync(binlogs)) fs.chmodSync(path.join(binlogs, f), 0o644);
  return dir;
}

/** What a Pod's container reported when it ended, for assertion messages. */
export function podReport(pod: V1Pod): string {
  const t = pod.status?.containerStatuses?.[0]?.state?.terminated;
  return `${pod.metadata?.name ?? '?'} (${pod.status?.phase ?? '?'}, exit ${String(t?.exitCode)}): ${t?.message ?? t?.reason ?? ''}`;
}

/**
 * Creates `job` and waits until the Job controller marks it Complete or Failed. `ran` is the Pod that decided the
 * outcome (the one that succeeded, else the last to fail); `retried` describes the other Pods: the Job's
 * backoffLimit lets a Pod fail and be replaced, so the first Pod listed is not necessarily the one that counts.
 */
export async function runJob(ns: string, job: V1Job, timeoutMs = 180_000): Promise<{ job: V1Job; pods: V1Pod[]; ran: V1Pod | undefined; retried: string[] }> {
  // The policy does not exist in the cluster: its owner reference would let the garbage collector delete the Job.
  delete job.metadata?.ownerReferences;
  await ok(['apply', '-n', ns, '-f', '-'], JSON.stringify(job));
  const name = job.metadata?.name ?? '';
  const done = await eventually(`Job ${name} to finish`, async () => {
    const j = JSON.parse(await ok(['get', 'job', name, '-n', ns, '-o', 'json'])) as V1Job;
    return (j.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') ? j : undefined;
  }, timeoutMs);
  const pods = (JSON.parse(await ok(['get', 'pods', '-n', ns, '-l', `job-name=${name}`, '-o', 'json'])) as { items: V1Pod[] }).items;
  const byStart = [...pods].sort((a, b) => String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')));
  const ran = byStart.find((p) => p.status?.phase === 'Succeeded') ?? byStart.at(-1);
  return { job: done, pods, ran, retried: byStart.filter((p) => p !== ran).map(podReport) };
}
