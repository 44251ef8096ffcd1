// test-resources: cpu
/**
 * `up` / `down` themselves: idempotent, stop exactly what they started, and fail fast, naming the server and
 * its log, when a port is taken, a server dies at start, or a tool is missing. Each case uses its own
 * TESTENV_DIR so the shared environment is untouched.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isRunning } from '../../testenv/proc.ts';
import { VERSIONS, stateDir, toolDir } from '../../testenv/versions.ts';
import { REPO_ROOT, skipUnlessIn } from '../support/testenv.ts';

interface Result { code: number; stdout: string; stderr: string }

/** Without the node (test/node/lifecycle.test.ts covers `up` and `down` with it): these cases test the servers. */
function testenv(args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(REPO_ROOT, 'testenv', 'cli.ts'), ...args], { env: { ...process.env, TESTENV_SERVERS: '', TESTENV_NODE: '0', ...env } },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }));
  });
}

function startedPids(stderr: string): { name: string; pid: number }[] {
  return [...stderr.matchAll(/started (\S+) \(pid (\d+)/g)].map((m) => ({ name: m[1] ?? '', pid: Number(m[2]) }));
}

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

const tempDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'blarc-testenv-'));

describe('testenv up/down', { skip: skipUnlessIn('vault') || skipUnlessIn('kms') }, () => {
  it('up twice is harmless and down stops exactly the started processes', async () => {
    const dir = tempDir();
    const first = await testenv(['up', '--only', 'vault'], { TESTENV_DIR: dir });
    assert.equal(first.code, 0, first.stderr);
    const [vault] = startedPids(first.stderr);
    assert.ok(vault !== undefined && alive(vault.pid));
    const endpoints = JSON.parse(fs.readFileSync(path.join(dir, 'endpoints.json'), 'utf8')) as { vault: { addr: string } };
    assert.equal(fs.statSync(path.join(dir, 'endpoints.json')).mode & 0o777, 0o600);
    const second = await testenv(['up', '--only', 'vault'], { TESTENV_DIR: dir });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /already up/);
    assert.deepEqual(startedPids(second.stderr), []);
    assert.equal((await testenv(['status'], { TESTENV_DIR: dir })).code, 0);
    const down = await testenv(['down'], { TESTENV_DIR: dir });
    assert.equal(down.code, 0, down.stderr);
    assert.equal(alive(vault.pid), false);
    await assert.rejects(fetch(`${endpoints.vault.addr}/v1/sys/health`));
    assert.equal(fs.existsSync(path.join(dir, 'endpoints.json')), false);
    assert.equal((await testenv(['status'], { TESTENV_DIR: dir })).code, 3);
  });

  it('fails fast on a port in use, names the server, and stops what it had started', async () => {
    const dir = tempDir();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const result = await testenv(['up', '--only', 'kms,vault'], { TESTENV_DIR: dir, TESTENV_VAULT_PORT: String(port) });
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`vault: port ${port} \\(TESTENV_VAULT_PORT\\) on 127\\.0\\.0\\.1 is in use`));
      const started = startedPids(result.stderr);
      assert.deepEqual(started.map((s) => s.name), ['kms']);
      for (const { pid } of started) assert.equal(alive(pid), false, `pid ${pid} left running`);
      assert.equal(fs.existsSync(path.join(dir, 'endpoints.json')), false);
    } finally {
      blocker.close();
    }
  });

  it('reports a server that dies at start with its log file, and stops the others', { skip: skipUnlessIn('mysql') }, async () => {
    const dir = tempDir();
    const result = await testenv(['up', '--only', 'mysql,vault'], { TESTENV_DIR: dir, TESTENV_MYSQL_ARGS: '--no-such-option-for-the-test' });
    assert.equal(result.code, 1);
    const log = path.join(dir, 'mariadb', 'mysql.log');
    assert.match(result.stderr, /mysql: exited with code \d+ while starting; read /);
    assert.ok(result.stderr.includes(log), result.stderr);
    assert.match(fs.readFileSync(log, 'utf8'), /unknown option '--no-such-option-for-the-test'/);
    const started = startedPids(result.stderr);
    assert.deepEqual(started.map((s) => s.name).sort(), ['mysql', 'vault']);
    for (const { pid } of started) assert.equal(alive(pid), false, `pid ${pid} left running`);
  });

  it('names a missing tool and how to install it', async () => {
    const dir = tempDir();
    const empty = tempDir();
    const result = await testenv(['up', '--only', 'kube'], { TESTENV_DIR: dir, PATH: empty, TESTENV_KUBECONFIG: path.join(empty, 'kubeconfig') });
    assert.equal(result.code, 1);
    // With nothing on PATH the system packages are missing first (up names them and the exact apt-get command),
    // on a machine where they are found it is kubectl.
    assert.match(result.stderr, /kube: kubectl not found on PATH; install kubectl|not found; install the Debian packages: apt-get update && apt-get install -y --no-install-recommends \S/);
  });

  it('uses envtest binaries from KUBEBUILDER_ASSETS instead of building', { skip: skipUnlessIn('kube') }, async () => {
    const assets = tempDir();
    fs.symlinkSync(path.join(toolDir('kube-apiserver', VERSIONS.kubernetes), 'kube-apiserver'), path.join(assets, 'kube-apiserver'));
    fs.symlinkSync(path.join(toolDir('etcd', VERSIONS.etcd), 'etcd'), path.join(assets, 'etcd'));
    const dir = tempDir();
    const up = await testenv(['up', '--only', 'kube'], { TESTENV_DIR: dir, KUBEBUILDER_ASSETS: assets });
    try {
      assert.equal(up.code, 0, up.stderr);
      assert.doesNotMatch(up.stderr, /building/);
      const started = startedPids(up.stderr);
      assert.deepEqual(started.map((s) => s.name), ['etcd', 'kube-apiserver']);
      const endpoints = JSON.parse(fs.readFileSync(path.join(dir, 'endpoints.json'), 'utf8')) as { kubeconfig: string };
      const ns = await new Promise<string>((resolve) => execFile('kubectl', ['--kubeconfig', endpoints.kubeconfig, 'get', 'ns', 'default', '-o', 'name'], (_e, out) => resolve(out)));
      assert.equal(ns.trim(), 'namespace/default');
    } finally {
      assert.equal((await testenv(['down'], { TESTENV_DIR: dir })).code, 0);
    }
    const missing = await testenv(['up', '--only', 'kube'], { TESTENV_DIR: tempDir(), KUBEBUILDER_ASSETS: tempDir() });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /kube: KUBEBUILDER_ASSETS=.* has no etcd/);
  });

  it('uses an existing cluster from TESTENV_KUBECONFIG and starts no API server', { skip: skipUnlessIn('kube') }, async () => {
    const shared = JSON.parse(fs.readFileSync(path.join(stateDir(), 'endpoints.json'), 'utf8')) as { kubeconfig: string };
    const dir = tempDir();
    const up = await testenv(['up', '--only', 'kube'], { TESTENV_DIR: dir, TESTENV_KUBECONFIG: shared.kubeconfig });
    try {
      assert.equal(up.code, 0, up.stderr);
      assert.deepEqual(startedPids(up.stderr), []);
      const endpoints = JSON.parse(fs.readFileSync(path.join(dir, 'endpoints.json'), 'utf8')) as { kubeconfig: string; kubeconfigUser: string; kube: { external: boolean } };
      assert.equal(endpoints.kubeconfig, shared.kubeconfig);
      assert.equal(endpoints.kube.external, true);
      const denied = await new Promise<string>((resolve) => execFile('kubectl', ['--kubeconfig', endpoints.kubeconfigUser, 'auth', 'can-i', 'list', 'secrets', '-n', 'default'], (_e, out) => resolve(out)));
      assert.equal(denied.trim(), 'no');
    } finally {
      await testenv(['down'], { TESTENV_DIR: dir });
    }
  });

  it('never treats a recycled pid as its own process', () => {
    assert.equal(isRunning(process.pid, '/nonexistent/binary'), false);
    assert.equal(isRunning(process.pid, process.execPath), true);
  });
});
