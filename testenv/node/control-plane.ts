/**
 * kube-controller-manager and kube-scheduler on 127.0.0.1, from the same pinned module as kube-apiserver: the real
 * Job, ReplicaSet, garbage-collection, service-account-token, PV binder and endpoint controllers, and real scheduling.
 */
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { allocatePort } from '../ports.ts';
import { type Started, startProcess, waitReady } from '../proc.ts';

export interface ControlPlaneOptions {
  dir: string;
  kubeconfig: string;
  caCert: string;
  saPrivateKey: string;
  controllerManager: string;
  scheduler: string;
}

/** Their serving certificates are self-signed, so the probe checks only that /healthz answers ok. */
function healthz(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const request = https.get(`https://127.0.0.1:${port}/healthz`, { rejectUnauthorized: false, timeout: 2000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(response.statusCode === 200 && body === 'ok'));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
  });
}

export async function startControlPlane(o: ControlPlaneOptions, record: (s: Started) => void): Promise<void> {
  fs.mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const cmPort = await allocatePort('kube-controller-manager');
  const cm = startProcess({
    name: 'kube-controller-manager',
    command: o.controllerManager,
    args: [`--kubeconfig=${o.kubeconfig}`, `--authentication-kubeconfig=${o.kubeconfig}`, `--authorization-kubeconfig=${o.kubeconfig}`,
      '--bind-address=127.0.0.1', `--secure-port=${cmPort}`, `--cert-dir=${path.join(o.dir, 'controller-manager')}`,
      '--leader-elect=false', `--service-account-private-key-file=${o.saPrivateKey}`, `--root-ca-file=${o.caCert}`,
      '--use-service-account-credentials=false', '--pvclaimbinder-sync-period=1s', '--node-monitor-grace-period=20s',
      // The stand-in kubelet's tests (test/support/kubelet.ts) bind Pods to a node that does not exist; the Pod
      // garbage collector would delete them 40 s later.
      '--controllers=*,-pod-garbage-collector-controller', '--v=1'],
    logFile: path.join(o.dir, '..', 'kube-controller-manager.log'),
  });
  record(cm);
  const schedPort = await allocatePort('kube-scheduler');
  const sched = startProcess({
    name: 'kube-scheduler',
    command: o.scheduler,
    args: [`--kubeconfig=${o.kubeconfig}`, `--authentication-kubeconfig=${o.kubeconfig}`, `--authorization-kubeconfig=${o.kubeconfig}`,
      '--bind-address=127.0.0.1', `--secure-port=${schedPort}`, `--cert-dir=${path.join(o.dir, 'scheduler')}`, '--leader-elect=false', '--v=1'],
    logFile: path.join(o.dir, '..', 'kube-scheduler.log'),
  });
  record(sched);
  await Promise.all([waitReady(cm, () => healthz(cmPort), 90_000), waitReady(sched, () => healthz(schedPort), 90_000)]);
}
