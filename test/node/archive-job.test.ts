// test-resources: kube-node:shared
/**
 * On the real node (`npm run testenv -- up --node`): the archive Job built by the project's pure Job builder is
 * admitted in a namespace that enforces the `restricted` Pod Security level, runs the project image as non-root on
 * a read-only root filesystem, reads the binlogs through a PersistentVolumeClaim mounted read-only, writes to S3
 * through the node, and reports through its termination message. Then the restore Job, built the same way and
 * admitted under the same level, restores that archive into a claim, byte for byte. The same again with Google
 * Cloud Storage (fake-gcs) and Cloud KMS (the test server), reached by the Pods at their podEndpoints with no
 * credentials in the cluster.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { BinlogArchivePolicySpec, BinlogRestore } from '../../src/api/index.ts';
import { buildArchiveJob, buildRestoreJob } from '../../src/specs/index.ts';
import { kubectl } from '../api/kubectl.ts';
import { tempDir } from '../support/archive.ts';
import { s3Client } from '../support/clients.ts';
import { type ArchiveNamespace, archiveNamespace, closedBinlogsDir, hostPathClaim, need, nodeSkip, podReport, runJob } from '../support/node.ts';
import { skipUnlessIn } from '../support/testenv.ts';

interface Backend {
  name: string;
  skip: string | false;
  /** The policy's storage and key provider, as Pods reach them; and the object names under the prefix. */
  spec(prefix: string): Partial<BinlogArchivePolicySpec>;
  list(prefix: string): Promise<string[]>;
}

const s3Backend: Backend = {
  name: 'S3 and a local key', skip: nodeSkip(), spec: () => ({}),
  async list(prefix) {
    const s3 = need('s3');
    const listed = await s3Client(s3).send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
    return (listed.Contents ?? []).map((o) => o.Key ?? '');
  },
};

function gcpSkip(): string | false {
  const skip = nodeSkip() || skipUnlessIn('gcs') || skipUnlessIn('gcpkms');
  if (skip !== false) return skip;
  return need('gcs').podEndpoint === undefined || need('gcpkms').podEndpoint === undefined
    ? 'the node has no Pod endpoints for gcs and gcpkms: bring the environment up again (npm run testenv -- down, then up)' : false;
}

const gcpBackend: Backend = {
  name: 'Google Cloud Storage and Cloud KMS',
  skip: gcpSkip(),
  spec(prefix) {
    const gcs = need('gcs');
    const gcpkms = need('gcpkms');
    return {
      storage: { gcs: { bucket: gcs.bucket, prefix, endpoint: gcs.podEndpoint } },
      keyProvider: { gcpKms: { keyName: gcpkms.keyName, endpoint: gcpkms.podEndpoint } },
    };
  },
  async list(prefix) {
    const gcs = need('gcs');
    const res = await fetch(`${gcs.endpoint}/storage/v1/b/${gcs.bucket}/o?prefix=${encodeURIComponent(prefix)}`);
    const body = (await res.json()) as { items?: Array<{ name: string }> };
    return (body.items ?? []).map((o) => o.name);
  },
};

