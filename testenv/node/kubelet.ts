/**
 * The kubelet, inside the environment's network namespace, with the node IP on that namespace's `lo`.
 * Findings from the trial: cgroup v1 without systemd (cgroupfs, failCgroupV1 false), swap may be on
 * (failSwapOn false), imported images must never be collected (imageGCHighThresholdPercent 100), and the kubelet
 * refuses a loopback node IP. Its cgroups go under a root of this environment's own, so `down` removes exactly them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Started, startProcess, waitReady } from '../proc.ts';
import { NODE_IP, inNetns } from './netns.ts';

export interface KubeletOptions {
  dir: string;
  ns: string;
  kubelet: string;
  nodeName: string;
  kubeconfig: string;
  caFile: string;
  containerdSocket: string;
  cgroupRoot: string;
  port: number;
  healthzPort: number;
}

function kubeletConfig(o: KubeletOptions, resolvConf: string): string {
  return JSON.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: NODE_IP,
    port: o.port,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: o.healthzPort,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: o.caFile } },
    authorization: { mode: 'Webhook' },
    cgroupDriver: 'cgroupfs',
    cgroupRoot: o.cgroupRoot,
    failCgroupV1: false,
    failSwapOn: false,
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    clusterDNS: [NODE_IP],
    clusterDomain: 'cluster.local',
    resolvConf,
    containerRuntimeEndpoint: `unix://${o.containerdSocket}`,
    serializeImagePulls: false,
    registerNode: true,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    localStorageCapacityIsolation: false,
    syncFrequency: '5s',
    fileCheckFrequency: '5s',
    nodeStatusUpdateFrequency: '5s',
    logging: { verbosity: 1 },
  }, null, 2);
}

/** Each mounted cgroup v1 hierarchy gets the environment's root; cpuset needs its cpus and mems set before use. */
export function createCgroupRoot(cgroupRoot: string): string[] {
  const created: string[] = [];
  for (const hierarchy of fs.readdirSync('/sys/fs/cgroup')) {
    const base = path.join('/sys/fs/cgroup', hierarchy);
    if (!fs.existsSync(path.join(base, 'cgroup.procs'))) continue;
    const dir = path.join(base, cgroupRoot);
    fs.mkdirSync(dir, { recursive: true });
    created.push(dir);
    if (hierarchy === 'cpuset') {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) fs.writeFileSync(path.join(dir, f), fs.readFileSync(path.join(base, f)));
    }
  }
  return created;
}

/** Starts the kubelet and waits until `nodeReady` (asked of the API server) says the node is Ready. */
export async function startKubelet(o: KubeletOptions, record: (s: Started) => void, nodeReady: () => Promise<boolean>): Promise<Started> {
  fs.mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  // Pods resolve only cluster names: the node's own resolver would lead out of the machine.
  const resolvConf = path.join(o.dir, 'resolv.conf');
  fs.writeFileSync(resolvConf, `nameserver ${NODE_IP}\n`);
  const configFile = path.join(o.dir, 'config.json');
  fs.writeFileSync(configFile, kubeletConfig(o, resolvConf));
  const line = inNetns(o.ns, o.kubelet, ['--config', configFile, '--kubeconfig', o.kubeconfig, `--hostname-override=${o.nodeName}`,
    `--node-ip=${NODE_IP}`, `--root-dir=${path.join(o.dir, 'root')}`, `--cert-dir=${path.join(o.dir, 'pki')}`]);
  const proc = { ...startProcess({ name: 'kubelet', command: line.command, args: line.args, logFile: path.join(o.dir, '..', 'kubelet.log') }), exe: o.kubelet };
  record(proc);
  await waitReady(proc, nodeReady, 120_000);
  return proc;
}
