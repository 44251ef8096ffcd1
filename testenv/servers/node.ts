/**
 * A real node (`up --node` or TESTENV_NODE=1): containerd, kubelet, kube-proxy and CoreDNS in the environment's
 * network namespace, kube-controller-manager and kube-scheduler beside the API server, the pause image built and
 * imported locally, and each host server exposed to Pods at the node IP. See docs/TESTING.md, "The node".
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Endpoints, UpContext } from '../context.ts';
import { TestenvError } from '../errors.ts';
import { writeDockerArchive } from '../image/docker-archive.ts';
import { cachedMariadbImage } from '../image/mariadb-image.ts';
import { MARIADB_IMAGE, PROJECT_IMAGE, cachedProjectImage } from '../image/project-image.ts';
import { issueClientCert } from '../pki.ts';
import { startProcess } from '../proc.ts';
import { PAUSE_IMAGE, containerdPaths, startContainerd } from '../node/containerd.ts';
import { imageStoreDir, importIfChanged, openImageStore } from '../node/image-store.ts';
import { startControlPlane } from '../node/control-plane.ts';
import { createCgroupRoot, startKubelet } from '../node/kubelet.ts';
import { NODE_IP, createNetns, exposeToPods, inNetns, netnsName } from '../node/netns.ts';
import { egressSocket } from './kube.ts';
import type { Tools } from '../tools.ts';
import { REPO_ROOT } from '../versions.ts';
import { startCoreDns, startKubeProxy } from '../node/services.ts';
import { KUBELET_SYSCTLS, type NodeRecord, readSysctls } from '../node/teardown.ts';

const run = promisify(execFile);
export const NODE_NAME = 'testenv-node';

/** The tools `up --node` builds or installs (testenv/tools.ts), plus kubectl. */
export type NodeTools = Pick<Tools, 'kubelet' | 'kubeControllerManager' | 'kubeScheduler' | 'kubeProxy' | 'coredns' | 'pause' | 'containerd' | 'runc' | 'socat' | 'cniBinDir' | 'kubectl'>;

export interface NodeContext extends UpContext {
  recordNode(node: NodeRecord): void;
  /** A progress line on stderr. */
  log(message: string): void;
}

