import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { need, skipUnlessIn } from '../support/testenv.ts';

const run = promisify(execFile);

async function kubectl(kubeconfig: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

describe('Kubernetes API server (kube-apiserver + etcd)', { skip: skipUnlessIn('kube') }, () => {
  it('kubectl lists the built-in namespaces with the admin kubeconfig', async () => {
    const { kubeconfig } = need('kube');
    const { stdout } = await run('kubectl', ['--kubeconfig', kubeconfig, 'get', 'namespaces', '-o', 'name']);
    const names = stdout.trim().split('\n').sort();
    for (const ns of ['namespace/default', 'namespace/kube-public', 'namespace/kube-system']) assert.ok(names.includes(ns), `missing ${ns} in ${stdout}`);
  });

  it('reports the pinned server version', async () => {
    const { kubeconfig, kube } = need('kube');
    const { stdout } = await run('kubectl', ['--kubeconfig', kubeconfig, 'version', '-o', 'json']);
    const version = JSON.parse(stdout) as { serverVersion: { gitVersion: string } };
    if (!kube.external) assert.match(version.serverVersion.gitVersion, /^v1\.34\.\d+$/);
  });

  it('creates a ConfigMap and reads it back (stored in etcd)', async () => {
    const { kubeconfig } = need('kube');
    const name = `smoke-${randomBytes(4).toString('hex')}`;
    const value = randomBytes(8).toString('hex');
    const created = await kubectl(kubeconfig, ['create', 'configmap', name, '-n', 'default', `--from-literal=value=${value}`]);
    assert.equal(created.code, 0, created.stderr);
    const got = await kubectl(kubeconfig, ['get', 'configmap', name, '-n', 'default', '-o', 'jsonpath={.data.value}']);
    assert.equal(got.stdout, value);
    const deleted = await kubectl(kubeconfig, ['delete', 'configmap', name, '-n', 'default']);
    assert.equal(deleted.code, 0, deleted.stderr);
  });

  it('refuses the non-admin identity what RBAC does not grant, and allows it once granted', async () => {
    const { kubeconfig, kubeconfigUser } = need('kube');
    const denied = await kubectl(kubeconfigUser, ['get', 'configmaps', '-n', 'default']);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Forbidden/);
    const canI = await kubectl(kubeconfigUser, ['auth', 'can-i', 'create', 'configmaps', '-n', 'default']);
    assert.equal(canI.stdout.trim(), 'no');
    // A Role and binding for exactly "list configmaps" make that, and only that, allowed.
    const suffix = randomBytes(3).toString('hex');
    const who = (await kubectl(kubeconfigUser, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'])).stdout.trim();
    assert.match(who, /^system:serviceaccount:default:/);
    const sa = who.split(':').at(-1) ?? '';
    assert.equal((await kubectl(kubeconfig, ['create', 'role', `smoke-${suffix}`, '-n', 'default', '--verb=list', '--resource=configmaps'])).code, 0);
    assert.equal((await kubectl(kubeconfig, ['create', 'rolebinding', `smoke-${suffix}`, '-n', 'default', `--role=smoke-${suffix}`, `--serviceaccount=default:${sa}`])).code, 0);
    try {
      const allowed = await kubectl(kubeconfigUser, ['get', 'configmaps', '-n', 'default']);
      assert.equal(allowed.code, 0, allowed.stderr);
      const stillDenied = await kubectl(kubeconfigUser, ['auth', 'can-i', 'delete', 'configmaps', '-n', 'default']);
      assert.equal(stillDenied.stdout.trim(), 'no');
    } finally {
      await kubectl(kubeconfig, ['delete', 'rolebinding,role', `smoke-${suffix}`, '-n', 'default']);
    }
  });
});
