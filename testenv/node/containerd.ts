/**
 * containerd (Debian's) for the node, inside the environment's network namespace, with every directory under the
 * state dir: root, state, the Pods' network namespaces (netns_mounts_under_state_dir) and the CNI configuration.
 * Findings from the trial: root here lacks CAP_SYS_RESOURCE, so runc needs restrict_oom_score_adj; cgroup v1
 * without systemd, so runc uses cgroupfs. Images are imported from docker-archive tarballs, never pulled.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Started, startProcess, waitReady } from '../proc.ts';
import { NODE_IP, POD_CIDR, inNetns } from './netns.ts';

const run = promisify(execFile);

export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';

export interface ContainerdPaths {
  dir: string;
  root: string;
  state: string;
  socket: string;
  cniConfDir: string;
  cniDataDir: string;
  /** The CNI network's name: its cached results in /var/lib/cni are removed by `down`. */
  network: string;
}

/** `root` (images, snapshots, metadata) is kept across `up`s (image-store.ts); everything else is per `up`. */
export function containerdPaths(nodeDir: string, network: string, root: string): ContainerdPaths {
  const dir = path.join(nodeDir, 'containerd');
  return {
    dir, root, state: path.join(dir, 'state'), socket: path.join(dir, 'containerd.sock'),
    cniConfDir: path.join(dir, 'cni', 'net.d'), cniDataDir: path.join(dir, 'cni', 'ipam'), network,
  };
}

function config(p: ContainerdPaths, runc: string, cniBinDir: string): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${p.root}"
state = "${p.state}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "${p.socket}"
[ttrpc]
  address = "${p.socket}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${path.join(p.dir, 'opt')}"
[${cri}]
  sandbox_image = "${PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        BinaryName = "${runc}"
        SystemdCgroup = false
  [${cri}.cni]
    bin_dir = "${cniBinDir}"
    conf_dir = "${p.cniConfDir}"
    max_conf_num = 1
`;
}

/** One bridge network for the Pod CIDR; hairpin so a Pod reaches itself through a Service. */
function cniConfig(p: ContainerdPaths): string {
  return JSON.stringify({
    cniVersion: '0.4.0',
    name: p.network,
    plugins: [
      {
        type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: false, hairpinMode: true,
        ipam: { type: 'host-local', dataDir: p.cniDataDir, ranges: [[{ subnet: POD_CIDR }]], routes: [{ dst: '0.0.0.0/0' }] },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }, null, 2);
}

export async function startContainerd(p: ContainerdPaths, ns: string, tools: { containerd: string; runc: string; cniBinDir: string }, record: (s: Started) => void): Promise<void> {
  fs.mkdirSync(p.cniConfDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(p.cniConfDir, '10-testenv.conflist'), cniConfig(p));
  const configFile = path.join(p.dir, 'config.toml');
  fs.writeFileSync(configFile, config(p, tools.runc, tools.cniBinDir));
  const line = inNetns(ns, tools.containerd, ['--config', configFile, '--log-level', 'warn']);
  const proc = { ...startProcess({ name: 'containerd', command: line.command, args: line.args, logFile: path.join(p.dir, '..', 'containerd.log') }), exe: tools.containerd };
  record(proc);
  await waitReady(proc, async () => {
    await run('ctr', ['--address', p.socket, 'version']);
    return true;
  }, 60_000);
}

export { NODE_IP };