/** The admin kubeconfig with the server as Pods and node processes reach it: the node IP, same port. */
function insideKubeconfig(adminKubeconfig: string, port: number, out: string): void {
  fs.writeFileSync(out, fs.readFileSync(adminKubeconfig, 'utf8').replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://${NODE_IP}:${port}`), { mode: 0o600 });
}

/** The sandbox image as a docker-archive, written once beside the cached pause binary (so its import is skipped when the store has it). */
async function pauseImage(pause: string): Promise<string> {
  const tarball = `${pause}.tar`;
  if (fs.existsSync(tarball)) return tarball;
  const root = `${pause}.rootfs-${process.pid}`;
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  fs.copyFileSync(pause, path.join(root, 'pause'));
  fs.chmodSync(path.join(root, 'pause'), 0o755);
  try {
    await writeDockerArchive(`${tarball}.partial`, { reference: PAUSE_IMAGE, layers: [{ dir: root, comment: 'pause (testenv/go/pause)' }], config: { Entrypoint: ['/pause'], User: '65535:65535' } });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  fs.renameSync(`${tarball}.partial`, tarball);
  return tarball;
}

async function nodeReady(kubectl: string, kubeconfig: string): Promise<boolean> {
  const { stdout } = await run(kubectl, ['--kubeconfig', kubeconfig, 'get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
  return stdout.trim() === 'True';
}

type PodEndpoints = Partial<Record<'kube' | 's3' | 'kms' | 'vault' | 'mysql' | 'gcs' | 'gcpkms', string>>;

/** Joins each host server's port to the node IP; returns the URL a Pod uses for each. */
function exposeServers(ctx: NodeContext, ns: string, socat: string, fwdDir: string, endpoints: Partial<Endpoints>): PodEndpoints {
  const ports: Record<string, { port: number; url: (port: number) => string }> = {};
  const portOf = (url: string): number => Number(new URL(url).port);
  if (endpoints.kube !== undefined) ports.kube = { port: portOf(endpoints.kube.server), url: (p) => `https://${NODE_IP}:${p}` };
  if (endpoints.s3 !== undefined) ports.s3 = { port: portOf(endpoints.s3.endpoint), url: (p) => `http://${NODE_IP}:${p}` };
  if (endpoints.kms !== undefined) ports.kms = { port: portOf(endpoints.kms.endpoint), url: (p) => `http://${NODE_IP}:${p}` };
  if (endpoints.vault !== undefined) ports.vault = { port: portOf(endpoints.vault.addr), url: (p) => `http://${NODE_IP}:${p}` };
  if (endpoints.mysql !== undefined) ports.mysql = { port: endpoints.mysql.port, url: (p) => `mysql://${NODE_IP}:${p}` };
  // fake-gcs builds a resumable upload's Location from the request's Host header, so the node IP works as is.
  if (endpoints.gcs !== undefined) ports.gcs = { port: portOf(endpoints.gcs.endpoint), url: (p) => `http://${NODE_IP}:${p}` };
  if (endpoints.gcpkms !== undefined) ports.gcpkms = { port: portOf(endpoints.gcpkms.endpoint), url: (p) => `http://${NODE_IP}:${p}` };
  const result: PodEndpoints = {};
  for (const [name, { port, url }] of Object.entries(ports)) {
    const bridge = exposeToPods(ns, socat, `fwd-${name}`, path.join(fwdDir, `${name}.sock`), port);
    for (const [side, line] of [['host', bridge.host], ['node', bridge.inside]] as const) {
      const proc = startProcess({ name: `${bridge.name}-${side}`, command: line.command, args: line.args, logFile: path.join(fwdDir, `${name}-${side}.log`) });
      ctx.record({ ...proc, exe: socat });
    }
    result[name as keyof PodEndpoints] = url(port);
  }
  return result;
}

export interface NodeEndpoints {
  nodes: string[];
  podEndpoints: PodEndpoints;
  /** The project image's reference on the node, once it is built and imported. */
  image?: string;
  /** The MariaDB server image (testenv/image/mariadb-image.ts), for MySQL Pods on the node. */
  mariadbImage?: string;
}

/** What the first phase made: the node's directory, namespace, containerd, and the images being imported. */
export interface PreparedNode {
  nodeDir: string;
  ns: string;
  record: NodeRecord;
  containerdSocket: string;
  /** Settles when both images are in containerd's store. */
  images: Promise<void>;
}

/**
 * The part of the node that needs no server: the network namespace, containerd and the image imports. It runs
 * while the servers start, so a warm `up` waits for it only as long as the API server takes anyway.
 */
export async function prepareNode(ctx: NodeContext, tools: Pick<NodeTools, 'containerd' | 'runc' | 'cniBinDir' | 'pause'>): Promise<PreparedNode> {
  const nodeDir = path.join(ctx.dir, 'node');
  fs.rmSync(nodeDir, { recursive: true, force: true });
  fs.mkdirSync(nodeDir, { recursive: true, mode: 0o700 });
  const ns = netnsName(ctx.dir);
  const storeDir = imageStoreDir(ctx.dir);
  const store = openImageStore(storeDir);
  const containerd = containerdPaths(nodeDir, ns, store.root);
  const record: NodeRecord = { netns: ns, nodeDir, imageStore: storeDir, containerdState: containerd.state, containerdSocket: containerd.socket, cgroupDirs: [], sysctls: readSysctls(KUBELET_SYSCTLS), network: ns };
  ctx.recordNode(record);
  await createNetns(ns);
  await startContainerd(containerd, ns, tools, (p) => ctx.record(p));
  // Built (or reused) and imported only when the kept store lacks them.
  const images = (async () => {
    const t = Date.now();
    const imported = await Promise.all([
      importIfChanged(storeDir, containerd.socket, PAUSE_IMAGE, await pauseImage(tools.pause)),
      importIfChanged(storeDir, containerd.socket, PROJECT_IMAGE, (await cachedProjectImage(REPO_ROOT)).tarball),
      importIfChanged(storeDir, containerd.socket, MARIADB_IMAGE, (await cachedMariadbImage()).tarball),
    ]);
    const what = imported.some(Boolean) ? `imported ${[PAUSE_IMAGE, PROJECT_IMAGE, MARIADB_IMAGE].filter((_, i) => imported[i]).join(', ')}` : 'images unchanged, nothing imported';
    ctx.log(`${what} (${store.reused ? 'kept' : 'new'} image store, ${((Date.now() - t) / 1000).toFixed(1)}s)`);
  })();
  images.catch(() => undefined);
  return { nodeDir, ns, record, containerdSocket: containerd.socket, images };
}

/** The rest, once the servers are up: bridges to them, the control plane, the kubelet, kube-proxy and CoreDNS. */
export async function startNode(ctx: NodeContext, tools: NodeTools, endpoints: Partial<Endpoints>, prepared: PreparedNode): Promise<NodeEndpoints> {
  const pkiDir = path.join(ctx.dir, 'kube', 'pki');
  const pki = { caCert: path.join(pkiDir, 'ca.crt'), saPrivateKey: path.join(pkiDir, 'sa.key') };
  if (endpoints.kube === undefined || endpoints.kube.external) throw new TestenvError('node', 'the node needs the environment\'s own API server (not TESTENV_KUBECONFIG)');
  const { nodeDir, ns, record } = prepared;
  const cgroupRoot = `/${ns}`;
  const proxy = inNetns(ns, process.execPath, [path.join(REPO_ROOT, 'testenv', 'node', 'connect-proxy.ts'), egressSocket(ctx.dir)]);
  ctx.record({ ...startProcess({ name: 'egress-proxy', command: proxy.command, args: proxy.args, logFile: path.join(nodeDir, 'egress-proxy.log') }), exe: process.execPath });
  const fwdDir = path.join(nodeDir, 'fwd');
  fs.mkdirSync(fwdDir, { mode: 0o700 });
  const podEndpoints = exposeServers(ctx, ns, tools.socat, fwdDir, endpoints);
  const kubePort = Number(new URL(endpoints.kube.server).port);
  const adminInside = path.join(nodeDir, 'kubeconfig-inside.yaml');
  insideKubeconfig(endpoints.kubeconfig ?? '', kubePort, adminInside);

  const services = { dir: path.join(nodeDir, 'services'), ns, nodeName: NODE_NAME, kubeconfig: adminInside };
  fs.mkdirSync(services.dir, { recursive: true });
  // kube-proxy and CoreDNS need only the API server: they start beside the control plane and the kubelet.
  const proxyAndDns = Promise.all([startKubeProxy(services, tools.kubeProxy, (p) => ctx.record(p)), startCoreDns(services, tools.coredns, (p) => ctx.record(p))]);
  proxyAndDns.catch(() => undefined);
  // Nor does the kubelet need the controller-manager or the scheduler to register and become Ready.
  const controlPlane = startControlPlane({ dir: path.join(nodeDir, 'control-plane'), kubeconfig: endpoints.kubeconfig ?? '', caCert: pki.caCert,
    saPrivateKey: pki.saPrivateKey, controllerManager: tools.kubeControllerManager, scheduler: tools.kubeScheduler }, (p) => ctx.record(p));
  controlPlane.catch(() => undefined);

  const nodeCert = await issueClientCert(pkiDir, 'node', `/O=system:nodes/CN=system:node:${NODE_NAME}`);
  const kubeletKubeconfig = path.join(nodeDir, 'kubeconfig-kubelet.yaml');
  const ca = fs.readFileSync(pki.caCert).toString('base64');
  fs.writeFileSync(kubeletKubeconfig, `apiVersion: v1
kind: Config
clusters: [{name: testenv, cluster: {server: "https://${NODE_IP}:${kubePort}", certificate-authority-data: ${ca}}}]
users: [{name: node, user: {client-certificate: ${nodeCert.cert}, client-key: ${nodeCert.key}}}]
contexts: [{name: testenv, context: {cluster: testenv, user: node}}]
current-context: testenv
`, { mode: 0o600 });
  record.cgroupDirs = createCgroupRoot(cgroupRoot);
  ctx.recordNode(record);
  await startKubelet({ dir: path.join(nodeDir, 'kubelet'), ns, kubelet: tools.kubelet, nodeName: NODE_NAME, kubeconfig: kubeletKubeconfig,
    caFile: pki.caCert, containerdSocket: prepared.containerdSocket, cgroupRoot, port: 10250, healthzPort: 10248 },
  (p) => ctx.record(p), () => nodeReady(tools.kubectl, endpoints.kubeconfig ?? ''));
  await Promise.all([controlPlane, proxyAndDns, prepared.images]);
  return { nodes: [NODE_NAME], podEndpoints, image: PROJECT_IMAGE, mariadbImage: MARIADB_IMAGE };
}
