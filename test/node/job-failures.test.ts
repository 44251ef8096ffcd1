/**
 * The failure paths of the archive Job on the real Job controller and kubelet (`up --node`): a failing Pod is
 * retried within backoffLimit and then the Job fails; activeDeadlineSeconds stops a run that never finishes;
 * ttlSecondsAfterFinished removes a finished Job and its Pods.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { buildArchiveJob } from '../../src/specs/index.ts';
import { NODE_IP } from '../../testenv/node/netns.ts';
import { eventually, kubectl, ok } from '../api/kubectl.ts';
import { type ArchiveNamespace, archiveNamespace, closedBinlogsDir, nodeSkip, runJob } from '../support/node.ts';

function failedReason(job: V1Job): string | undefined {
  return job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True')?.reason;
}

function terminationMessage(pod: V1Pod): { ok?: boolean; error?: { code?: string } | null } {
  return JSON.parse(pod.status?.containerStatuses?.[0]?.state?.terminated?.message ?? '{}') as { ok?: boolean; error?: { code?: string } | null };
}

describe('archive Job failure paths on the real node', { skip: nodeSkip() }, () => {
  let hostDir = '';
  let env: ArchiveNamespace;

  before(async () => {
    hostDir = await closedBinlogsDir();
    env = await archiveNamespace(hostDir);
  });

  after(async () => {
    await env.cleanup();
    fs.rmSync(hostDir, { recursive: true, force: true });
  });

  const storage = (endpoint: string): ReturnType<ArchiveNamespace['policy']>['spec']['storage'] => ({ ...env.policy().spec.storage, endpoint });

  it('retries a failing Pod within backoffLimit, then fails the Job; each Pod reports its error', async () => {
    // Port 1 of the node IP: connection refused, inside the environment's namespace.
    const policy = env.policy({ storage: storage(`http://${NODE_IP}:1`), job: { backoffLimit: 1 } });
    const job = buildArchiveJob(policy, env.pod, { image: env.image, trigger: 'backoff', correlationId: 'node-backoff', summaryFile: '/dev/termination-log' });
    const { job: done, pods } = await runJob(env.ns, job, 240_000);
    assert.equal(failedReason(done), 'BackoffLimitExceeded');
    assert.equal(pods.length, 2, 'one run and one retry (backoffLimit 1)');
    for (const pod of pods) {
      assert.equal(pod.status?.phase, 'Failed');
      assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 1);
      const report = terminationMessage(pod);
      assert.equal(report.ok, false);
      assert.match(report.error?.code ?? '', /^E[A-Z]+$/);
    }
  });

  it('stops a run that never finishes at activeDeadlineSeconds', async () => {
    // An address of the Pod network where nothing answers: every attempt waits, and failed attempts are retried.
    const policy = env.policy({ storage: storage('http://10.244.0.254:80'), job: { backoffLimit: 10 } });
    const job = buildArchiveJob(policy, env.pod, { image: env.image, trigger: 'deadline', correlationId: 'node-deadline' });
    // The CRD's minimum is 60 s; the test shortens the built Job's deadline so it runs in seconds.
    if (job.spec !== undefined) job.spec.activeDeadlineSeconds = 15;
    const started = Date.now();
    const { job: done, pods } = await runJob(env.ns, job, 180_000);
    assert.equal(failedReason(done), 'DeadlineExceeded');
    assert.ok(Date.now() - started >= 15_000);
    assert.ok(pods.every((p) => p.status?.phase !== 'Running'), 'no Pod of the Job still runs');
  });

  it('removes a finished Job and its Pods after ttlSecondsAfterFinished', async () => {
    const policy = env.policy({ job: { ttlSecondsAfterFinished: 2 } });
    const job = buildArchiveJob(policy, env.pod, { image: env.image, trigger: 'ttl', correlationId: 'node-ttl' });
    const name = job.metadata?.name ?? '';
    const { job: done } = await runJob(env.ns, job);
    assert.equal(done.status?.succeeded, 1);
    await eventually(`Job ${name} to be removed`, async () => {
      const r = await kubectl(['get', 'job', name, '-n', env.ns, '-o', 'name']);
      return r.code !== 0 && /NotFound/.test(r.stderr) ? true : undefined;
    }, 60_000);
    await eventually(`the Pods of ${name} to be removed`, async () => ((await ok(['get', 'pods', '-n', env.ns, '-l', `job-name=${name}`, '-o', 'name'])).trim() === '' ? true : undefined), 60_000);
  });
});
