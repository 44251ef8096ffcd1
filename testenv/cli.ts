/**
 * `npm run testenv -- up|down|status [--only kube,s3,kms,vault,mysql,gcs,gcpkms] [--no-node]`
 * Starts the real servers the tests talk to on 127.0.0.1, writes .testenv/endpoints.json, and stops exactly
 * what it started. See docs/TESTING.md.
 */
import fs from 'node:fs';
import type { Endpoints } from './context.ts';
import { TestenvError } from './errors.ts';
import { isRunning, stopProcess, type Started } from './proc.ts';
import { startGcs } from './servers/gcs.ts';
import { startGcpKms } from './servers/gcpkms.ts';
import { startKms } from './servers/kms.ts';
import { startKube } from './servers/kube.ts';
import { startMariadb } from './servers/mariadb.ts';
import { startS3 } from './servers/s3.ts';
import { startVault } from './servers/vault.ts';
import { NODE_NAME, type NodeContext, type NodeEndpoints, type NodeTools, prepareNode, startNode } from './servers/node.ts';
import { releaseImageStore } from './node/image-store.ts';
import { type NodeChoice, checkNodeCanRun, nodeChoice } from './node/preflight.ts';
import { killContainers, leftovers, teardownNode } from './node/teardown.ts';
import { type State, endpointsPath, readEndpoints, readState, statePath, writeJsonAtomic } from './state.ts';
import { ensureTools } from './tools.ts';
import { stateDir } from './versions.ts';

export const ALL_SERVERS = ['kube', 's3', 'kms', 'vault', 'mysql', 'gcs', 'gcpkms'] as const;
type Server = (typeof ALL_SERVERS)[number];

function log(message: string): void {
  process.stderr.write(`testenv: ${message}\n`);
}

function parseServers(argv: string[]): Server[] {
  const index = argv.indexOf('--only');
  const raw = index >= 0 ? argv[index + 1] : process.env.TESTENV_SERVERS;
  if (raw === undefined || raw === '') return [...ALL_SERVERS];
  const names = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const name of names) {
    if (!(ALL_SERVERS as readonly string[]).includes(name)) {
      throw new TestenvError('testenv', `unknown server "${name}"; choose from ${ALL_SERVERS.join(', ')}`);
    }
  }
  return names as Server[];
}

function running(state: State): boolean {
  return state.processes.length > 0 && state.processes.every((p) => isRunning(p.pid, p.exe));
}

async function down(dir: string): Promise<void> {
  const state = readState(dir);
  if (state === undefined) {
    log('nothing to stop');
    return;
  }
  // The kubelet goes first, so it restarts no container while the containers and their shims are killed.
  const kubelet = state.processes.filter((p) => p.name === 'kubelet');
  const rest = [...state.processes].reverse().filter((p) => p.name !== 'kubelet');
  // Its graceful shutdown waits on Pods for many seconds; nothing of it needs saving, so it gets 2 s.
  for (const p of kubelet) {
    const t = Date.now();
    await stopProcess(p.pid, p.exe, 2000);
    log(`stopped kubelet (pid ${p.pid}, ${((Date.now() - t) / 1000).toFixed(1)}s)`);
  }
  if (state.node !== undefined) {
    log(`killed ${await killContainers(state.node)} container processes and shims`);
    await keepImages(state);
  }
  for (const p of rest) {
    const t = Date.now();
    await stopProcess(p.pid, p.exe);
    log(`stopped ${p.name} (pid ${p.pid}, ${((Date.now() - t) / 1000).toFixed(1)}s)`);
  }
  if (state.node !== undefined) {
    await teardownNode(state.node);
    const left = leftovers(state.node);
    if (left.length > 0) throw new TestenvError('node', `down left behind: ${left.join('; ')}`);
    log(`node removed (network namespace ${state.node.netns}, mounts, cgroups; sysctls restored)`);
  }
  fs.rmSync(statePath(dir), { force: true });
  fs.rmSync(endpointsPath(dir), { force: true });
}

/** While containerd still runs: its containers go, its images stay for the next `up` (image-store.ts). */
async function keepImages(state: State): Promise<void> {
  const containerd = state.processes.find((p) => p.name === 'containerd');
  const store = state.node?.imageStore;
  if (store === undefined || containerd === undefined || !isRunning(containerd.pid, containerd.exe) || state.node === undefined) return;
  try {
    log(`image store kept for the next up (${await releaseImageStore(store, state.node.containerdSocket)} containers removed from it)`);
  } catch (err) {
    log(`image store not kept (the next up imports again): ${err instanceof Error ? err.message : String(err)}`);
  }
}

function addNodeEndpoints(endpoints: Partial<Endpoints>, node: NodeEndpoints): void {
  if (endpoints.kube !== undefined) endpoints.kube = { ...endpoints.kube, nodes: node.nodes, podEndpoint: node.podEndpoints.kube };
  for (const key of ['s3', 'kms', 'vault', 'mysql', 'gcs', 'gcpkms'] as const) {
    const server = endpoints[key];
    const url = node.podEndpoints[key];
    if (server !== undefined && url !== undefined) Object.assign(server, { podEndpoint: url });
  }
  if (node.image !== undefined) endpoints.image = node.image;
  if (node.mariadbImage !== undefined) endpoints.mariadbImage = node.mariadbImage;
}

