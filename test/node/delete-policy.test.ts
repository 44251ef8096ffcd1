// test-resources: kube-node:shared
/**
 * Deleting a policy while its archive Job runs, on the real node: the controller's finalizer deletes the running
 * Job, the real garbage collector removes its Pod, the kubelet stops the container, and the policy goes.
 *
 * The Job is the builder's, created by the test with the policy as its owner: the controller creates Jobs when the
 * agent sidecar reports a rotation, and it reaches the agent at the MySQL Pod's IP, which is inside the node's
 * network namespace and has no route from the host, where this test runs the controller.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { BinlogArchivePolicy } from '../../src/api/index.ts';
import { FINALIZER } from '../../src/controller/policy-context.ts';
import { buildArchiveJob } from '../../src/specs/index.ts';
import { eventually, kubectl, ok } from '../api/kubectl.ts';
import { ControllerProcess, listEvents } from '../controller/helpers.ts';
import { type ArchiveNamespace, archiveNamespace, closedBinlogsDir, nodeSkip } from '../support/node.ts';

describe('deleting a policy with a running archive Job, on the real node', { skip: nodeSkip(), timeout: 300_000 }, () => {
  let hostDir = '';
  let env: ArchiveNamespace;
  let controller: ControllerProcess | undefined;

  before(async () => {
    hostDir = await closedBinlogsDir();
    env = await archiveNamespace(hostDir);
  });

  after(async () => {
    await controller?.kill('SIGTERM');
    await env.cleanup();
    fs.rmSync(hostDir, { recursive: true, force: true });
  });

  it('stops the running Job and its Pod, then lets the policy go', async () => {
    const { ns } = env;
    // A store address of the Pod network where nothing answers: the archive run hangs until it is stopped.
    const spec = env.policy({ storage: { ...env.policy().spec.storage, endpoint: 'http://10.244.0.254:80' } });
    await ok(['apply', '-f', '-'], JSON.stringify({ ...spec, metadata: { name: spec.metadata.name, namespace: ns } }));
    controller = await ControllerProcess.start({ namespace: ns });
    const policy = await eventually('the controller to add its finalizer', async () => {
      const p = JSON.parse(await ok(['get', 'bap', spec.metadata.name, '-n', ns, '-o', 'json'])) as BinlogArchivePolicy & { metadata: { finalizers?: string[] } };
      return (p.metadata.finalizers ?? []).includes(FINALIZER) ? p : undefined;
    }, 60_000);

    const job = buildArchiveJob(policy, env.pod, { image: env.image, trigger: 'mysql-bin.000002', correlationId: 'node-delete' });
    assert.equal(job.metadata?.ownerReferences?.[0]?.uid, policy.metadata.uid);
    await ok(['apply', '-n', ns, '-f', '-'], JSON.stringify(job));
    const name = job.metadata?.name ?? '';
    const podsOf = async (): Promise<V1Pod[]> => (JSON.parse(await ok(['get', 'pods', '-n', ns, '-l', `job-name=${name}`, '-o', 'json'])) as { items: V1Pod[] }).items;
    const running = await eventually(`the Pod of ${name} to run`, async () => {
      const pods = await podsOf();
      return pods.length === 1 && pods[0]?.status?.phase === 'Running' ? pods[0] : undefined;
    }, 120_000);

    await ok(['delete', 'bap', spec.metadata.name, '-n', ns, '--wait=false']);
    await eventually('the policy to be gone', async () => {
      const r = await kubectl(['get', 'bap', spec.metadata.name, '-n', ns, '-o', 'name']);
      return r.code !== 0 && /NotFound/.test(r.stderr) ? true : undefined;
    }, 60_000);
    await eventually(`Job ${name} to be deleted`, async () => {
      const r = await kubectl(['get', 'job', name, '-n', ns, '-o', 'json']);
      if (r.code !== 0 && /NotFound/.test(r.stderr)) return true;
      // Background propagation: the Job may linger briefly with a deletionTimestamp.
      return (JSON.parse(r.stdout) as V1Job).metadata?.deletionTimestamp === undefined ? undefined : true;
    }, 60_000);
    await eventually(`the Pod ${running.metadata?.name ?? ''} to be removed by the garbage collector and the kubelet`, async () => ((await podsOf()).length === 0 ? true : undefined), 120_000);
    const events = await listEvents(ns, spec.metadata.name);
    assert.ok(events.some((e) => e.reason === 'Deleting' && /Stopped 1 running archive Job/.test(e.note)), JSON.stringify(events));
    assert.ok(controller.lines.some((l) => l.msg === 'Deleted running archive Job of a deleted policy' && l.job === name));
  });
});
