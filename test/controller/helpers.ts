/**
 * What the controller tests share: a namespace with the CRDs, Secrets and a ServiceAccount; a fresh MariaDB
 * instance per test file (its own binlog dir, so the archive holds exactly what the test wrote); the controller as
 * a child process (`node bin/binlog-archiver.js controller ...`) with its JSON logs and /metrics; S3 access to
 * check what landed; and bounded waits that say what they waited for.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { BinlogArchivePolicy, BinlogArchivePolicySpec } from '../../src/api/index.ts';
import { Controller } from '../../src/controller/controller.ts';
import { KubeClient } from '../../src/controller/kube/client.ts';
import { silentLogger } from '../../src/logger.ts';
import type { ControllerMetrics } from '../../src/metrics/metrics.ts';
import { stopProcess } from '../../testenv/proc.ts';
import { allocatePort } from '../../testenv/ports.ts';
import { launchMariadb, type Launched, type MariadbTools } from '../../testenv/servers/mariadb.ts';
import { ensureTools } from '../../testenv/tools.ts';
import { deleteNamespace, ensureDefaultServiceAccount, installCrds, kubectl, ok } from '../api/kubectl.ts';
import { runCli } from '../support/cli.ts';
import { s3Client } from '../support/clients.ts';
import { nodeSkip } from '../support/node.ts';
import { FakeKubelet } from '../support/kubelet.ts';
import { tempDir as archiveTempDir } from '../support/archive.ts';
import { REPO_ROOT, need } from '../support/testenv.ts';

export const BIN = path.join(REPO_ROOT, 'bin', 'binlog-archiver.js');
export const CRDS = path.join(REPO_ROOT, 'crds');

export function tempDir(prefix = 'blarc-ctl-'): string {
  return archiveTempDir(prefix);
}

/** Polls fn until it returns a value (not undefined); fails after timeoutMs saying what it waited for and what it last saw. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000, describeLast?: () => Promise<string> | string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const last = describeLast === undefined ? '' : `\nlast seen: ${await describeLast()}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? '' : ` (last error: ${(lastError as Error).message})`}${last}`);
    }
    await sleep(300);
  }
}

/**
 * The namespace of one test file: CRDs installed, a default ServiceAccount (ensureDefaultServiceAccount).
 */
export async function setupNamespace(prefix: string): Promise<string> {
  const ns = `${prefix}-${randomBytes(4).toString('hex')}`;
  await installCrds();
  await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/binlogarchivepolicies.binlog.archiver.dev']);
  await ok(['create', 'namespace', ns]);
  await ensureDefaultServiceAccount(ns);
  if (nodeSkip() === false) await handJobsToStandIn(ns);
  return ns;
}

const STAND_IN = 'binlog-archiver.dev/test-kubelet';

/**
 * With the real node, the Jobs of a stand-in kubelet's namespace get spec.managedBy (a MutatingAdmissionPolicy), so
 * the real Job controller leaves them to the stand-in (test/support/kubelet.ts) instead of racing it with Pods of
 * its own. Waits until the API server applies it (a server-side dry run shows the field).
 */
async function handJobsToStandIn(ns: string): Promise<void> {
  const name = `stand-in-${ns}`;
  await ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [
    { apiVersion: 'admissionregistration.k8s.io/v1beta1', kind: 'MutatingAdmissionPolicy', metadata: { name },
      spec: { matchConstraints: { resourceRules: [{ apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['jobs'] }] },
        failurePolicy: 'Fail', reinvocationPolicy: 'Never',
        mutations: [{ patchType: 'ApplyConfiguration', applyConfiguration: { expression: `Object{spec: Object.spec{managedBy: "${STAND_IN}"}}` } }] } },
    { apiVersion: 'admissionregistration.k8s.io/v1beta1', kind: 'MutatingAdmissionPolicyBinding', metadata: { name },
      spec: { policyName: name, matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } } } },
  ] }));
  const probe = JSON.stringify({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'probe', namespace: ns },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'none' }] } } } });
  await waitFor('the stand-in\'s MutatingAdmissionPolicy to apply', async () =>
    ((await ok(['create', '--dry-run=server', '-o', 'jsonpath={.spec.managedBy}', '-f', '-'], probe)) === STAND_IN ? true : undefined), 30_000);
}