for (const backend of [s3Backend, gcpBackend]) describe(`archive Job on the real node: ${backend.name}`, { skip: backend.skip }, () => {
  let hostDir = '';
  let env: ArchiveNamespace;
  /** How many binlogs the archive test archived (the restore test restores them). */
  let archived = 0;

  before(async () => {
    hostDir = await closedBinlogsDir();
    env = await archiveNamespace(hostDir);
  });

  after(async () => {
    await env.cleanup();
    fs.rmSync(hostDir, { recursive: true, force: true });
  });

  it('is admitted under enforce=restricted, runs non-root on a read-only root, archives to the store and reports', async (t) => {
    const { ns, image, nodeName, prefix } = env;
    // The namespace really enforces `restricted`: a Pod that may run as root is refused.
    const refused = await kubectl(['run', 'root-pod', '-n', ns, `--image=${image}`, '--restart=Never', '--command', '--', 'node', '-e', '0']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /violates PodSecurity "restricted/);

    const job = buildArchiveJob(env.policy(backend.spec(prefix)), env.pod, { image, trigger: 'mysql-bin.000002', correlationId: 'node-e2e', summaryFile: '/dev/termination-log' });
    const { job: done, ran, retried } = await runJob(ns, job);
    assert.ok(ran !== undefined, 'the Job made a Pod');
    // A Pod that failed and was replaced within the Job's backoffLimit is the retry working; say why it failed.
    for (const r of retried) t.diagnostic(`retried: ${r}`);
    const terminated = ran.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(done.status?.succeeded, 1, `Job failed: ${podReport(ran)}; earlier Pods: ${retried.join('; ')}`);
    assert.equal(ran.spec?.nodeName, nodeName);
    assert.equal(terminated?.exitCode, 0);
    const report = JSON.parse(terminated?.message ?? '{}') as { ok?: boolean; archived?: number; source?: string; error?: unknown };
    assert.equal(report.ok, true, `run report: ${terminated?.message ?? ''}`);
    assert.equal(report.error, null);
    assert.equal(report.source, `${ns}-mysql-0`);
    // A replaced Pod may have archived some binlogs before it failed: the one that succeeded archived the rest.
    assert.ok((report.archived ?? 0) >= (retried.length === 0 ? 2 : 0), `archived ${String(report.archived)} closed binlogs`);
    assert.equal(ran.spec?.containers[0]?.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(ran.spec?.securityContext?.runAsUser, 65532);
    const objects = await backend.list(prefix);
    const stored = objects.filter((k) => k.endsWith('.blarc')).length;
    assert.ok(stored >= 2 && stored >= (report.archived ?? 0), `objects under ${prefix}: ${objects.join(', ')}`);
    archived = stored;
  });

  it('restores that archive with the restore Job, admitted under enforce=restricted, into a claim: the same bytes', async (t) => {
    assert.ok(archived >= 2, 'the archive test ran first');
    const { ns, image, nodeName } = env;
    // The restore's scratch claim: a hostPath PV the Job's user (65532, no fsGroup on hostPath) may write.
    const out = tempDir('blarc-node-restore-');
    fs.chmodSync(out, 0o777);
    const pv = `${ns}-restore`;
    t.after(async () => {
      await kubectl(['delete', 'pv', pv, '--wait=false']);
      fs.rmSync(out, { recursive: true, force: true });
    });
    await hostPathClaim(ns, 'restore-scratch', pv, out);
    const restore: BinlogRestore = {
      apiVersion: 'binlog.archiver.dev/v1alpha1', kind: 'BinlogRestore',
      metadata: { name: 'node-restore', namespace: ns, uid: randomUUID(), generation: 1 },
      spec: { archive: { policyRef: { name: 'orders' } }, sourceServer: `${ns}-mysql-0`, target: { latest: true }, output: { volume: { claimName: 'restore-scratch', path: 'run-1' } } },
    };
    const job = buildRestoreJob(restore, { image, correlationId: 'node-restore', policy: env.policy(backend.spec(env.prefix)), summaryFile: '/dev/termination-log' });
    const { job: done, ran, retried } = await runJob(ns, job);
    assert.ok(ran !== undefined, 'the Job made a Pod');
    // The restore Job's backoffLimit is 0: its one Pod decides.
    assert.equal(done.status?.succeeded, 1, `restore Job failed: ${podReport(ran)}; earlier Pods: ${retried.join('; ')}`);
    assert.deepEqual(retried, []);
    assert.equal(ran.spec?.nodeName, nodeName);
    assert.equal(ran.spec?.securityContext?.runAsUser, 65532);
    // Every binlog the archive Job archived comes back byte for byte from the Pod's own restore.
    const restored = fs.readdirSync(path.join(out, 'run-1')).filter((f) => /\.\d{6}$/.test(f)).sort();
    assert.ok(restored.length >= archived, `restored ${restored.join(', ')}`);
    for (const f of restored) assert.ok(fs.readFileSync(path.join(out, 'run-1', f)).equals(fs.readFileSync(path.join(hostDir, 'binlog', f))), `${f} restored byte for byte`);
  });
});
