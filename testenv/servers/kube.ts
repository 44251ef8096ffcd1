/**
 * etcd + kube-apiserver, started the way envtest starts them: serving certs, service-account signing keys,
 * RBAC, an admin client certificate in system:masters; plus a non-admin service-account identity.
 * With TESTENV_KUBECONFIG an existing cluster is used instead and no server is started.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { TestenvError } from '../errors.ts';
import type { Endpoints, UpContext } from '../context.ts';
import { createPki } from '../pki.ts';
import { allocatePort } from '../ports.ts';
import { httpStatus, httpsGet } from '../probe.ts';
import { startProcess, waitReady } from '../proc.ts';
import { KUBERNETES_SERVICE_IP, NODE_IP } from '../node/netns.ts';
import { VERSIONS } from '../versions.ts';

const run = promisify(execFile);
const USER_SA = 'binlog-archiver-testenv-user';

async function startEtcd(ctx: UpContext): Promise<string> {
  const dir = path.join(ctx.dir, 'etcd');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const clientPort = await allocatePort('etcd');
  const peerPort = await allocatePort('etcd', 'peer');
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const proc = startProcess({
    name: 'etcd',
    command: ctx.tools.etcd ?? '',
    args: [`--name=testenv`, `--data-dir=${path.join(dir, 'data')}`, `--listen-client-urls=${client}`, `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`, `--initial-advertise-peer-urls=${peer}`, `--initial-cluster=testenv=${peer}`,
      '--unsafe-no-fsync=true', '--log-level=warn'],
    logFile: path.join(ctx.dir, 'etcd.log'),
  });
  ctx.record(proc);
  await waitReady(proc, async () => (await httpStatus(`${client}/health`)) === 200);
  return client;
}

function kubeconfig(server: string, caFile: string, user: Record<string, string>): string {
  const ca = fs.readFileSync(caFile).toString('base64');
  const userLines = Object.entries(user).map(([k, v]) => `    ${k}: ${v}`).join('\n');
  return `apiVersion: v1
kind: Config
clusters:
- name: testenv
  cluster:
    server: ${server}
    certificate-authority-data: ${ca}
users:
- name: testenv
  user:
${userLines}
contexts:
- name: testenv
  context:
    cluster: testenv
    user: testenv
current-context: testenv
`;
}

async function kubectl(ctx: UpContext, kubeconfigFile: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(ctx.tools.kubectl ?? 'kubectl', ['--kubeconfig', kubeconfigFile, ...args]);
    return stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new TestenvError('kube', `kubectl ${args.join(' ')} failed: ${stderr.trim()}`, { cause: err });
  }
}

/** A service account with no bindings, with a short-lived token: the identity RBAC tests expect to be refused. */
async function writeUserKubeconfig(ctx: UpContext, adminKubeconfig: string, target: string): Promise<void> {
  const view = JSON.parse(await kubectl(ctx, adminKubeconfig, ['config', 'view', '--raw', '--minify', '-o', 'json'])) as {
    clusters: { cluster: { server: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string } }[];
  };
  const cluster = view.clusters[0]?.cluster;
  if (cluster === undefined) throw new TestenvError('kube', `${adminKubeconfig} names no cluster`);
  const existing = await kubectl(ctx, adminKubeconfig, ['get', 'serviceaccount', '-n', 'default', '--ignore-not-found', '-o', 'name', USER_SA]);
  if (existing.trim() === '') await kubectl(ctx, adminKubeconfig, ['create', 'serviceaccount', '-n', 'default', USER_SA]);
  const token = (await kubectl(ctx, adminKubeconfig, ['create', 'token', '-n', 'default', USER_SA, '--duration=48h'])).trim();
  const caData = cluster['certificate-authority-data'] ?? fs.readFileSync(cluster['certificate-authority'] ?? '').toString('base64');
  const caFile = path.join(path.dirname(target), 'user-ca.crt');
  fs.writeFileSync(caFile, Buffer.from(caData, 'base64'));
  fs.writeFileSync(target, kubeconfig(cluster.server, caFile, { token }), { mode: 0o600 });
}

/** The UNIX socket of the node's CONNECT proxy (testenv/node/connect-proxy.ts). */
export function egressSocket(stateDir: string): string {
  return path.join(stateDir, 'kube', 'egress.sock');
}