/**
 * Deletes the policies while the controller still runs (it removes its finalizer), clears any finalizer left,
 * then deletes the namespace (test/api/kubectl.ts clears the namespace's own finalizer).
 */
export async function teardownNamespace(ns: string): Promise<void> {
  await kubectl(['delete', 'bap', '--all', '-n', ns, '--wait=false']);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const r = await kubectl(['get', 'bap', '-n', ns, '-o', 'name']);
    if (r.code !== 0 || r.stdout.trim() === '') break;
    await sleep(300);
  }
  const left = await kubectl(['get', 'bap', '-n', ns, '-o', 'name']);
  for (const name of left.stdout.split('\n').filter((l) => l !== '')) {
    await kubectl(['patch', name, '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":[]}}']);
  }
  await deleteNamespace(ns, 'binlogarchivepolicies,jobs,pods,secrets,leases,events');
  if (nodeSkip() === false) await kubectl(['delete', 'mutatingadmissionpolicybinding,mutatingadmissionpolicy', `stand-in-${ns}`, '--ignore-not-found']);
}

/** A shared credentials file for the S3 server (moto's KMS accepts the same signature). */
export function awsCredentialsFile(dir: string): { file: string; text: string; env: NodeJS.ProcessEnv } {
  const s3 = need('s3');
  const text = `[default]\naws_access_key_id = ${s3.accessKeyId}\naws_secret_access_key = ${s3.secretAccessKey}\n`;
  const file = path.join(dir, 'credentials');
  fs.writeFileSync(file, text, { mode: 0o600 });
  const config = path.join(dir, 'config');
  fs.writeFileSync(config, '[default]\n', { mode: 0o600 });
  return { file, text, env: { AWS_SHARED_CREDENTIALS_FILE: file, AWS_CONFIG_FILE: config, AWS_PROFILE: 'default' } };
}

/** Secrets the Jobs mount: the master key (local provider) and the AWS credentials file. */
export async function createSecrets(ns: string, credentialsText: string): Promise<{ masterKeyHex: string }> {
  const masterKeyHex = randomBytes(32).toString('hex');
  const secret = (name: string, data: Record<string, string>) => JSON.stringify({
    apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  });
  await ok(['apply', '-f', '-'], secret('archive-key', { key: masterKeyHex }));
  await ok(['apply', '-f', '-'], secret('aws-credentials', { credentials: credentialsText }));
  return { masterKeyHex };
}

/** The S3 store URL of the test environment's bucket under `prefix`. */
export function s3StoreUrl(prefix: string): string {
  const s3 = need('s3');
  return `s3://${s3.bucket}/${prefix}?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&forcePathStyle=true`;
}

/**
 * The archive the Jobs of a namespace's tests work on: the namespace's Secrets (createSecrets: the master key and
 * the S3 credentials), and `binlogDir` archived with the CLI to S3 under `prefix` as `source`, under that same
 * master key (a file:// copy in `dir`). Returns the store URL and the environment with the S3 credentials, for
 * more CLI runs against it.
 */
export async function archiveToS3(o: { ns: string; dir: string; prefix: string; binlogDir: string; source: string }): Promise<{ store: string; env: NodeJS.ProcessEnv }> {
  const creds = awsCredentialsFile(o.dir);
  const { masterKeyHex } = await createSecrets(o.ns, creds.text);
  const keyFile = path.join(o.dir, 'master.key');
  fs.writeFileSync(keyFile, masterKeyHex, { mode: 0o600 });
  const store = s3StoreUrl(o.prefix);
  const env = { ...process.env, ...creds.env };
  const r = await runCli(['archive', '--binlog-dir', o.binlogDir, '--store', store, '--key', `file://${keyFile}`, '--source', o.source, '--json'], env);
  if (r.code !== 0) throw new Error(`archive of ${o.source} to ${store} failed (exit ${r.code}): ${r.stderr}`);
  return { store, env };
}