async function up(dir: string, servers: Server[], choice: NodeChoice): Promise<void> {
  const node = choice.node;
  if (node && !servers.includes('kube')) throw new TestenvError('node', 'the node needs the kube server: add kube to TESTENV_SERVERS / --only');
  const existing = readState(dir);
  if (existing !== undefined) {
    const sameSet = servers.every((s) => existing.servers.includes(s)) && (!choice.explicit || !node || existing.node !== undefined);
    if (running(existing) && sameSet && readEndpoints(dir) !== undefined) {
      const without = node && existing.node === undefined ? ' without the node (down, then up, to add it)' : '';
      log(`already up${without} (${existing.servers.join(', ')}); endpoints in ${endpointsPath(dir)}`);
      return;
    }
    log('a previous environment is partly running or different; stopping it first');
    await down(dir);
  }
  if (node) checkNodeCanRun();
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const started = Date.now();
  const tools = await ensureTools(new Set<string>(node ? [...servers, 'node'] : servers));
  const state: State = { startedAt: new Date().toISOString(), servers, processes: [] };
  const ctx: NodeContext = {
    dir,
    tools,
    node,
    record(proc: Started) {
      state.processes.push({ name: proc.name, pid: proc.pid, exe: proc.exe, logFile: proc.logFile });
      writeJsonAtomic(statePath(dir), state);
      log(`started ${proc.name} (pid ${proc.pid}, log ${proc.logFile})`);
    },
    recordNode(record) {
      state.node = record;
      writeJsonAtomic(statePath(dir), state);
    },
    log,
  };
  writeJsonAtomic(statePath(dir), state);
  const endpoints: Partial<Endpoints> = {};
  const starters: Record<Server, () => Promise<void>> = {
    kube: async () => {
      const { kubeconfig, kubeconfigUser, ...kube } = await startKube(ctx);
      Object.assign(endpoints, { kubeconfig, kubeconfigUser, kube });
    },
    s3: async () => void (endpoints.s3 = await startS3(ctx)),
    kms: async () => void (endpoints.kms = await startKms(ctx)),
    vault: async () => void (endpoints.vault = await startVault(ctx)),
    mysql: async () => void (endpoints.mysql = await startMariadb(ctx)),
    gcs: async () => void (endpoints.gcs = await startGcs(ctx)),
    gcpkms: async () => void (endpoints.gcpkms = await startGcpKms(ctx)),
  };
  // Start concurrently (the node's first phase too: it needs no server); if any fails, stop everything that did
  // start and report every failure.
  const prepared = node ? prepareNode(ctx, tools as NodeTools) : undefined;
  prepared?.catch(() => undefined);
  const results = await Promise.allSettled([...servers.map(async (s) => {
    await starters[s]();
    log(`${s} ready`);
  }), ...(prepared === undefined ? [] : [prepared])]);
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length === 0 && prepared !== undefined) {
    try {
      const started = await startNode(ctx, tools as NodeTools, endpoints, await prepared);
      addNodeEndpoints(endpoints, started);
      log(`node ${NODE_NAME} ready`);
    } catch (err) {
      failures.push(err);
    }
  }
  if (failures.length > 0) {
    log('start failed; stopping what was started');
    await down(dir);
    throw failures.length === 1 ? failures[0] : new TestenvError('testenv', failures.map((f) => (f instanceof Error ? f.message : String(f))).join('\n  '));
  }
  if (choice.absent !== undefined) endpoints.noNode = choice.absent;
  writeJsonAtomic(endpointsPath(dir), endpoints);
  log(`up in ${((Date.now() - started) / 1000).toFixed(1)}s (${servers.join(', ')}); endpoints in ${endpointsPath(dir)}`);
}

function status(dir: string): boolean {
  const state = readState(dir);
  if (state === undefined) {
    process.stdout.write('down\n');
    return false;
  }
  let all = true;
  for (const p of state.processes) {
    const alive = isRunning(p.pid, p.exe);
    all &&= alive;
    process.stdout.write(`${p.name.padEnd(16)} pid ${String(p.pid).padEnd(8)} ${alive ? 'running' : 'NOT RUNNING'}  log ${p.logFile}\n`);
  }
  process.stdout.write(`endpoints: ${fs.existsSync(endpointsPath(dir)) ? endpointsPath(dir) : '(none)'}\n`);
  return all && state.processes.length > 0;
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  const dir = stateDir();
  switch (command) {
    case 'up': {
      const servers = parseServers(argv.slice(1));
      await up(dir, servers, nodeChoice(argv, servers));
      return 0;
    }
    case 'down':
      await down(dir);
      return 0;
    case 'status':
      return status(dir) ? 0 : 3;
    default:
      process.stderr.write('usage: npm run testenv -- up|down|status [--only kube,s3,kms,vault,mysql,gcs,gcpkms] [--no-node]\n');
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`testenv: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
