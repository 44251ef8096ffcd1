/**
 * kube-proxy (iptables mode) and CoreDNS inside the environment's network namespace, so Services and cluster DNS
 * names work in Pods. Their iptables rules and conntrack entries live in that namespace only; kube-proxy is told to
 * leave the (machine-wide) conntrack sysctls alone. CoreDNS answers cluster names only: it has no upstream.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Started, startProcess, waitReady } from '../proc.ts';
import { NODE_IP, POD_CIDR, inNetns, runInNetns } from './netns.ts';

export interface ServiceOptions {
  dir: string;
  ns: string;
  nodeName: string;
  /** An admin kubeconfig whose server is the API server's address inside the namespace. */
  kubeconfig: string;
}

export async function startKubeProxy(o: ServiceOptions, kubeProxy: string, record: (s: Started) => void): Promise<void> {
  const configFile = path.join(o.dir, 'kube-proxy.json');
  fs.writeFileSync(configFile, JSON.stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clientConnection: { kubeconfig: o.kubeconfig },
    hostnameOverride: o.nodeName,
    bindAddress: NODE_IP,
    healthzBindAddress: '127.0.0.1:10256',
    metricsBindAddress: '127.0.0.1:10249',
    clusterCIDR: POD_CIDR,
    nodePortAddresses: [`${NODE_IP}/32`],
    // Pods reach Services backed by Pods on the same bridge: masquerade makes the replies return through the node.
    iptables: { masqueradeAll: true, syncPeriod: '10s', minSyncPeriod: '0s' },
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  }, null, 2));
  const line = inNetns(o.ns, kubeProxy, ['--config', configFile, '--v=1']);
  const proc = { ...startProcess({ name: 'kube-proxy', command: line.command, args: line.args, logFile: path.join(o.dir, '..', 'kube-proxy.log') }), exe: kubeProxy };
  record(proc);
  await waitReady(proc, async () => (await runInNetns(o.ns, 'iptables', ['-t', 'nat', '-S', 'KUBE-SERVICES'])).includes('default/kubernetes'), 60_000);
}

export async function startCoreDns(o: ServiceOptions, coredns: string, record: (s: Started) => void): Promise<void> {
  const corefile = path.join(o.dir, 'Corefile');
  fs.writeFileSync(corefile, `.:53 {
    bind ${NODE_IP}
    errors
    health 127.0.0.1:8080
    ready 127.0.0.1:8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${o.kubeconfig} testenv
        pods insecure
    }
    cache 5
}
`);
  const line = inNetns(o.ns, coredns, ['-conf', corefile]);
  const proc = { ...startProcess({ name: 'coredns', command: line.command, args: line.args, logFile: path.join(o.dir, '..', 'coredns.log') }), exe: coredns };
  record(proc);
  const probe = 'exec 3<>/dev/tcp/127.0.0.1/8181 && printf "GET /ready HTTP/1.0\\r\\n\\r\\n" >&3 && head -n1 <&3';
  await waitReady(proc, async () => (await runInNetns(o.ns, 'bash', ['-c', probe])).includes(' 200 '), 60_000);
}
