/**
 * The node is the default of `up` with the environment's own API server; `--no-node` / TESTENV_NODE=0 opt out; a
 * machine that cannot run it is refused before anything starts, with every missing piece named and the opt-out.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Machine, checkNodeCanRun, nodeChoice, nodeMissing } from '../../testenv/node/preflight.ts';

const ALL_CAPS = 'CapEff:\t000001ffffffffff\n';

function machine(over: Partial<Machine> & { paths?: string[] } = {}): Machine {
  const paths = new Set(over.paths ?? ['/sys/fs/cgroup/cpu/cgroup.procs', '/sys/fs/cgroup/cpuset/cgroup.procs', '/sys/fs/cgroup/memory/cgroup.procs',
    '/sys/fs/cgroup/pids/cgroup.procs', '/proc/sys/net/bridge/bridge-nf-call-iptables']);
  return { uid: 0, status: ALL_CAPS, filesystems: 'nodev\tproc\nnodev\toverlay\n', exists: (p) => paths.has(p), writable: () => true, ...over };
}

describe('the node by default', () => {
  it('starts with the environment\'s own API server unless opted out', () => {
    assert.deepEqual(nodeChoice([], ['kube', 's3'], {}), { node: true, explicit: false });
    assert.deepEqual(nodeChoice(['--no-node'], ['kube'], {}), { node: false, explicit: true, absent: 'up --no-node' });
    assert.deepEqual(nodeChoice([], ['kube'], { TESTENV_NODE: '0' }), { node: false, explicit: true, absent: 'TESTENV_NODE=0' });
    assert.deepEqual(nodeChoice(['--node'], ['kube'], {}), { node: true, explicit: true });
    assert.equal(nodeChoice([], ['s3', 'kms'], {}).node, false, 'no kube server, no node');
    assert.equal(nodeChoice([], ['kube'], { TESTENV_KUBECONFIG: '/x' }).node, false, 'an existing cluster brings its own nodes');
    assert.throws(() => nodeChoice([], ['kube'], { TESTENV_NODE: 'yes' }), /TESTENV_NODE=yes: use 1 \(start the node\) or 0 \(no node\)/);
  });

  it('accepts a machine that has everything', () => {
    assert.deepEqual(nodeMissing(machine()), []);
    assert.doesNotThrow(() => checkNodeCanRun(machine()));
  });

  it('names every missing piece and the opt-out', () => {
    const bare = machine({ uid: 1000, status: 'CapEff:\t0000000000000000\n', filesystems: 'nodev\tproc\n', paths: ['/sys/fs/cgroup/cgroup.controllers'] });
    const missing = nodeMissing(bare);
    assert.equal(missing.length, 4, missing.join('\n'));
    assert.match(missing[0] ?? '', /^root /);
    assert.match(missing[1] ?? '', /cgroup v2/);
    assert.match(missing[2] ?? '', /overlayfs \(modprobe overlay\)/);
    assert.match(missing[3] ?? '', /br_netfilter/);
    assert.throws(() => checkNodeCanRun(bare), /cannot run the test node; it lacks: root .*Opt out with `npm run testenv -- up --no-node` or TESTENV_NODE=0/);
  });

  it('names the capabilities root lacks (an unprivileged container) and read-only sysctls', () => {
    const missing = nodeMissing(machine({ status: 'CapEff:\t00000000a80425fb\n', writable: () => false,
      paths: ['/sys/fs/cgroup/cpu/cgroup.procs', '/proc/sys/net/bridge/bridge-nf-call-iptables'] }));
    assert.deepEqual(missing, [
      'the capabilities CAP_NET_ADMIN, CAP_SYS_ADMIN (a container needs --privileged)',
      'the cgroup v1 hierarchies cpuset, memory, pids mounted under /sys/fs/cgroup',
      'writable host sysctls (/proc/sys is read-only here)',
    ]);
  });
});