export interface PolicyOptions {
  name: string;
  app: string;
  prefix: string;
  keyProvider?: BinlogArchivePolicySpec['keyProvider'];
  purgeRisk?: BinlogArchivePolicySpec['purgeRisk'];
  suspend?: boolean;
  /** Another S3 endpoint for the same server (a fault proxy in front of it). */
  storageEndpoint?: string;
}

export function policyObject(ns: string, o: PolicyOptions): BinlogArchivePolicy {
  const s3 = need('s3');
  return {
    apiVersion: 'binlog.archiver.dev/v1alpha1',
    kind: 'BinlogArchivePolicy',
    metadata: { name: o.name, namespace: ns },
    spec: {
      ...(o.suspend === undefined ? {} : { suspend: o.suspend }),
      source: { selector: { matchLabels: { app: o.app } }, binlogVolume: 'data', binlogPath: '' },
      storage: {
        bucket: s3.bucket, prefix: o.prefix, endpoint: o.storageEndpoint ?? s3.endpoint, region: s3.region, forcePathStyle: true,
        credentials: { secretName: 'aws-credentials' },
      },
      keyProvider: o.keyProvider ?? { local: { secretName: 'archive-key' } },
      ...(o.purgeRisk === undefined ? {} : { purgeRisk: o.purgeRisk }),
      job: { backoffLimit: 0 },
    },
  };
}

export async function applyPolicy(ns: string, o: PolicyOptions): Promise<void> {
  await ok(['apply', '-f', '-'], JSON.stringify(policyObject(ns, o)));
}

export interface PolicyState {
  metadata: { generation: number; finalizers?: string[] };
  status?: BinlogArchivePolicy['status'];
}

export async function getPolicy(ns: string, name: string): Promise<PolicyState> {
  return JSON.parse(await ok(['get', 'bap', name, '-n', ns, '-o', 'json'])) as PolicyState;
}

export function conditionOf(p: PolicyState, type: string): { status: string; reason: string; message: string } | undefined {
  return p.status?.conditions?.find((c) => c.type === type);
}

export interface JobSummary {
  name: string;
  pod: string;
  trigger: string;
  correlationId: string;
  created: string;
  done: 'Complete' | 'Failed' | undefined;
}

export async function listJobs(ns: string): Promise<JobSummary[]> {
  const list = JSON.parse(await ok(['get', 'jobs', '-n', ns, '-o', 'json'])) as {
    items: Array<{ metadata: { name: string; creationTimestamp: string; annotations?: Record<string, string> }; status?: { conditions?: Array<{ type: string; status: string }> } }>;
  };
  return list.items.map((j) => ({
    name: j.metadata.name,
    pod: j.metadata.annotations?.['binlog.archiver.dev/source-pod'] ?? '',
    trigger: j.metadata.annotations?.['binlog.archiver.dev/trigger'] ?? '',
    correlationId: j.metadata.annotations?.['binlog.archiver.dev/correlation-id'] ?? '',
    created: j.metadata.creationTimestamp,
    done: j.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')?.type as JobSummary['done'],
  }));
}

export interface EventSummary {
  type: string;
  reason: string;
  note: string;
  count: number;
}

export async function listEvents(ns: string, policy: string): Promise<EventSummary[]> {
  const list = JSON.parse(await ok(['get', 'events.events.k8s.io', '-n', ns, '-o', 'json', '--field-selector', `regarding.name=${policy}`])) as {
    items: Array<{ type: string; reason: string; note: string; series?: { count: number } }>;
  };
  return list.items.map((e) => ({ type: e.type, reason: e.reason, note: e.note, count: e.series?.count ?? 1 }));
}

/** Object keys under the test prefix. */
export async function listKeys(prefix: string): Promise<string[]> {
  const s3 = need('s3');
  const client = s3Client(s3);
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const r = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
    for (const o of r.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key.slice(prefix.length + 1));
    token = r.IsTruncated === true ? r.NextContinuationToken : undefined;
  } while (token !== undefined);
  client.destroy();
  return keys.sort();
}

