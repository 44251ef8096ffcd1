// test-resources: kube-node, cpu, project-image
/**
 * `up` (the node is its default) / `down` in a TESTENV_DIR of their own: the node comes up Ready with its Pod endpoints, and `down`
 * leaves nothing behind (processes, container shims, mounts, the network namespace, cgroups, host sysctls).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { netnsName } from '../../testenv/node/netns.ts';
import { KUBELET_SYSCTLS, mountsUnder, readSysctls } from '../../testenv/node/teardown.ts';
import type { State } from '../../testenv/state.ts';
import { tempDir } from '../support/archive.ts';
import { nodeSkip } from '../support/node.ts';
import { REPO_ROOT } from '../support/testenv.ts';

interface Result { code: number; stdout: string; stderr: string }

function testenv(args: string[], dir: string): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(REPO_ROOT, 'testenv', 'cli.ts'), ...args], { env: { ...process.env, TESTENV_DIR: dir, TESTENV_SERVERS: '', TESTENV_NODE: '' } },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }));
  });
}

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** Pids of processes whose command line names `needle` (the shims name their containerd's state path). */
function processesMentioning(needle: string): number[] {
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle);
    } catch {
      return false;
    }
  }).map(Number);
}

const enabled = nodeSkip();

describe('testenv up --node / down', { skip: enabled, timeout: 600_000 }, () => {
  it('comes up with a Ready node and leaves nothing behind', async (t) => {
    const dir = tempDir('blarc-node-life-');
    // A failed assertion must not leave a second node running.
    t.after(async () => {
      if (fs.existsSync(path.join(dir, 'state.json'))) await testenv(['down'], dir);
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const sysctlsBefore = readSysctls(KUBELET_SYSCTLS);
    const up = await testenv(['up', '--only', 'kube'], dir);
    assert.equal(up.code, 0, up.stderr);
    const endpoints = JSON.parse(fs.readFileSync(path.join(dir, 'endpoints.json'), 'utf8')) as { kube: { nodes: string[]; podEndpoint: string }; image: string };
    assert.deepEqual(endpoints.kube.nodes, ['testenv-node']);
    assert.match(endpoints.kube.podEndpoint, /^https:\/\/192\.0\.2\.10:\d+$/);
    assert.equal(endpoints.image, 'localhost/binlog-archiver:testenv');
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as State;
    const node = state.node;
    assert.ok(node !== undefined);
    assert.equal(node.netns, netnsName(dir));
    assert.ok(fs.existsSync(`/run/netns/${node.netns}`));
    assert.ok(mountsUnder(node.nodeDir).length > 0, 'containerd mounted its snapshots under the node directory');
    for (const h of ['memory', 'cpu', 'pids']) assert.ok(fs.existsSync(`/sys/fs/cgroup/${h}/${node.netns}/kubepods`), `the kubelet made its ${h} cgroups under the environment root`);
    // A Pod still running at `down`: its container and shim must be stopped too.
    const kubeconfig = path.join(dir, 'kube', 'kubeconfig.yaml');
    const kubectl = (...args: string[]): Promise<string> => new Promise((resolve, reject) => {
      execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], (err, stdout, stderr) => (err === null ? resolve(stdout) : reject(new Error(stderr))));
    });
    await kubectl('run', 'sleeper', `--image=${endpoints.image}`, '--image-pull-policy=Never', '--restart=Never', '--command', '--', 'node', '-e', 'setInterval(() => {}, 1e9)');
    await kubectl('wait', '--for=condition=Ready', 'pod/sleeper', '--timeout=120s');
    const shims = processesMentioning(path.join(node.nodeDir, 'containerd'));
    assert.ok(shims.length > 0, 'containerd shims run for the Pod');

    const down = await testenv(['down'], dir);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stderr, /node removed/);
    for (const p of state.processes) assert.equal(alive(p.pid), false, `${p.name} (pid ${p.pid}) stopped`);
    assert.deepEqual(processesMentioning(path.join(node.nodeDir, 'containerd')), [], 'no shim or container left');
    assert.deepEqual(mountsUnder(dir), []);
    assert.equal(fs.existsSync(`/run/netns/${node.netns}`), false);
    for (const d of node.cgroupDirs) assert.equal(fs.existsSync(d), false, `${d} removed`);
    assert.deepEqual(readSysctls(KUBELET_SYSCTLS), sysctlsBefore);
    assert.equal(fs.existsSync(node.nodeDir), false);
    assert.equal(fs.existsSync(path.join(dir, 'state.json')), false);
    assert.match(down.stderr, /image store kept for the next up \(\d+ containers removed from it\)/);

    // The next `up` in this directory starts from the kept image store: the pause image is not imported again (the
    // project image is, only if the sources changed meanwhile), and a Pod runs from the store.
    const again = await testenv(['up', '--only', 'kube'], dir);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /(images unchanged, nothing imported|imported localhost\/binlog-archiver:testenv) \(kept image store/);
    assert.doesNotMatch(again.stderr, /imported [^\n]*pause/);
    await kubectl('run', 'again', `--image=${endpoints.image}`, '--image-pull-policy=Never', '--restart=Never', '--command', '--', 'node', '-e', '0');
    await kubectl('wait', '--for=jsonpath={.status.phase}=Succeeded', 'pod/again', '--timeout=120s');
    const second = await testenv(['down'], dir);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(mountsUnder(dir), []);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
