/**
 * Scheduled verification and retention, the operator side, in process against the real kube-apiserver and S3:
 * the controller creates the policy's verify and expire CronJobs (the API server validates them); the test plays
 * the CronJob controller and creates a Job from each jobTemplate, which the stand-in kubelet runs as the real
 * `binlog-archiver verify` / `expire` against the archive in S3; the controller reads the Jobs' termination
 * messages into status.verification / status.retention, ArchiveVerified and the metrics, and patches the verify
 * CronJob to `--since` the new lastVerifiedTime (scope recent).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BinlogArchivePolicy } from '../../src/api/index.ts';
import type { KubeClient } from '../../src/controller/kube/client.ts';
import { kinds } from '../../src/controller/kube/kinds.ts';
import type { CronJob } from '../../src/controller/kube/resources.ts';
import { ControllerMetrics } from '../../src/metrics/metrics.ts';
import { ok } from '../api/kubectl.ts';
import { KINGBUS, binlogDir } from '../support/archive.ts';
import type { FakeKubelet } from '../support/kubelet.ts';
import { skipUnlessIn } from '../support/testenv.ts';
import { type InProcess, archiveToS3, deletePrefix, metricValue, policyObject, setupNamespace, startInProcess, teardownNamespace, tempDir, waitFor } from './helpers.ts';

describe('scheduled verification and retention on the real API server and S3', { skip: skipUnlessIn('kube') || skipUnlessIn('s3') }, () => {
  let ns: string;
  let client: KubeClient;
  let kubelet: FakeKubelet;
  let ctl: InProcess | undefined;
  const metrics = new ControllerMetrics({ defaultMetrics: false });
  const dir = tempDir();
  const prefix = `ctl-lifecycle-${Date.now().toString(36)}`;
  const archived = binlogDir(KINGBUS);

  const policy = async (): Promise<BinlogArchivePolicy | undefined> => kinds(client).policies.get(ns, 'lc');
  const cron = async (task: string): Promise<CronJob | undefined> => kinds(client).cronJobs.get(ns, `lc-${task}`);
  const describeState = async () => `status ${JSON.stringify((await policy())?.status)}\nkubelet errors ${kubelet.errors.join('; ')}\nkubelet logs:\n${kubelet.logs(1500)}`;

  /** What the CronJob controller does at the scheduled time: a Job from the jobTemplate, owned by the CronJob. */
  async function runNow(c: CronJob, name: string): Promise<void> {
    await ok(['create', '-f', '-'], JSON.stringify({
      apiVersion: 'batch/v1', kind: 'Job',
      metadata: { name, namespace: ns, labels: c.spec?.jobTemplate.metadata?.labels, annotations: c.spec?.jobTemplate.metadata?.annotations,
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: c.metadata?.name, uid: c.metadata?.uid, controller: true }] },
      spec: c.spec?.jobTemplate.spec,
    }));
  }

  before(async () => {
    ns = await setupNamespace('blctl-lifecycle');
    await archiveToS3({ ns, dir, prefix, binlogDir: archived.dir, source: 'src-a' });
    ctl = await startInProcess(ns, 'lifecycle-test', metrics, 1);
    ({ client, kubelet } = ctl);
    const object = policyObject(ns, { name: 'lc', app: 'none', prefix });
    object.spec.verification = { schedule: '30 3 * * *' };
    object.spec.retention = { recoveryWindow: '87600h' };
    await ok(['apply', '-f', '-'], JSON.stringify(object));
  });

  after(async () => {
    await ctl?.stop();
    if (ns !== undefined) await teardownNamespace(ns);
    await deletePrefix(prefix);
  });

  it('creates both CronJobs; a verify run and an expire run report into status, ArchiveVerified and metrics', async () => {
    const verify = await waitFor('the verify CronJob', () => cron('verify'), 30_000, describeState);
    const expire = await waitFor('the expire CronJob', () => cron('expire'), 30_000, describeState);
    assert.deepEqual([verify.spec?.schedule, verify.spec?.concurrencyPolicy, expire.spec?.schedule], ['30 3 * * *', 'Forbid', '0 * * * *']);
    assert.ok(!(verify.spec?.jobTemplate.spec?.template.spec?.containers[0]?.args ?? []).includes('--since'), 'the first run verifies everything');
    assert.equal((await policy())?.status?.conditions?.find((c) => c.type === 'ArchiveVerified')?.reason, 'AwaitingVerification');

    await runNow(verify, 'lc-verify-manual-1');
    await runNow(expire, 'lc-expire-manual-1');
    const p = await waitFor('status.verification and status.retention', async () => {
      const s = (await policy())?.status;
      return s?.verification?.result !== undefined && s.retention?.result !== undefined ? s : undefined;
    }, 90_000, describeState);
    assert.deepEqual([p.verification?.result, p.verification?.objectsVerified, p.verification?.problems, p.verification?.jobName], ['Succeeded', KINGBUS.length, 0, 'lc-verify-manual-1'], await describeState());
    assert.ok((p.verification?.bytesVerified ?? 0) > 0);
    const c = p.conditions?.find((x) => x.type === 'ArchiveVerified');
    assert.deepEqual([c?.status, c?.reason], ['True', 'VerificationSucceeded']);
    assert.deepEqual([p.retention?.result, p.retention?.objectsExpired], ['Succeeded', 0], await describeState());
    assert.ok(p.retention?.firstRecoverableTime !== undefined);

    // The metrics are recorded right after the status write, in the same reconcile.
    const text = await waitFor('the run metrics', async () => {
      const t = await metrics.text();
      return metricValue(t, 'binlog_archiver_expired_objects_total', { namespace: ns, policy: 'lc' }) !== undefined
        && metricValue(t, 'binlog_archiver_verified_objects_total', { namespace: ns, policy: 'lc' }) !== undefined ? t : undefined;
    }, 10_000);
    assert.equal(metricValue(text, 'binlog_archiver_verified_objects_total', { namespace: ns, policy: 'lc' }), KINGBUS.length);
    assert.equal(metricValue(text, 'binlog_archiver_expired_objects_total', { namespace: ns, policy: 'lc' }), 0);
    const since = metricValue(text, 'binlog_archiver_seconds_since_last_verification', { namespace: ns, policy: 'lc' });
    assert.ok(since !== undefined && since >= 0 && since < 300, String(since));

    // Scope recent: the next run decodes only what was archived since this one.
    const patched = await waitFor('the verify CronJob to pass --since', async () => {
      const args = (await cron('verify'))?.spec?.jobTemplate.spec?.template.spec?.containers[0]?.args ?? [];
      return args.includes('--since') ? args : undefined;
    }, 60_000, describeState);
    assert.equal(patched[patched.indexOf('--since') + 1], p.verification?.lastVerifiedTime);
  });

  it('deletes a CronJob, its status and its condition when the policy stops asking for it', async () => {
    await ok(['patch', 'bap', 'lc', '-n', ns, '--type=json', '-p', '[{"op":"remove","path":"/spec/retention"}]']);
    await waitFor('the expire CronJob to go', async () => ((await cron('expire')) === undefined ? true : undefined), 60_000, describeState);
    assert.ok((await cron('verify')) !== undefined);
    // The last task dropped too: nothing asked for, and the controller still finds and deletes it.
    await ok(['patch', 'bap', 'lc', '-n', ns, '--type=json', '-p', '[{"op":"remove","path":"/spec/verification"}]']);
    await waitFor('the verify CronJob to go', async () => ((await cron('verify')) === undefined ? true : undefined), 60_000, describeState);
    const conditions = await waitFor('ArchiveVerified to go with spec.verification', async () => {
      const p = (await policy())?.status;
      return p?.conditions?.some((c) => c.type === 'ArchiveVerified') === false ? p : undefined;
    }, 30_000, describeState);
    assert.equal(conditions.verification, undefined);
  });
});
