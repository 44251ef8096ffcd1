/**
 * A BinlogRestore that lacks something it needs, in-process on the real API server and S3 with the stand-in kubelet
 * (test/support/kubelet.ts), which leaves a Pod whose Secret is missing Pending with the kubelet's FailedMount event,
 * as the kubelet does. It waits with a condition naming what is missing, proceeds once it appears, and fails with
 * WaitTimedOut after spec.waitTimeout: a policy that appears later, a claim that never does, a Secret of the plan
 * Job that appears later or never (the Job is then deleted and never runs), the restore Job's server credentials
 * missing after a plan, and a Secret referenced from the environment (CreateContainerConfigError, set on the Pod as
 * the kubelet reports it).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { BinlogRestoreSpec } from '../../src/api/index.ts';
import type { KubeClient } from '../../src/controller/kube/client.ts';
import { kinds } from '../../src/controller/kube/kinds.ts';
import type { Restore } from '../../src/controller/kube/resources.ts';
import { ControllerMetrics } from '../../src/metrics/metrics.ts';
import { ok } from '../api/kubectl.ts';
import { KINGBUS, binlogDir } from '../support/archive.ts';
import type { FakeKubelet } from '../support/kubelet.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';
import { type InProcess, applyPolicy, archiveToS3, awsCredentialsFile, deletePrefix, listEvents, listJobs, metricValue, setupNamespace, startInProcess, teardownNamespace, tempDir, waitFor } from './helpers.ts';

describe('a restore waits for what it needs, then proceeds or times out (real API server and S3)', { skip: skipUnlessIn('kube') || skipUnlessIn('s3'), timeout: 300_000 }, () => {
  let ns: string;
  let client: KubeClient;
  let kubelet: FakeKubelet;
  let ctl: InProcess | undefined;
  let credentialsText = '';
  const metrics = new ControllerMetrics();
  const dir = tempDir();
  const prefix = `ctl-restore-wait-${Date.now().toString(36)}`;
  const archived = binlogDir(KINGBUS);

  const get = async (name: string): Promise<Restore | undefined> => kinds(client).restores.get(ns, name);
  const describeState = (name: string) => async () => `restore ${JSON.stringify((await get(name))?.status)}\njobs ${JSON.stringify(await listJobs(ns))}\nkubelet errors ${kubelet.errors.join('; ')}\nkubelet trace ${kubelet.trace.slice(-20).join('\n')}`;
  const condition = (r: Restore | undefined, type: string) => r?.status?.conditions?.find((c) => c.type === type);
  /** Waits until the restore's Reconciling (or, terminal, Stalled) reason is `reason`. */
  const reaches = (name: string, phase: string, reason: string, timeoutMs = 60_000) => waitFor(`BinlogRestore ${name} to be ${phase} with ${reason}`, async () => {
    const r = await get(name);
    const c = condition(r, phase === 'Failed' ? 'Stalled' : 'Reconciling');
    return r?.status?.phase === phase && c?.reason === reason ? r : undefined;
  }, timeoutMs, describeState(name));
  const finished = (name: string, timeoutMs = 90_000) => waitFor(`BinlogRestore ${name} to finish`, async () => {
    const r = await get(name);
    return r?.status?.phase === 'Succeeded' || r?.status?.phase === 'Failed' ? r : undefined;
  }, timeoutMs, describeState(name));

  function spec(o: { claim: string; policy?: string; s3Secret?: string; waitTimeout?: string }): BinlogRestoreSpec {
    const s3 = need('s3');
    return {
      archive: o.policy !== undefined ? { policyRef: { name: o.policy } } : {
        storage: { bucket: s3.bucket, prefix, endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { secretName: o.s3Secret ?? 'aws-credentials' } },
        keyProvider: { local: { secretName: 'archive-key' } },
      },
      sourceServer: 'src-a', target: { latest: true }, output: { volume: { claimName: o.claim } }, job: { backoffLimit: 0 },
      ...(o.waitTimeout === undefined ? {} : { waitTimeout: o.waitTimeout }),
    };
  }
  const apply = (name: string, s: BinlogRestoreSpec) => ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'binlog.archiver.dev/v1alpha1', kind: 'BinlogRestore', metadata: { name, namespace: ns }, spec: s }));
  const claim = (name: string) => ok(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: ns }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  }));
  const s3Secret = (name: string) => ok(['create', 'secret', 'generic', name, '-n', ns, `--from-literal=credentials=${credentialsText}`]);
  const jobsOf = async (name: string) => (await listJobs(ns)).filter((j) => j.name.startsWith(`${name}-`));

  before(async () => {
    ns = await setupNamespace('blctl-rwait');
    await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/binlogrestores.binlog.archiver.dev']);
    await archiveToS3({ ns, dir, prefix, binlogDir: archived.dir, source: 'src-a' });
    // The same text as the namespace's s3-credentials, for the Secrets the tests create late.
    credentialsText = awsCredentialsFile(dir).text;
    ctl = await startInProcess(ns, 'restore-wait-test', metrics);
    ({ client, kubelet } = ctl);
  });

  after(async () => {
    await ctl?.stop();
    await ok(['delete', 'blr', '--all', '-n', ns, '--wait=false']).catch(() => undefined);
    if (ns !== undefined) await teardownNamespace(ns);
    await deletePrefix(prefix);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(archived.dir, { recursive: true, force: true });
  });

  it('a policy that appears later: PolicyNotFound with waitingSince and the deadline, then planned and restored', async () => {
    await claim('out-policy');
    await apply('late-policy', spec({ claim: 'out-policy', policy: 'archive-later' }));
    const waiting = await reaches('late-policy', 'Pending', 'PolicyNotFound');
    assert.match(condition(waiting, 'Reconciling')?.message ?? '', /^waiting for BinlogArchivePolicy archive-later in namespace .*; gives up at \S+Z \(spec\.waitTimeout 1h\)$/);
    const since = Date.parse(waiting.status?.waitingSince ?? '');
    assert.ok(Math.abs(since - Date.parse(waiting.metadata.creationTimestamp as string)) < 5000, `waitingSince ${waiting.status?.waitingSince} is when it began waiting`);
    assert.deepEqual(await jobsOf('late-policy'), [], 'no Job while the policy is missing');
    await sleep(1500);
    assert.equal((await get('late-policy'))?.status?.waitingSince, waiting.status?.waitingSince, 'the start of the wait does not move');
    // The policy archives nothing here (it selects no pod); its storage and key are what the restore reads.
    await applyPolicy(ns, { name: 'archive-later', app: 'no-such-app', prefix });
    const r = await finished('late-policy');
    assert.equal(r.status?.phase, 'Succeeded', await describeState('late-policy')());
    assert.deepEqual([r.status?.binlogsRestored, r.status?.waitingSince, condition(r, 'Ready')?.reason], [3, undefined, 'RestoreSucceeded']);
  });

  it('a claim that never appears: Failed after spec.waitTimeout with WaitTimedOut naming the claim and the time waited; no Job, then or later', async () => {
    await apply('no-claim', spec({ claim: 'never-there', waitTimeout: '4s' }));
    const waiting = await reaches('no-claim', 'Pending', 'ClaimNotFound');
    assert.match(condition(waiting, 'Reconciling')?.message ?? '', /\(spec\.waitTimeout 4s\)$/);
    const r = await reaches('no-claim', 'Failed', 'WaitTimedOut', 30_000);
    assert.deepEqual(['Ready', 'Reconciling', 'Stalled'].map((t) => [t, condition(r, t)?.status, condition(r, t)?.reason]),
      [['Ready', 'False', 'WaitTimedOut'], ['Reconciling', 'False', 'WaitTimedOut'], ['Stalled', 'True', 'WaitTimedOut']]);
    const waited = /^gave up after waiting (\d+)s \(spec\.waitTimeout 4s, since (\S+)\) for PersistentVolumeClaim never-there in namespace (\S+); nothing was applied; create a new BinlogRestore once it is there$/.exec(r.status?.message ?? '');
    assert.ok(waited !== null, `message: ${r.status?.message}`);
    assert.ok(Number(waited[1]) >= 4 && Number(waited[1]) <= 10, `waited ${waited[1]}s`);
    assert.deepEqual([waited[2], waited[3], r.status?.waitingSince], [waiting.status?.waitingSince, ns, undefined]);
    const event = await waitFor('the Failed event', async () => (await listEvents(ns, 'no-claim')).find((e) => e.reason === 'Failed'), 10_000);
    assert.deepEqual([event.type, event.note.startsWith('WaitTimedOut: gave up after waiting')], ['Warning', true]);
    assert.equal(metricValue(await metrics.text(), 'binlog_archiver_restores_total', { result: 'Failed', reason: 'WaitTimedOut' }), 1);
    // Failed is final: the claim appearing now starts nothing.
    await claim('never-there');
    await sleep(6000);
    assert.deepEqual([(await get('no-claim'))?.status?.phase, await jobsOf('no-claim')], ['Failed', []]);
  });

  it('a Secret the plan Job mounts appears later: SecretNotFound from the kubelet\'s FailedMount event, then planned and restored', async () => {
    await claim('out-secret');
    await apply('late-secret', spec({ claim: 'out-secret', s3Secret: 's3-later' }));
    const waiting = await reaches('late-secret', 'Pending', 'SecretNotFound');
    const message = condition(waiting, 'Reconciling')?.message ?? '';
    assert.match(message, /^waiting for Secret s3-later in namespace \S+: the plan Job late-secret-\S+ cannot start its Pod \S+ \(kubelet: MountVolume\.SetUp failed for volume "aws-credentials" : secret "s3-later" not found\); the kubelet retries by itself once it exists; gives up at \S+ \(spec\.waitTimeout 1h\)$/);
    assert.deepEqual([waiting.status?.planJobName !== undefined, waiting.status?.waitingSince !== undefined, kubelet.runs.filter((x) => x.job.startsWith('late-secret-')).length], [true, true, 0]);
    await s3Secret('s3-later');
    const r = await finished('late-secret');
    assert.equal(r.status?.phase, 'Succeeded', await describeState('late-secret')());
    assert.deepEqual([r.status?.binlogsRestored, r.status?.waitingSince], [3, undefined]);
    assert.deepEqual(kubelet.runs.filter((x) => x.job.startsWith('late-secret-')).map((x) => x.args.includes('--plan-only')), [true, false], 'one plan run once the Secret existed, then the restore');
  });

  it('a Secret that never appears: SecretNotFound, then Failed with WaitTimedOut; its plan Job is deleted and never runs when the Secret comes', async () => {
    await claim('out-nosecret');
    await apply('no-secret', spec({ claim: 'out-nosecret', s3Secret: 's3-never', waitTimeout: '6s' }));
    await reaches('no-secret', 'Pending', 'SecretNotFound');
    const r = await reaches('no-secret', 'Failed', 'WaitTimedOut', 30_000);
    assert.match(r.status?.message ?? '', /^gave up after waiting \d+s \(spec\.waitTimeout 6s, since \S+\) for Secret s3-never in namespace \S+ \(the plan Job no-secret-\S+ could not start its Pod \S+; kubelet: MountVolume\.SetUp failed for volume "aws-credentials" : secret "s3-never" not found\); Job no-secret-\S+ was deleted before its container started; nothing was applied; create a new BinlogRestore once it is there$/);
    await waitFor('the plan Job to be deleted', async () => ((await jobsOf('no-secret')).length === 0 ? true : undefined), 30_000, describeState('no-secret'));
    await s3Secret('s3-never');
    await sleep(3000);
    assert.deepEqual([(await get('no-secret'))?.status?.phase, kubelet.runs.filter((x) => x.job.startsWith('no-secret-')).length], ['Failed', 0]);
  });

  it('the restore Job\'s server credentials missing after a plan: SecretNotFound naming the restore Job, the target held (a later restore queues), then WaitTimedOut with the plan kept and the Job deleted', async () => {
    await ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'target-db', namespace: ns }, spec: { ports: [{ port: 3306 }] } }));
    const server = { server: { service: 'target-db', credentialsSecret: { name: 'db-admin-missing' } } };
    await apply('no-db-secret', { ...spec({ claim: 'unused' }), output: server, waitTimeout: '8s' });
    const waiting = await reaches('no-db-secret', 'Pending', 'SecretNotFound');
    assert.match(condition(waiting, 'Reconciling')?.message ?? '', /^waiting for Secret db-admin-missing in namespace \S+: the restore Job no-db-secret-\S+ cannot start its Pod \S+ \(kubelet: MountVolume\.SetUp failed for volume "mysql-credentials" : secret "db-admin-missing" not found\)/);
    assert.deepEqual([waiting.status?.plan?.binlogs, waiting.status?.jobName !== undefined], [3, true], 'planned, and the restore Job exists');
    // A later restore on the same Service waits for this one, although it is Pending: it has a Job.
    await apply('queued', { ...spec({ claim: 'unused' }), output: server });
    const queued = await reaches('queued', 'Pending', 'WaitingForActiveRestore');
    assert.match(condition(queued, 'Reconciling')?.message ?? '', /waiting for BinlogRestore no-db-secret on the same target \(server target-db:3306\)/);
    assert.equal(queued.status?.waitingSince, undefined, 'the queue is not timed');
    const r = await reaches('no-db-secret', 'Failed', 'WaitTimedOut', 30_000);
    assert.match(r.status?.message ?? '', /^gave up after waiting \d+s \(spec\.waitTimeout 8s, since \S+\) for Secret db-admin-missing in namespace \S+ \(the restore Job no-db-secret-\S+ could not start its Pod \S+; kubelet: .*\); Job no-db-secret-\S+ was deleted before its container started; nothing was applied/);
    assert.deepEqual([r.status?.plan?.binlogs, r.status?.binlogsRestored], [3, undefined]);
    await waitFor('the restore Job to be deleted', async () => ((await jobsOf('no-db-secret')).every((j) => j.name.includes('-plan-')) ? true : undefined), 30_000, describeState('no-db-secret'));
    assert.equal(kubelet.runs.filter((x) => x.job.startsWith('no-db-secret-') && !x.args.includes('--plan-only')).length, 0, 'the restore Job never ran');
    // The queue moves on: the second restore starts (and meets the same missing Secret).
    await waitFor('queued to leave the queue', async () => {
      const q = await get('queued');
      return condition(q, 'Reconciling')?.reason !== 'WaitingForActiveRestore' ? q : undefined;
    }, 30_000, describeState('queued'));
    await ok(['delete', 'blr', 'queued', '-n', ns, '--wait=false']);
  });

  it('a Secret referenced from the environment: the Pod\'s CreateContainerConfigError gives SecretNotFound', async () => {
    await claim('out-env');
    kubelet.setHold((job) => job.metadata?.name?.startsWith('env-secret-') === true);
    await apply('env-secret', spec({ claim: 'out-env' }));
    const job = await waitFor('the plan Job', async () => (await jobsOf('env-secret'))[0], 30_000, describeState('env-secret'));
    // The Pod as the Job controller makes it and the kubelet reports it when an env secretKeyRef names no Secret.
    const full = JSON.parse(await ok(['get', 'job', job.name, '-n', ns, '-o', 'json'])) as { metadata: { uid: string }; spec: { template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: Record<string, unknown> } } };
    const pod = `${job.name}-abcde`;
    await ok(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: pod, namespace: ns, labels: { ...full.spec.template.metadata.labels, 'batch.kubernetes.io/job-name': job.name, 'job-name': job.name }, annotations: full.spec.template.metadata.annotations,
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.name, uid: full.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: { ...full.spec.template.spec, nodeName: 'node-1' },
    }));
    await ok(['patch', 'pod', pod, '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: {
      phase: 'Pending', containerStatuses: [{ name: 'restore', image: 'registry.test/binlog-archiver:test', imageID: '', ready: false, restartCount: 0, started: false,
        state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "db-admin" not found' } } }],
    } })]);
    const waiting = await reaches('env-secret', 'Pending', 'SecretNotFound');
    assert.match(condition(waiting, 'Reconciling')?.message ?? '', new RegExp(`^waiting for Secret db-admin in namespace \\S+: the plan Job ${job.name} cannot start its Pod ${pod} \\(kubelet: secret "db-admin" not found\\)`));
    // The hold stays: nothing is to run this Job (after() stops the stand-in).
    await ok(['delete', 'blr', 'env-secret', '-n', ns, '--wait=false']);
  });
});
