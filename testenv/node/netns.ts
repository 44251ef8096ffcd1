/**
 * The node's network: one network namespace per environment (`blarc-<hash of the state dir>`), whose `lo` carries
 * the node IP (192.0.2.10, a documentation address that exists nowhere else) and whose bridge carries the Pod CIDR.
 * containerd, the kubelet, kube-proxy and CoreDNS run inside it (nsenter --net: the mount namespace stays the
 * host's, so the kubelet's volume mounts are visible to containerd). Nothing binds or routes to the machine's own
 * interfaces: host servers stay on 127.0.0.1 and are joined to the namespace by socat over UNIX sockets, which are
 * shared across network namespaces.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { TestenvError } from '../errors.ts';
import { findCommand } from '../packages.ts';

const run = promisify(execFile);

export const NODE_IP = '192.0.2.10';
export const POD_CIDR = '10.244.0.0/24';
export const SERVICE_CIDR = '10.0.0.0/24';
/** The `kubernetes` Service's cluster IP (the first of SERVICE_CIDR). */
export const KUBERNETES_SERVICE_IP = '10.0.0.1';

export function netnsName(stateDir: string): string {
  return `blarc-${createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 10)}`;
}

export function netnsPath(name: string): string {
  return `/run/netns/${name}`;
}

async function ip(args: string[]): Promise<string> {
  try {
    return (await run('ip', args)).stdout;
  } catch (err) {
    throw new TestenvError('node', `ip ${args.join(' ')} failed: ${((err as { stderr?: string }).stderr ?? '').trim()}`, { cause: err });
  }
}

/** A command line that runs `command` in the namespace; nsenter execs it, so the pid is the command's own. */
export function inNetns(name: string, command: string, args: string[]): { command: string; args: string[] } {
  return { command: findCommand('nsenter') ?? '/usr/bin/nsenter', args: [`--net=${netnsPath(name)}`, '--', command, ...args] };
}

export async function runInNetns(name: string, command: string, args: string[]): Promise<string> {
  const line = inNetns(name, command, args);
  try {
    return (await run(line.command, line.args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (err) {
    throw new TestenvError('node', `${command} ${args.join(' ')} in ${name} failed: ${((err as { stderr?: string }).stderr ?? '').trim()}`, { cause: err });
  }
}

/** Per-namespace sysctls (these never change the host's). */
const NETNS_SYSCTLS: Record<string, string> = {
  'net/ipv4/ip_forward': '1',
  'net/bridge/bridge-nf-call-iptables': '1',
  'net/ipv4/conf/all/route_localnet': '1',
};

export async function createNetns(name: string): Promise<void> {
  if (fs.existsSync(netnsPath(name))) await deleteNetns(name);
  await ip(['netns', 'add', name]);
  await ip(['-n', name, 'link', 'set', 'lo', 'up']);
  await ip(['-n', name, 'addr', 'add', `${NODE_IP}/32`, 'dev', 'lo']);
  const writes = Object.entries(NETNS_SYSCTLS).map(([key, value]) => `echo ${value} > /proc/sys/${key}`).join(' && ');
  await runInNetns(name, 'sh', ['-c', writes]);
}

export async function deleteNetns(name: string): Promise<void> {
  if (!fs.existsSync(netnsPath(name))) return;
  await ip(['netns', 'delete', name]);
}

/** The two socat halves that join a host port and a port inside the namespace through a UNIX socket. */
export interface Bridge {
  name: string;
  socket: string;
  /** Runs on the host. */
  host: { command: string; args: string[] };
  /** Runs in the namespace. */
  inside: { command: string; args: string[] };
}

/** Pods reach `127.0.0.1:hostPort` on the host at `NODE_IP:insidePort` in the namespace. */
export function exposeToPods(ns: string, socat: string, name: string, socket: string, hostPort: number, insidePort = hostPort): Bridge {
  return {
    name, socket,
    host: { command: socat, args: [`UNIX-LISTEN:${socket},fork,unlink-early,mode=600`, `TCP:127.0.0.1:${hostPort}`] },
    inside: inNetns(ns, socat, [`TCP-LISTEN:${insidePort},bind=${NODE_IP},fork,reuseaddr`, `UNIX-CONNECT:${socket}`]),
  };
}

/** The host reaches `NODE_IP:insidePort` in the namespace at `127.0.0.1:hostPort` (the kubelet's port, for logs). */
export function exposeToHost(ns: string, socat: string, name: string, socket: string, hostPort: number, insidePort: number): Bridge {
  return {
    name, socket,
    host: { command: socat, args: [`TCP-LISTEN:${hostPort},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${socket}`] },
    inside: inNetns(ns, socat, [`UNIX-LISTEN:${socket},fork,unlink-early,mode=600`, `TCP:${NODE_IP}:${insidePort}`]),
  };
}
