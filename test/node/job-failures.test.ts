// test-resources: kube-node:shared
/**
 * The failure paths of the archive Job on the real Job controller and kubelet (`up --node`): a failing Pod is
 * retried within backoffLimit and then the Job fails; activeDeadlineSeconds stops a run that never finishes;
 * ttlSecondsAfterFinished removes a finished Job and its Pods. Every Job is what buildArchiveJob makes of a policy
 * the CRD accepts.
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
    // The deadline is the CRD's minimum (60 s), set on the policy: the Job is what the builder makes of it.
    const policy = env.policy({ storage: storage('http://10.244.0.254:80'), job: { backoffLimit: 10, activeDeadlineSeconds: 60 } });
    // The API server's own CRD validation accepts this policy (a deadline below 60 s would be refused).
    const asCreated = (p: typeof policy): string => JSON.stringify({ ...p, metadata: { name: p.metadata.name, namespace: p.metadata.namespace } });
    await ok(['apply', '--dry-run=server', '-f', '-'], asCreated(policy));
    const tooShort = await kubectl(['apply', '--dry-run=server', '-f', '-'], asCreated(env.policy({ job: { activeDeadlineSeconds: 15 } })));
    assert.notEqual(tooShort.code, 0);
    assert.match(tooShort.stderr, /activeDeadlineSeconds.*should be greater than or equal to 60/);
    const job = buildArchiveJob(policy, env.pod, { image: env.image, trigger: 'deadline', correlationId: 'node-deadline' });
    assert.equal(job.spec?.activeDeadlineSeconds, 60);
    const started = Date.now();
    const { job: done, pods } = await runJob(env.ns, job, 240_000);
    assert.equal(failedReason(done), 'DeadlineExceeded');
    // The Job's startTime has whole-second precision, so the deadline can fall up to a second before 60 s on our clock.
    assert.ok(Date.now() - started >= 59_000, 'stopped at the deadline, not before');
    assert.ok(pods.length > 0 && pods.every((p) => p.status?.phase !== 'Running'), 'no Pod of the Job still runs');
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