export async function readJson<T>(prefix: string, key: string): Promise<T> {
  const s3 = need('s3');
  const client = s3Client(s3);
  const r = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/${key}` }));
  const text = await r.Body?.transformToString('utf8');
  client.destroy();
  return JSON.parse(text ?? 'null') as T;
}

/** Removes everything a test archived under its prefix (the bucket is shared by every test). */
export async function deletePrefix(prefix: string): Promise<void> {
  const s3 = need('s3');
  const client = s3Client(s3);
  const keys = await listKeys(prefix);
  for (let i = 0; i < keys.length; i += 500) {
    await client.send(new DeleteObjectsCommand({ Bucket: s3.bucket, Delete: { Objects: keys.slice(i, i + 500).map((k) => ({ Key: `${prefix}/${k}` })) } }));
  }
  client.destroy();
}

export async function deleteKey(prefix: string, key: string): Promise<void> {
  const s3 = need('s3');
  const client = s3Client(s3);
  await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/${key}` }));
  client.destroy();
}

/** A fresh MariaDB with binary logging (the project's launcher), so each test file's binlogs are its own. */
export interface Mariadb {
  launched: Launched;
  binlogDir: string;
  sql(statement: string): Promise<string>;
  /** Some writes, then FLUSH BINARY LOGS; returns the name of the binlog just closed. */
  writeAndRotate(rows?: number): Promise<string>;
  closedBinlogs(): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startMariadb(name: string): Promise<Mariadb> {
  need('mysql');
  const dir = tempDir(`blarc-${name}-`);
  const tools = (await ensureTools(new Set(['mysql']))) as MariadbTools;
  const launched = await launchMariadb({ name, dir, tools, port: await allocatePort('ctl'), binlog: true, serverId: 1 + (Date.now() % 1000) });
  const sql = (s: string) => launched.sql(s);
  await sql('CREATE DATABASE IF NOT EXISTS shop; CREATE TABLE IF NOT EXISTS shop.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(200))');
  return {
    launched, binlogDir: launched.binlogDir, sql,
    async writeAndRotate(rows = 20) {
      const values = Array.from({ length: rows }, () => `('${randomBytes(40).toString('hex')}')`).join(',');
      await sql(`INSERT INTO shop.orders (note) VALUES ${values}`);
      const current = (await sql('SHOW MASTER STATUS')).split('\t')[0] ?? '';
      await sql('FLUSH BINARY LOGS');
      return current.trim();
    },
    async closedBinlogs() {
      const rows = (await sql('SHOW BINARY LOGS')).trim().split('\n').map((l) => l.split('\t')[0] ?? '');
      return rows.slice(0, -1);
    },
    async stop() {
      await stopProcess(launched.proc.pid, launched.proc.exe);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The controller as a child process. */
export class ControllerProcess {
  readonly proc: ChildProcess;
  readonly lines: Array<Record<string, unknown>> = [];
  readonly raw: string[] = [];
  metricsUrl = '';
  healthUrl = '';
  readonly exited: Promise<number | null>;

  private constructor(proc: ChildProcess) {
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve(code ?? (signal === null ? null : -1))));
    let buffer = '';
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      buffer += chunk;
      let i: number;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        this.raw.push(line);
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch { /* not JSON */ }
      }
    });
  }

  static async start(options: { namespace: string; args?: string[]; env?: NodeJS.ProcessEnv }): Promise<ControllerProcess> {
    const { kubeconfig } = need('kube');
    const args = [BIN, 'controller', '--kubeconfig', kubeconfig, '--namespace', options.namespace, '--metrics-addr', '127.0.0.1:0', '--health-addr', '127.0.0.1:0',
      '--image', 'registry.test/binlog-archiver:test', ...(options.args ?? [])];
    const home = tempDir('blarc-ctl-home-');
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH, HOME: home, ...options.env } });
    proc.once('exit', () => fs.rmSync(home, { recursive: true, force: true }));
    const c = new ControllerProcess(proc);
    const started = await waitFor('the controller to serve /metrics', () => Promise.resolve(
      c.proc.exitCode !== null ? Promise.reject(new Error(`the controller exited with ${c.proc.exitCode}: ${c.raw.join('\n').slice(-3000)}`)) : (c.lines.find((l) => l.msg === 'Serving health checks') === undefined ? undefined : true),
    ), 20_000);
    void started;
    const m = c.lines.find((l) => l.msg === 'Serving metrics');
    const h = c.lines.find((l) => l.msg === 'Serving health checks');
    c.metricsUrl = `http://${String(m?.address)}/metrics`;
    c.healthUrl = `http://${String(h?.address)}`;
    return c;
  }

  async metrics(): Promise<string> {
    const r = await fetch(this.metricsUrl);
    return r.text();
  }

  /** Value of one series (labels matched as a subset), or undefined. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    return metricValue(await this.metrics(), name, labels);
  }

  hasLog(predicate: (line: Record<string, unknown>) => boolean): boolean {
    return this.lines.some(predicate);
  }

  logTail(n = 40): string {
    return this.raw.slice(-n).join('\n');
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return this.exited;
  }
}

/** Sum of the values of the series of `name` whose labels include `labels`. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let found: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const x of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have.set(x[1] ?? '', x[2] ?? '');
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) found = (found ?? 0) + Number(m[3]);
  }
  return found;
}

/** The whole loop but a policy (full-loop.test.ts, test/lifecycle/migration-loop.test.ts): every piece real but the kubelet. */
export interface Loop {
  ns: string;
  creds: ReturnType<typeof awsCredentialsFile>;
  masterKeyHex: string;
  db: Mariadb;
  kubelet: FakeKubelet;
  controller: ControllerProcess;
}

