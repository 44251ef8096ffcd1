/**
 * The controller at scale, on the real kube-apiserver of the test environment: 200 BinlogArchivePolicies selecting
 * 1,000 MySQL pods (objects only: nothing runs them), each pod's agent simulated by one small HTTP server in this
 * process that listens on one port per pod (the pods announce it with the binlog.archiver.dev/agent-port
 * annotation; podIP is 127.0.0.1) and answers the agent protocol's long-polls.
 *
 * It prints figures, it asserts nothing:
 * - time until every policy has a status for its five sources (start-up convergence);
 * - the controller's resident memory (from /proc) while idle, after convergence;
 * - API requests per minute (the controller's binlog_archiver_kube_api_requests_total), idle and while rotating;
 * - the time from a rotation (an agent's generation bump with a new closed binlog) to its archive Job appearing
 *   in this process's own watch of Jobs, p50 / p95 / max over ROTATIONS rotations of distinct pods.
 *
 *   ./node_modules/.bin/node bench/controller-scale.ts [--policies 200] [--pods-per-policy 5] [--namespaces 10]
 *       [--idle-seconds 60] [--rotations 100] [--rotation-interval-ms 300] [--auth token|kubeconfig]
 *
 * --auth token (default) runs the controller the way it runs in a pod: a service-account token (here of an account
 * bound to cluster-admin, from the TokenRequest API), the server URL and the CA, without client-node. --auth
 * kubeconfig gives it the test environment's kubeconfig, which loads client-node's KubeConfig (and its generated
 * API: about 90 MiB more).
 *
 * Needs `npm run testenv -- up` (kube only). Cleans up what it created (namespaces, policies, pods, Jobs).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { KubeClient, PATCH } from '../src/controller/kube/client.ts';
import type { Job, ListResult, Policy } from '../src/controller/kube/resources.ts';
import { REPO_ROOT } from '../testenv/versions.ts';
import { need } from '../test/support/testenv.ts';

const { values } = parseArgs({
  options: {
    policies: { type: 'string', default: '200' }, 'pods-per-policy': { type: 'string', default: '5' }, namespaces: { type: 'string', default: '10' },
    'idle-seconds': { type: 'string', default: '60' }, rotations: { type: 'string', default: '100' }, 'rotation-interval-ms': { type: 'string', default: '300' },
    auth: { type: 'string', default: 'token' },
  },
});
const POLICIES = Number(values.policies);
const PER = Number(values['pods-per-policy']);
const NAMESPACES = Number(values.namespaces);
const IDLE_SECONDS = Number(values['idle-seconds']);
const ROTATIONS = Number(values.rotations);
const ROTATION_INTERVAL = Number(values['rotation-interval-ms']);
const RUN = randomBytes(3).toString('hex');
const BIN = path.join(REPO_ROOT, 'bin', 'binlog-archiver.js');
const AUTH = values.auth === 'kubeconfig' ? 'kubeconfig' : 'token';

function log(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  }));
}

// ---- the simulated agents: one port per pod, one process ----

interface SimBinlog { name: string; sequence: number; size: number; mtime: string; closed: boolean }
interface SimAgent { generation: number; binlogs: SimBinlog[]; waiters: Set<() => void>; server: http.Server; port: number }

const agents = new Map<string, SimAgent>();

function binlogName(seq: number): string {
  return `mysql-bin.${String(seq).padStart(6, '0')}`;
}

function stateOf(a: SimAgent) {
  return {
    generation: a.generation, instance: 'bench', binlogDir: '/binlogs', active: a.binlogs.at(-1)?.name ?? null, binlogs: a.binlogs,
    truncated: false, total: a.binlogs.length, expireLogsSeconds: 604800, now: new Date().toISOString(),
  };
}

async function startAgent(key: string): Promise<SimAgent> {
  const agent: SimAgent = { generation: 1, binlogs: [{ name: binlogName(1), sequence: 1, size: 4096, mtime: new Date().toISOString(), closed: false }], waiters: new Set(), server: http.createServer(), port: 0 };
  agent.server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const answer = () => {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(stateOf(agent)));
    };
    if (url.pathname === '/healthz') {
      res.writeHead(200).end('ok\n');
      return;
    }
    if (url.pathname !== '/v1/state') {
      res.writeHead(404).end();
      return;
    }
    const after = url.searchParams.get('after');
    const wait = Math.min(60, Number(url.searchParams.get('waitSeconds') ?? '0'));
    if (after === null || Number(after) !== agent.generation || wait <= 0) {
      answer();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      agent.waiters.delete(done);
      if (!res.writableEnded) answer();
    };
    const timer = setTimeout(done, wait * 1000);
    agent.waiters.add(done);
    req.on('close', () => {
      clearTimeout(timer);
      agent.waiters.delete(done);
    });
  });
  await new Promise<void>((resolve) => agent.server.listen(0, '127.0.0.1', resolve));
  agent.port = (agent.server.address() as AddressInfo).port;
  agents.set(key, agent);
  return agent;
}

/** A rotation: the active binlog closes, a new one opens; the generation moves on and waiting polls answer. */
function rotate(a: SimAgent): void {
  const last = a.binlogs.at(-1);
  if (last !== undefined) last.closed = true;
  const seq = (last?.sequence ?? 0) + 1;
  a.binlogs.push({ name: binlogName(seq), sequence: seq, size: 4096, mtime: new Date().toISOString(), closed: false });
  a.generation += 1;
  for (const w of [...a.waiters]) w();
}

