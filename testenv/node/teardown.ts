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
  containerdState: string;
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

function exeOf(pid: number): string | undefined {
  try {
    return fs.realpathSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Kills the container processes, then the shims, by the pid files containerd keeps for each task. */
export async function killContainers(containerdState: string): Promise<number> {
  const tasks = path.join(containerdState, 'io.containerd.runtime.v2.task');
  const pids: { pid: number; shim: boolean }[] = [];
  for (const ns of fs.existsSync(tasks) ? fs.readdirSync(tasks) : []) {
    for (const id of fs.readdirSync(path.join(tasks, ns))) {
      for (const [file, shim] of [['init.pid', false], ['shim.pid', true]] as const) {
        const pid = readPid(path.join(tasks, ns, id, file));
        if (pid !== undefined) pids.push({ pid, shim });
      }
    }
  }
  let killed = 0;
  for (const shim of [false, true]) {
    for (const p of pids.filter((x) => x.shim === shim)) {
      const exe = exeOf(p.pid);
      // A shim pid must still be a shim (pids are recycled); a container's init can be any program.
      if (exe === undefined || (shim && !path.basename(exe).startsWith('containerd-shim'))) continue;
      try {
        process.kill(p.pid, 'SIGKILL');
        killed += 1;
      } catch {
        // already gone
      }
    }
    await sleep(200);
  }
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
  await killContainers(node.containerdState);
  await unmountAll(node.nodeDir);
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
  fs.rmSync(node.nodeDir, { recursive: true, force: true });
}

/** What a teardown left behind (empty when clean): for `down` to report and for the tests. */
export function leftovers(node: NodeRecord): string[] {
  const left: string[] = [];
  for (const m of mountsUnder(node.nodeDir)) left.push(`mount ${m}`);
  if (fs.existsSync(`/run/netns/${node.netns}`)) left.push(`netns ${node.netns}`);
  for (const d of node.cgroupDirs) if (fs.existsSync(d)) left.push(`cgroup ${d}`);
  for (const [key, value] of Object.entries(node.sysctls)) {
    const now = fs.readFileSync(`/proc/sys/${key}`, 'utf8').trim();
    if (now !== value) left.push(`sysctl ${key}=${now} (was ${value})`);
  }
  return left;
}
