/**
 * What the node needs from the machine beyond packages (those testenv/packages.ts installs): root with the
 * capabilities to make a network namespace, mounts and cgroups, cgroup v1 hierarchies (the only layout tried here),
 * overlayfs for containerd's snapshots, br_netfilter for kube-proxy's rules on the Pod bridge, and writable host
 * sysctls (the kubelet sets some). Checked before anything starts, so a machine that cannot run the node fails at
 * once with every missing piece named, and the opt-out. The node is on by default when the environment runs its
 * own API server.
 */
import fs from 'node:fs';
import { TestenvError } from '../errors.ts';

/** Capability bits (linux/capability.h). */
const CAPS: Record<string, number> = { CAP_NET_ADMIN: 12, CAP_SYS_ADMIN: 21 };

function effectiveCaps(status: string): bigint {
  const line = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return line?.[1] === undefined ? 0n : BigInt(`0x${line[1]}`);
}

/** Whether to start the node: on by default with the environment's own API server; `--no-node` / TESTENV_NODE=0 opt out. */
export interface NodeChoice {
  node: boolean;
  /** Asked for by name (`--node`, TESTENV_NODE=1): an environment running without it is restarted with it. */
  explicit: boolean;
  /** Why there is no node, recorded in endpoints.json for the tests' skip reasons. */
  absent?: string;
}

export function nodeChoice(argv: readonly string[], servers: readonly string[], env: NodeJS.ProcessEnv = process.env): NodeChoice {
  const flag = env.TESTENV_NODE ?? '';
  if (argv.includes('--no-node') || flag === '0') return { node: false, explicit: true, absent: argv.includes('--no-node') ? 'up --no-node' : 'TESTENV_NODE=0' };
  if (argv.includes('--node') || flag === '1') return { node: true, explicit: true };
  if (flag !== '') throw new TestenvError('testenv', `TESTENV_NODE=${flag}: use 1 (start the node) or 0 (no node)`);
  if (!servers.includes('kube')) return { node: false, explicit: false, absent: 'the kube server is not started' };
  if ((env.TESTENV_KUBECONFIG ?? '') !== '') return { node: false, explicit: false, absent: 'TESTENV_KUBECONFIG (an existing cluster)' };
  return { node: true, explicit: false };
}

export interface Machine {
  uid: number;
  /** /proc/self/status */
  status: string;
  /** /proc/filesystems */
  filesystems: string;
  exists(path: string): boolean;
  writable(path: string): boolean;
}

function thisMachine(): Machine {
  const read = (p: string): string => {
    try {
      return fs.readFileSync(p, 'utf8');
    } catch {
      return '';
    }
  };
  return {
    uid: process.getuid?.() ?? -1,
    status: read('/proc/self/status'),
    filesystems: read('/proc/filesystems'),
    exists: (p) => fs.existsSync(p),
    writable: (p) => {
      try {
        fs.accessSync(p, fs.constants.W_OK);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** Every missing piece, each saying what to do; empty when the node can run. */
export function nodeMissing(m: Machine = thisMachine()): string[] {
  const missing: string[] = [];
  if (m.uid !== 0) missing.push('root (the node makes a network namespace, mounts and cgroups): run as root');
  const caps = effectiveCaps(m.status);
  const lacking = Object.entries(CAPS).filter(([, bit]) => (caps & (1n << BigInt(bit))) === 0n).map(([name]) => name);
  if (m.uid === 0 && lacking.length > 0) missing.push(`the capabilities ${lacking.join(', ')} (a container needs --privileged)`);
  if (m.exists('/sys/fs/cgroup/cgroup.controllers')) {
    missing.push('cgroup v1: this machine has the unified cgroup v2 hierarchy, which the test node does not support yet');
  } else {
    const hierarchies = ['cpu', 'cpuset', 'memory', 'pids'].filter((h) => !m.exists(`/sys/fs/cgroup/${h}/cgroup.procs`));
    if (hierarchies.length > 0) missing.push(`the cgroup v1 hierarchies ${hierarchies.join(', ')} mounted under /sys/fs/cgroup`);
  }
  if (!/\toverlay$/m.test(m.filesystems)) missing.push('overlayfs (modprobe overlay)');
  if (!m.exists('/proc/sys/net/bridge/bridge-nf-call-iptables')) missing.push('br_netfilter (modprobe br_netfilter)');
  if (m.uid === 0 && !m.writable('/proc/sys/vm/overcommit_memory')) missing.push('writable host sysctls (/proc/sys is read-only here)');
  return missing;
}

export function checkNodeCanRun(m?: Machine): void {
  const missing = nodeMissing(m);
  if (missing.length === 0) return;
  throw new TestenvError('node', `this machine cannot run the test node; it lacks: ${missing.join('; ')}. ` +
    'Opt out with `npm run testenv -- up --no-node` or TESTENV_NODE=0 (the tests that need the node are then skipped, saying why)');
}