// ---- measurements ----

function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? '0');
  return kb * 1024;
}

async function heap(metricsUrl: string): Promise<{ used: number; total: number; external: number }> {
  const text = await (await fetch(metricsUrl)).text();
  const v = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 'NaN');
  return { used: v('binlog_archiver_nodejs_heap_size_used_bytes'), total: v('binlog_archiver_nodejs_heap_size_total_bytes'), external: v('binlog_archiver_nodejs_external_memory_bytes') };
}

async function apiRequests(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith('binlog_archiver_kube_api_requests_total{')) sum += Number(line.split(' ').at(-1));
  return sum;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

// ---- main ----

const { kubeconfig } = need('kube');
const client = await KubeClient.fromKubeconfig(kubeconfig);
const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `blbench-${RUN}-${i}`);
let controller: ChildProcess | undefined;
const cleanup = async () => {
  log('cleaning up');
  for (const a of agents.values()) {
    for (const w of [...a.waiters]) w();
    a.server.closeAllConnections();
    a.server.close();
  }
  // Policies go while the controller still runs (it removes its finalizer); then everything else.
  for (const ns of namespaces) await client.request('DELETE', `/apis/binlog.archiver.dev/v1alpha1/namespaces/${ns}/binlogarchivepolicies`).catch(() => undefined);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const left = await client.request<ListResult<Policy>>('GET', '/apis/binlog.archiver.dev/v1alpha1/binlogarchivepolicies', { query: { labelSelector: `bench=${RUN}` } }).catch(() => ({ items: [] }));
    if (left.items.length === 0) break;
    await sleep(500);
  }
  if (controller !== undefined && controller.exitCode === null) {
    controller.kill('SIGTERM');
    await new Promise((r) => controller?.once('exit', r));
  }
  for (const ns of namespaces) {
    for (const r of ['/apis/binlog.archiver.dev/v1alpha1/namespaces/NS/binlogarchivepolicies', '/apis/batch/v1/namespaces/NS/jobs', '/api/v1/namespaces/NS/pods', '/apis/events.k8s.io/v1/namespaces/NS/events']) {
      await client.request('DELETE', r.replace('NS', ns), { query: { gracePeriodSeconds: 0 } }).catch(() => undefined);
    }
    const left = await client.request<ListResult<Policy>>('GET', `/apis/binlog.archiver.dev/v1alpha1/namespaces/${ns}/binlogarchivepolicies`).catch(() => ({ items: [] }));
    for (const p of left.items) {
      await client.request('PATCH', `/apis/binlog.archiver.dev/v1alpha1/namespaces/${ns}/binlogarchivepolicies/${p.metadata.name}`, { contentType: PATCH.merge, body: { metadata: { finalizers: [] } } }).catch(() => undefined);
    }
    await client.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
    await client.request('DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/blbench-${RUN}`).catch(() => undefined);
    await client.request('PUT', `/api/v1/namespaces/${ns}/finalize`, { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns }, spec: { finalizers: [] } } }).catch(() => undefined);
  }
  client.close();
};

