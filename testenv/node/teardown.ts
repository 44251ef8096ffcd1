/**
 * What `down` undoes for the node, beyond the processes `up` recorded: the containers and their shims (by the pids
 * containerd wrote), every mount under the node's directory, the network namespace, the environment's cgroups,
 * the host sysctls the kubelet changes, and the CNI plugins' cached results for this environment's network.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { deleteNetns } from './netns.ts';

const run = promisify(execFile);

export interface NodeRecord {
  netns: string;
  nodeDir: string;
  /** containerd's root, kept across `up`s (image-store.ts); nothing may stay mounted under it. */
  imageStore?: string;
  containerdState: string;
  /** Its shims name this socket in their arguments. */
  containerdSocket: string;
  cgroupDirs: string[];
  /** Host sysctls (path under /proc/sys → value) as they were before the kubelet started. */
  sysctls: Record<string, string>;
  network: string;
}

/** The sysctls the kubelet sets on the host (protectKernelDefaults is off). */
export const KUBELET_SYSCTLS = ['vm/overcommit_memory', 'kernel/panic', 'kernel/panic_on_oops'];

export function readSysctls(keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [k, fs.readFileSync(`/proc/sys/${k}`, 'utf8').trim()]));
}

/** Every pid in a cgroup tree (the containers of this environment live under its cgroup root). */
function cgroupPids(dir: string): number[] {
  if (!fs.existsSync(dir)) return [];
  const pids: number[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) pids.push(...cgroupPids(path.join(dir, entry.name)));
  }
  try {
    for (const line of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line !== '') pids.push(Number(line));
  } catch {
    // removed meanwhile
  }
  return pids;
}

/** Shims of this environment's containerd: they name its socket in their arguments. */
function shimPids(containerdSocket: string): number[] {
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
    try {
      const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return path.basename(args[0] ?? '').startsWith('containerd-shim') && args.includes(containerdSocket);
    } catch {
      return false;
    }
  });
}

/**
 * Kills every process in the environment's cgroups (the containers, pause included), then the shims of its
 * containerd. The kubelet must be stopped first, or it would start the containers again.
 */
export async function killContainers(node: Pick<NodeRecord, 'cgroupDirs' | 'containerdSocket'>): Promise<number> {
  let killed = 0;
  const kill = (pid: number): void => {
    try {
      process.kill(pid, 'SIGKILL');
      killed += 1;
    } catch {
      // already gone
    }
  };
  for (let round = 0; round < 5; round += 1) {
    const pids = [...new Set(node.cgroupDirs.flatMap((d) => cgroupPids(d)))];
    if (pids.length === 0) break;
    pids.forEach(kill);
    await sleep(200);
  }
  shimPids(node.containerdSocket).forEach(kill);
  await sleep(200);
  return killed;
}

/** Mount points at or under `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const root = path.resolve(dir);
  const points = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l !== '')
    .map((l) => (l.split(' ')[4] ?? '').replace(/\\040/g, ' '))
    .filter((m) => m === root || m.startsWith(`${root}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

async function unmountAll(dir: string): Promise<void> {
  for (let round = 0; round < 3; round += 1) {
    const points = mountsUnder(dir);
    if (points.length === 0) return;
    for (const m of points) await run('umount', ['-l', m]).catch(() => undefined);
  }
}

/** rmdir of a cgroup tree, children first (cgroup directories cannot be removed with their files). */
function removeCgroupTree(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeCgroupTree(path.join(dir, entry.name));
  }
  try {
    fs.rmdirSync(dir);
  } catch {
    // a process still in it; reported by `leftovers`
  }
}

export async function teardownNode(node: NodeRecord): Promise<void> {
  await killContainers(node);
  await unmountAll(node.nodeDir);
  if (node.imageStore !== undefined) await unmountAll(node.imageStore);
  await deleteNetns(node.netns).catch(() => undefined);
  for (let attempt = 0; attempt < 10 && node.cgroupDirs.some((d) => fs.existsSync(d)); attempt += 1) {
    for (const dir of node.cgroupDirs) removeCgroupTree(dir);
    if (node.cgroupDirs.some((d) => fs.existsSync(d))) await sleep(300);
  }
  for (const [key, value] of Object.entries(node.sysctls)) fs.writeFileSync(`/proc/sys/${key}`, value);
  const results = '/var/lib/cni/results';
  for (const f of fs.existsSync(results) ? fs.readdirSync(results) : []) {
    if (f.startsWith(`${node.network}-`)) fs.rmSync(path.join(results, f), { force: true });
  }
  // Kept when something could not be removed, so a second `down` can find it again.
  if (leftovers(node).length === 0) fs.rmSync(node.nodeDir, { recursive: true, force: true });
}

/** What a teardown left behind (empty when clean): for `down` to report and for the tests. */
export function leftovers(node: NodeRecord): string[] {
  const left: string[] = [];
  for (const m of [node.nodeDir, ...(node.imageStore === undefined ? [] : [node.imageStore])].flatMap(mountsUnder)) left.push(`mount ${m}`);
  if (fs.existsSync(`/run/netns/${node.netns}`)) left.push(`netns ${node.netns}`);
  for (const d of node.cgroupDirs) if (fs.existsSync(d)) left.push(`cgroup ${d}`);
  for (const [key, value] of Object.entries(node.sysctls)) {
    const now = fs.readFileSync(`/proc/sys/${key}`, 'utf8').trim();
    if (now !== value) left.push(`sysctl ${key}=${now} (was ${value})`);
  }
  return left;
}