/** A namespace with the Jobs' Secrets, a MariaDB, the test kubelet and the controller reading the store. */
export async function startLoop(name: string, dir: string): Promise<Loop> {
  const { kubeconfig } = need('kube');
  const ns = await setupNamespace(`bl${name}`);
  const creds = awsCredentialsFile(dir);
  const { masterKeyHex } = await createSecrets(ns, creds.text);
  const db = await startMariadb(name);
  const kubelet = new FakeKubelet({ kubeconfig, namespace: ns }).start();
  const controller = await ControllerProcess.start({
    namespace: ns, env: creds.env,
    args: ['--read-store', '--store-check-interval', '3s', '--status-refresh', '5s', '--agent-wait-seconds', '10'],
  });
  return { ns, creds, masterKeyHex, db, kubelet, controller };
}

export async function stopLoop(loop: Partial<Loop>): Promise<void> {
  if (loop.ns !== undefined) await teardownNamespace(loop.ns);
  await loop.controller?.kill('SIGTERM');
  await loop.kubelet?.stop();
  await loop.db?.stop();
}

export interface InProcess {
  client: KubeClient;
  kubelet: FakeKubelet;
  /** Stops the controller, the stand-in kubelet and the client. */
  stop(): Promise<void>;
}

/** The controller in this process for namespace `ns`, with the stand-in kubelet running its Jobs. */
export async function startInProcess(ns: string, identity: string, metrics: ControllerMetrics, workers = 2): Promise<InProcess> {
  const { kubeconfig } = need('kube');
  const kubelet = new FakeKubelet({ kubeconfig, namespace: ns }).start();
  const client = await KubeClient.fromKubeconfig(kubeconfig);
  const controller = new Controller({
    namespace: ns, identity, image: 'registry.test/binlog-archiver:test', workers, resyncPeriodMs: 60_000, agentWaitSeconds: 5,
    safetyIntervalMs: 600_000, agentSilentAfterMs: 120_000, failureBackoffMs: 30_000, failureBackoffMaxMs: 600_000, statusRefreshMs: 60_000,
  }, { client, logger: silentLogger, metrics });
  const abort = new AbortController();
  const running = controller.run(abort.signal);
  return {
    client, kubelet,
    stop: async () => {
      abort.abort();
      await running;
      await kubelet.stop();
      client.close();
    },
  };
}