try {
  log(`creating ${NAMESPACES} namespaces, ${POLICIES} policies, ${POLICIES * PER} pods and their simulated agents`);
  const crds = path.join(REPO_ROOT, 'crds');
  await new Promise<void>((resolve, reject) => {
    const p = spawn('kubectl', ['--kubeconfig', kubeconfig, 'apply', '-f', crds], { stdio: 'ignore' });
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kubectl apply -f crds exited ${code}`))));
  });
  for (const ns of namespaces) {
    await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { bench: RUN } } } });
    await client.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } } });
  }
  const policies = Array.from({ length: POLICIES }, (_, i) => ({ ns: namespaces[i % NAMESPACES] ?? '', name: `db-${i}` }));
  const pods = policies.flatMap((p) => Array.from({ length: PER }, (_, j) => ({ ns: p.ns, policy: p.name, name: `${p.name}-mysql-${j}` })));
  await pool(pods, 16, async (p) => {
    const agent = await startAgent(`${p.ns}/${p.name}`);
    await client.request('POST', `/api/v1/namespaces/${p.ns}/pods`, {
      body: {
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name: p.name, labels: { app: p.policy, bench: RUN }, annotations: { 'binlog.archiver.dev/agent-port': String(agent.port) } },
        spec: { nodeName: 'node-1', containers: [{ name: 'mysql', image: 'mysql:8.4' }], volumes: [{ name: 'data', hostPath: { path: '/var/lib/mysql' } }] },
      },
    });
    await client.request('PATCH', `/api/v1/namespaces/${p.ns}/pods/${p.name}/status`, {
      contentType: PATCH.merge,
      body: { status: { phase: 'Running', podIP: '127.0.0.1', podIPs: [{ ip: '127.0.0.1' }], hostIP: '127.0.0.1', startTime: new Date().toISOString() } },
    });
  });
  await pool(policies, 16, async (p) => {
    await client.request('POST', `/apis/binlog.archiver.dev/v1alpha1/namespaces/${p.ns}/binlogarchivepolicies`, {
      body: {
        apiVersion: 'binlog.archiver.dev/v1alpha1', kind: 'BinlogArchivePolicy', metadata: { name: p.name, labels: { bench: RUN } },
        spec: {
          source: { selector: { matchLabels: { app: p.name } }, binlogVolume: 'data' },
          storage: { bucket: 'bench-archive', region: 'us-east-1' },
          keyProvider: { local: { secretName: 'archive-key' } },
        },
      },
    });
  });

  // The bench's own watch of archive Jobs: when each appears.
  const jobSeen = new Map<string, number>();
  const watchAbort = new AbortController();
  const jobsList = await client.request<ListResult<Job>>('GET', '/apis/batch/v1/jobs', { query: { labelSelector: 'app.kubernetes.io/component=archive' } });
  void (async () => {
    let rv = jobsList.metadata?.resourceVersion ?? '';
    while (!watchAbort.signal.aborted) {
      try {
        await client.watch<Job>('/apis/batch/v1/jobs', { resourceVersion: rv, labelSelector: 'app.kubernetes.io/component=archive', allowWatchBookmarks: true }, (e) => {
          rv = e.object.metadata?.resourceVersion ?? rv;
          if (e.type !== 'ADDED') return;
          const a = e.object.metadata?.annotations ?? {};
          const key = `${e.object.metadata?.namespace ?? ''}/${a['binlog.archiver.dev/source-pod'] ?? ''}`;
          if (!jobSeen.has(key)) jobSeen.set(key, performance.now());
        }, watchAbort.signal);
      } catch {
        await sleep(200);
      }
    }
  })();

  log(`starting the controller (all namespaces, ${AUTH} auth)`);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'blbench-'));
  let connection = ['--kubeconfig', kubeconfig];
  if (AUTH === 'token') {
    const ns = namespaces[0] ?? '';
    await client.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'controller' } } });
    await client.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `blbench-${RUN}`, labels: { bench: RUN } },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'controller', namespace: ns }],
      },
    });
    const token = await client.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${ns}/serviceaccounts/controller/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 7200 } },
    });
    const view = await new Promise<string>((resolve, reject) => {
      const p = spawn('kubectl', ['--kubeconfig', kubeconfig, 'config', 'view', '--raw', '--minify', '-o', 'json'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      p.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
      p.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error('kubectl config view failed'))));
    });
    const cluster = (JSON.parse(view) as { clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }> }).clusters[0]?.cluster;
    fs.writeFileSync(path.join(home, 'token'), token.status.token, { mode: 0o600 });
    fs.writeFileSync(path.join(home, 'ca.crt'), Buffer.from(cluster?.['certificate-authority-data'] ?? '', 'base64'));
    connection = ['--server', cluster?.server ?? '', '--token-file', path.join(home, 'token'), '--certificate-authority', path.join(home, 'ca.crt')];
  }
  const started = performance.now();
  controller = spawn(process.execPath, [...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f !== ''), BIN, 'controller', ...connection, '--metrics-addr', '127.0.0.1:0', '--health-addr', '127.0.0.1:0', '--image', 'bench:1'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH, HOME: home } });
  const pid = controller.pid ?? 0;
  // The controller's JSON log lines (info, its default level): the metrics address, and warnings worth showing.
  let metricsUrl = '';
  let tail = '';
  let warnings = 0;
  controller.stderr?.setEncoding('utf8');
  controller.stderr?.on('data', (d: string) => {
    tail = (tail + d).slice(-4000);
    for (const line of d.split('\n')) {
      if (line.includes('"msg":"Serving metrics"')) metricsUrl = `http://${String((JSON.parse(line) as { address: string }).address)}/metrics`;
      if (line.includes('"level":"warn"') || line.includes('"level":"error"')) warnings += 1;
    }
  });
  for (let i = 0; i < 200 && metricsUrl === ''; i++) await sleep(100);
  if (metricsUrl === '') throw new Error(`the controller did not serve /metrics: ${tail}`);

  // Convergence: every policy has a status with all of its sources.
  for (;;) {
    const list = await client.request<ListResult<Policy>>('GET', '/apis/binlog.archiver.dev/v1alpha1/binlogarchivepolicies', { query: { labelSelector: `bench=${RUN}` } });
    const done = list.items.filter((p) => p.status?.sources?.length === PER && p.status.observedGeneration === p.metadata.generation).length;
    if (done === POLICIES) break;
    if (performance.now() - started > 600_000) throw new Error(`only ${done} of ${POLICIES} policies converged in 10 minutes`);
    await sleep(500);
  }
  const convergeSeconds = (performance.now() - started) / 1000;
  log(`converged in ${convergeSeconds.toFixed(1)} s; idle for ${IDLE_SECONDS} s`);

  const idleStartRequests = await apiRequests(metricsUrl);
  const idleStart = performance.now();
  const rss: number[] = [];
  while (performance.now() - idleStart < IDLE_SECONDS * 1000) {
    rss.push(rssBytes(pid));
    await sleep(2000);
  }
  const idleRequestsPerMin = ((await apiRequests(metricsUrl)) - idleStartRequests) / ((performance.now() - idleStart) / 60_000);
  const idleHeap = await heap(metricsUrl);

  log(`rotating ${ROTATIONS} distinct pods, one every ${ROTATION_INTERVAL} ms`);
  const candidates = [...agents.keys()].sort(() => Math.random() - 0.5).slice(0, ROTATIONS);
  const rotatedAt = new Map<string, number>();
  const rotStartRequests = await apiRequests(metricsUrl);
  const rotStart = performance.now();
  for (const key of candidates) {
    const a = agents.get(key);
    if (a === undefined) continue;
    rotatedAt.set(key, performance.now());
    rotate(a);
    await sleep(ROTATION_INTERVAL);
  }
  const waitUntil = performance.now() + 60_000;
  while (performance.now() < waitUntil && candidates.some((k) => !jobSeen.has(k))) await sleep(200);
  const rotRequestsPerMin = ((await apiRequests(metricsUrl)) - rotStartRequests) / ((performance.now() - rotStart) / 60_000);
  const rssAfter = rssBytes(pid);
  if (process.env.BENCH_SNAPSHOT === '1') {
    controller.kill('SIGUSR2');
    await sleep(15_000);
  }
  watchAbort.abort();
  const latencies = candidates.flatMap((k) => {
    const t0 = rotatedAt.get(k);
    const t1 = jobSeen.get(k);
    return t0 === undefined || t1 === undefined ? [] : [t1 - t0];
  }).sort((a, b) => a - b);
  const missing = candidates.length - latencies.length;

  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  const sortedRss = [...rss].sort((a, b) => a - b);
  const out = [
    '',
    `controller scale: ${POLICIES} policies, ${POLICIES * PER} pods in ${NAMESPACES} namespaces, agents simulated (one port per pod), ${AUTH} auth, kube-apiserver ${need('kube').kube.version}, ${os.cpus().length} CPUs`,
    `  start-up until every policy has a status for all its sources:  ${convergeSeconds.toFixed(1)} s`,
    `  RSS while idle (${rss.length} samples over ${IDLE_SECONDS} s):  median ${mib(quantile(sortedRss, 0.5))}, max ${mib(sortedRss.at(-1) ?? 0)}; after the rotations ${mib(rssAfter)}`,
    `  V8 heap while idle: ${mib(idleHeap.used)} used of ${mib(idleHeap.total)}; external ${mib(idleHeap.external)}`,
    `  API requests per minute:  idle ${idleRequestsPerMin.toFixed(1)}, while rotating ${rotRequestsPerMin.toFixed(1)} (${(rotRequestsPerMin / (60_000 / ROTATION_INTERVAL)).toFixed(1)} per rotation)`,
    `  controller warnings logged: ${warnings}`,
    `  rotation -> Job visible in a watch (${latencies.length} rotations${missing > 0 ? `, ${missing} without a Job within 60 s` : ''}):  ` +
      `p50 ${quantile(latencies, 0.5).toFixed(0)} ms, p95 ${quantile(latencies, 0.95).toFixed(0)} ms, max ${(latencies.at(-1) ?? Number.NaN).toFixed(0)} ms`,
    '',
  ];
  process.stdout.write(out.join('\n'));
} finally {
  await cleanup();
}
