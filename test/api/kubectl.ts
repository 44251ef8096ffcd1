/** kubectl against the test environment's API server, and a namespace per test run that is removed afterwards. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { REPO_ROOT, need } from '../support/testenv.ts';

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function kubectl(args: string[], input?: string): Promise<Result> {
  const { kubeconfig } = need('kube');
  return new Promise((resolve) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** kubectl that must succeed. */
export async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/**
 * The namespace's default ServiceAccount: the node's controller-manager creates it, an environment without the
 * node has none (then the test does). Either way it exists afterwards.
 */
export async function ensureDefaultServiceAccount(ns: string): Promise<void> {
  const r = await kubectl(['create', 'serviceaccount', 'default', '-n', ns]);
  if (r.code !== 0 && !/already exists/.test(r.stderr)) throw new Error(`kubectl create serviceaccount default -n ${ns} failed (${r.code}): ${r.stderr}`);
}

/**
 * A new namespace enforcing the `restricted` Pod Security level, labelled as it is created, with its default
 * ServiceAccount. Without that wait a Pod created at once can be refused with "serviceaccount "default" not found"
 * while the controller-manager (slow on a loaded machine) has not made it yet, not for the reason the test checks.
 */
export async function createRestrictedNamespace(ns: string): Promise<void> {
  await ok(['create', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'Namespace',
    metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' } },
  }));
  await ensureDefaultServiceAccount(ns);
}

/**
 * Installs (or updates) the project's CRDs. Test files start side by side, and two first `kubectl apply`s may both
 * try to create a CRD: one gets AlreadyExists (or a conflict), and applying again updates instead.
 */
export async function installCrds(): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const r = await kubectl(['apply', '-f', path.join(REPO_ROOT, 'crds')]);
    if (r.code === 0) break;
    if (attempt === 3 || !/AlreadyExists|the object has been modified/.test(r.stderr)) throw new Error(`kubectl apply -f crds failed (${r.code}): ${r.stderr}`);
  }
  await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/binlogarchivepolicies.binlog.archiver.dev', 'crd/binlogrestores.binlog.archiver.dev']);
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * Deletes a namespace the test created. No controller-manager runs in the test environment, so nothing empties a
 * Terminating namespace: delete the objects first, then clear the namespace's finalizer through /finalize.
 */
export async function deleteNamespace(ns: string, kinds: string): Promise<void> {
  await kubectl(['delete', kinds, '--all', '-n', ns, '--wait=false']);
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
  const body = JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns }, spec: { finalizers: [] } });
  await kubectl(['replace', '--raw', `/api/v1/namespaces/${ns}/finalize`, '-f', '-'], body);
}

export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