function writeEgressConfig(kubeDir: string): string {
  const file = path.join(kubeDir, 'egress-selector.yaml');
  fs.writeFileSync(file, `apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: ${egressSocket(path.dirname(kubeDir))}
`);
  return file;
}

export async function startKube(ctx: UpContext): Promise<Endpoints['kube'] & { kubeconfig: string; kubeconfigUser: string }> {
  const dir = path.join(ctx.dir, 'kube');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const userKubeconfig = path.join(dir, 'kubeconfig-user.yaml');
  const external = process.env.TESTENV_KUBECONFIG;
  if (external !== undefined && external !== '') {
    const adminKubeconfig = path.resolve(external);
    await kubectl(ctx, adminKubeconfig, ['get', '--raw', '/readyz']);
    await writeUserKubeconfig(ctx, adminKubeconfig, userKubeconfig);
    const version = JSON.parse(await kubectl(ctx, adminKubeconfig, ['version', '-o', 'json'])) as { serverVersion?: { gitVersion?: string } };
    const server = (await kubectl(ctx, adminKubeconfig, ['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}'])).trim();
    return { server, external: true, version: version.serverVersion?.gitVersion ?? 'unknown', kubeconfig: adminKubeconfig, kubeconfigUser: userKubeconfig };
  }

  const etcd = await startEtcd(ctx);
  const node = ctx.node === true;
  const pki = await createPki(path.join(dir, 'pki'), node ? [NODE_IP, KUBERNETES_SERVICE_IP] : []);
  // With a node, the `kubernetes` Service points at the node IP (a forwarder there reaches this loopback port),
  // and kubelets are authorized as nodes.
  // What the API server opens towards the cluster (kubelet logs and exec, Service proxies) goes through a CONNECT
  // proxy inside the node's network namespace (testenv/node/connect-proxy.ts), never through the host's routes.
  const nodeArgs = node
    ? [`--advertise-address=${NODE_IP}`, '--authorization-mode=Node,RBAC', '--enable-admission-plugins=NodeRestriction',
      '--kubelet-preferred-address-types=InternalIP', `--egress-selector-config-file=${writeEgressConfig(dir)}`,
      `--kubelet-client-certificate=${pki.adminCert}`, `--kubelet-client-key=${pki.adminKey}`,
      // The stand-in kubelet's tests hand their Jobs to it with a MutatingAdmissionPolicy setting spec.managedBy, so
      // the real Job controller leaves them alone (test/controller/helpers.ts).
      '--feature-gates=MutatingAdmissionPolicy=true', '--runtime-config=admissionregistration.k8s.io/v1beta1=true']
    : ['--advertise-address=127.0.0.1', '--authorization-mode=RBAC'];
  const port = await allocatePort('kube');
  const server = `https://127.0.0.1:${port}`;
  const proc = startProcess({
    name: 'kube-apiserver',
    command: ctx.tools.kubeApiserver ?? '',
    args: [
      ...nodeArgs, '--bind-address=127.0.0.1', `--secure-port=${port}`,
      `--etcd-servers=${etcd}`, `--cert-dir=${path.join(dir, 'certs')}`,
      `--tls-cert-file=${pki.servingCert}`, `--tls-private-key-file=${pki.servingKey}`, `--client-ca-file=${pki.caCert}`,
      '--allow-privileged=true', '--service-cluster-ip-range=10.0.0.0/24',
      `--service-account-issuer=${server}`, `--service-account-key-file=${pki.saPublicKey}`,
      `--service-account-signing-key-file=${pki.saPrivateKey}`, '--v=1',
    ],
    logFile: path.join(ctx.dir, 'kube-apiserver.log'),
  });
  ctx.record(proc);
  const tls = { ca: pki.caCert, cert: pki.adminCert, key: pki.adminKey };
  await waitReady(proc, async () => (await httpsGet(`${server}/readyz`, tls)).status === 200, 120_000);
  const adminKubeconfig = path.join(dir, 'kubeconfig.yaml');
  fs.writeFileSync(adminKubeconfig, kubeconfig(server, pki.caCert, {
    'client-certificate-data': fs.readFileSync(pki.adminCert).toString('base64'),
    'client-key-data': fs.readFileSync(pki.adminKey).toString('base64'),
  }), { mode: 0o600 });
  await writeUserKubeconfig(ctx, adminKubeconfig, userKubeconfig);
  return { server, external: false, version: VERSIONS.kubernetes, kubeconfig: adminKubeconfig, kubeconfigUser: userKubeconfig };
}
