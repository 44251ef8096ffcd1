/**
 * The CRDs on the real kube-apiserver of the test environment: they install, the samples apply, the server applies
 * our defaults (the same as applyDefaults), rejects invalid objects with messages that say what is wrong, documents
 * every field for `kubectl explain`, and prints the columns. Objects built by src/specs are accepted too, under
 * Pod Security "restricted".
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import {
  KINDS, aggregateSources, applyDefaults, buildCrd, continuousArchivingCondition, policySpec, readyCondition, restoreSpec,
  type BinlogArchivePolicy, type BinlogRestore, type SourceStatus,
} from '../../src/api/index.ts';
import { buildAgentSidecar, buildArchiveJob, buildRestoreJob } from '../../src/specs/index.ts';
import { REPO_ROOT, skipUnlessIn } from '../support/testenv.ts';
import { deleteNamespace, ensureDefaultServiceAccount, eventually, installCrds, kubectl, ok, uniqueName } from './kubectl.ts';
import { INVALID_POLICIES, INVALID_RESTORES, validGooglePolicy, validGoogleRestore, validLifecyclePolicies, validPolicy, validRestore } from './invalid-cases.ts';

const CRDS = path.join(REPO_ROOT, 'crds');
const SAMPLES = path.join(CRDS, 'samples');
const IMAGE = 'registry.example/binlog-archiver:test';

describe('CRDs on the real kube-apiserver', { skip: skipUnlessIn('kube') }, () => {
  const ns = uniqueName('blapi');

  before(async () => {
    await installCrds();
    await ok(['wait', '--for=condition=Established', '--timeout=60s', ...KINDS.map((k) => `crd/${k.plural}.binlog.archiver.dev`)]);
    await ok(['create', 'namespace', ns]);
    await ok(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted']);
    // No controller-manager runs here to create it; pods need it.
    await ensureDefaultServiceAccount(ns);
  });

  after(async () => {
    await deleteNamespace(ns, 'binlogarchivepolicies,binlogrestores,jobs');
  });

  it('stores exactly the generated schema and printer columns (the YAML read by kubectl is the schema)', async () => {
    for (const def of KINDS) {
      const stored = JSON.parse(await ok(['get', 'crd', `${def.plural}.binlog.archiver.dev`, '-o', 'json'])) as { spec: { versions: unknown[] } };
      const expected = (buildCrd(def).spec as { versions: unknown[] }).versions;
      assert.deepEqual(stored.spec.versions, expected);
    }
  });

  it('applies every sample cleanly, without warnings', async () => {
    const r = await kubectl(['apply', '-n', ns, '-f', SAMPLES]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.deepEqual(r.stdout.trim().split('\n').sort(), [
      'binlogarchivepolicy.binlog.archiver.dev/mysql-prod created',
      'binlogarchivepolicy.binlog.archiver.dev/mysql-staging created',
      'binlogrestore.binlog.archiver.dev/before-drop-table created',
      'binlogrestore.binlog.archiver.dev/staging-latest created',
    ]);
  });

  it('the server applies the defaults, and applyDefaults gives the very same spec', async () => {
    for (const file of fs.readdirSync(SAMPLES)) {
      const sent = JSON.parse(await ok(['create', '--dry-run=client', '-o', 'json', '-f', path.join(SAMPLES, file)])) as BinlogArchivePolicy | BinlogRestore;
      const stored = JSON.parse(await ok(['get', sent.kind, sent.metadata.name, '-n', ns, '-o', 'json'])) as BinlogArchivePolicy | BinlogRestore;
      const ours = sent.kind === 'BinlogArchivePolicy' ? applyDefaults(policySpec, sent.spec) : applyDefaults(restoreSpec, sent.spec);
      assert.deepEqual(stored.spec, ours, file);
    }
    const staging = JSON.parse(await ok(['get', 'bap', 'mysql-staging', '-n', ns, '-o', 'json'])) as BinlogArchivePolicy;
    const spec = staging.spec;
    assert.deepEqual([spec.suspend, spec.format, spec.compressionLevel, spec.source.container, spec.source.binlogPath, spec.keyProvider.vault?.mount,
      spec.keyProvider.vault?.kubernetesAuth?.mountPath, spec.job?.backoffLimit, spec.job?.runAsUser, spec.job?.ttlSecondsAfterFinished, spec.purgeRisk?.thresholdSeconds],
    [false, 'gcm', 2, 'mysql', '', 'transit', 'kubernetes', 2, 65532, 3600, 3600]);
  });

  it('accepts a policy and a restore on GCS with Cloud KMS, and a policy on S3 written before gcs existed', async () => {
    for (const object of [validGooglePolicy(), validGoogleRestore(), validPolicy()]) {
      const r = await kubectl(['create', '--dry-run=server', '-n', ns, '-f', '-'], JSON.stringify(object));
      assert.equal(r.code, 0, r.stderr);
    }
  });

  it('a restore\'s waitTimeout: 1h unless given; Go durations accepted as written', async () => {
    for (const [given, stored] of [[undefined, '1h'], ['90s', '90s'], ['2h30m', '2h30m'], ['1.5h', '1.5h'], ['45m0s', '45m0s']] as const) {
      const object = validRestore();
      if (given !== undefined) (object.spec as Record<string, unknown>).waitTimeout = given;
      const r = await kubectl(['create', '--dry-run=server', '-n', ns, '-o', 'json', '-f', '-'], JSON.stringify(object));
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as BinlogRestore).spec.waitTimeout, stored, given);
    }
  });

  it('accepts scheduled verification and retention with cron steps, ranges, lists and names, and defaults scope and the retention schedule', async () => {
    for (const object of validLifecyclePolicies()) {
      const r = await kubectl(['create', '--dry-run=server', '-n', ns, '-o', 'json', '-f', '-'], JSON.stringify(object));
      assert.equal(r.code, 0, r.stderr);
      const stored = JSON.parse(r.stdout) as BinlogArchivePolicy;
      assert.deepEqual([stored.spec.verification?.scope, stored.spec.retention?.schedule], ['recent', '0 * * * *']);
      assert.deepEqual(stored.spec, applyDefaults(policySpec, (object as unknown as BinlogArchivePolicy).spec));
    }
  });

  for (const c of INVALID_POLICIES) {
    it(`rejects a policy with ${c.name}`, async () => {
      const r = await kubectl(['create', '--dry-run=server', '-n', ns, '-f', '-'], JSON.stringify(c.object(validPolicy())));
      assert.notEqual(r.code, 0, `accepted: ${r.stdout}`);
      for (const m of c.messages) assert.match(r.stderr, m);
    });
  }

  for (const c of INVALID_RESTORES) {
    it(`rejects a restore with ${c.name}`, async () => {
      const r = await kubectl(['create', '--dry-run=server', '-n', ns, '-f', '-'], JSON.stringify(c.object(validRestore())));
      assert.notEqual(r.code, 0, `accepted: ${r.stdout}`);
      for (const m of c.messages) assert.match(r.stderr, m);
    });
  }

  it('refuses to change a restore\'s spec after creation', async () => {
    const r = await kubectl(['patch', 'blr', 'before-drop-table', '-n', ns, '--type=merge', '-p', '{"spec":{"acceptGaps":true}}']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec is immutable: create a new BinlogRestore/);
  });

  it('kubectl explain documents the fields', async () => {
    const out = await eventually('kubectl explain to know the CRD', async () => {
      const r = await kubectl(['explain', 'bap.spec.storage']);
      return r.code === 0 && r.stdout.includes('bucket') ? r.stdout : undefined;
    });
    assert.match(out, /KIND:\s+BinlogArchivePolicy/);
    assert.match(out, /Where the archive lives: an S3 or S3-compatible bucket/);
    for (const field of ['bucket', 'prefix', 'endpoint', 'region', 'forcePathStyle', 'credentials', 'objectLock']) assert.match(out, new RegExp(`^  ${field}\\s`, 'm'));
    assert.match(out, /Bucket name \(3-63 lowercase letters/);
    const role = await ok(['explain', 'bap.spec.keyProvider.vault.kubernetesAuth.role']);
    assert.match(role, /Vault role bound to the Jobs' ServiceAccount/);
    const target = await ok(['explain', 'blr.spec.target']);
    assert.match(target, /Exactly one of time, gtid, position or latest/);
  });

  it('kubectl get bap shows Ready, Last Archived, Lag, Recoverable Until and Age from a status the builders made', async () => {
    const generation = Number(await ok(['get', 'bap', 'mysql-staging', '-n', ns, '-o', 'jsonpath={.metadata.generation}']));
    const clock = { now: () => new Date('2025-02-01T10:06:00Z') };
    const sources: SourceStatus[] = [
      { pod: 'mysql-0', server: `${ns}-mysql-0`, lastArchivedBinlog: 'mysql-bin.000042', lastArchivedTime: '2025-02-01T10:05:00Z', lagSeconds: 12, pendingBinlogs: 1,
        firstRecoverableTime: '2025-01-25T00:00:00Z', lastRecoverableTime: '2025-02-01T10:04:59Z', archivedGtidSet: 'u:1-100', secondsUntilPurge: 600000, gaps: 0 },
      { pod: 'mysql-1', server: `${ns}-mysql-1`, lastArchivedBinlog: 'mysql-bin.000017', lastArchivedTime: '2025-02-01T10:01:00Z', lagSeconds: 3, pendingBinlogs: 0,
        lastRecoverableTime: '2025-02-01T10:00:30Z', gaps: 0 },
    ];
    const facts = { suspended: false, storage: { ok: true as const }, keyProvider: { ok: true as const }, purgeThresholdSeconds: 3600,
      sources: sources.map((s) => ({ server: s.server, archived: 10, pendingBinlogs: s.pendingBinlogs ?? 0, lagSeconds: s.lagSeconds ?? 0, gaps: 0 })) };
    const status = {
      observedGeneration: generation,
      conditions: [readyCondition(facts, { generation, clock }), continuousArchivingCondition(facts, { generation, clock })],
      sources,
      ...aggregateSources(sources),
      recentRuns: [{ correlationId: 'run-1', jobName: 'mysql-staging-mysql-0-0123456789', source: `${ns}-mysql-0`, result: 'Succeeded', binlogsArchived: 1, bytesArchived: 1048576 }],
    };
    await ok(['patch', 'bap', 'mysql-staging', '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
    const table = await ok(['get', 'bap', 'mysql-staging', '-n', ns]);
    const [header, row] = table.trim().split('\n');
    assert.match(header ?? '', /^NAME\s+READY\s+LAST ARCHIVED\s+LAG\s+RECOVERABLE UNTIL\s+AGE$/);
    assert.match(row ?? '', /^mysql-staging\s+True\s+mysql-0\/mysql-bin\.000042\s+12\s+2025-02-01T10:00:30Z\s+\d+[smh]$/);
    const wide = await ok(['get', 'bap', 'mysql-staging', '-n', ns, '-o', 'wide']);
    assert.match(wide, /^NAME\s+READY\s+REASON\s+LAST ARCHIVED\s+LAG\s+RECOVERABLE UNTIL\s+ARCHIVING\s+AGE$/m);
    assert.match(wide, /^mysql-staging\s+True\s+ArchivingSucceeded\s+mysql-0\/mysql-bin\.000042\s+12\s+\S+\s+ArchivingSucceeded\s+\d+[smh]$/m);
    const blr = await ok(['get', 'blr', '-n', ns]);
    assert.match(blr.split('\n')[0] ?? '', /^NAME\s+PHASE\s+SOURCE\s+BINLOGS\s+RECOVERED UNTIL\s+AGE$/);
  });

  it('the status schema refuses a condition that is not a metav1.Condition', async () => {
    const bad = { status: { conditions: [{ type: 'Ready', status: 'Maybe', reason: 'x y', message: '', lastTransitionTime: 'now' }] } };
    const r = await kubectl(['patch', 'bap', 'mysql-staging', '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify(bad)]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /status\.conditions\[0\]\.status: Unsupported value: "Maybe"/);
    assert.match(r.stderr, /status\.conditions\[0\]\.reason: Invalid value: "x y"/);
    assert.match(r.stderr, /status\.conditions\[0\]\.lastTransitionTime: Invalid value: "now"/);
  });

  it('archive Jobs are accepted, a second create of the same trigger is refused (no duplicate), and the pod passes Pod Security "restricted"', async () => {
    const policy = JSON.parse(await ok(['get', 'bap', 'mysql-staging', '-n', ns, '-o', 'json'])) as BinlogArchivePolicy;
    const pod: V1Pod = {
      metadata: { name: 'mysql-0', namespace: ns },
      spec: { nodeName: 'node-a', containers: [{ name: 'mysql', image: 'mysql:8.4' }], volumes: [{ name: 'binlogs', persistentVolumeClaim: { claimName: 'binlogs-mysql-0' } }] },
    };
    const job = buildArchiveJob(policy, pod, { image: IMAGE, trigger: 'mysql-bin.000043', correlationId: 'run-2' });
    const created = await kubectl(['create', '-n', ns, '-f', '-'], JSON.stringify(job));
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stderr, '', 'no warnings');
    const again = await kubectl(['create', '-n', ns, '-f', '-'], JSON.stringify(buildArchiveJob(policy, pod, { image: IMAGE, trigger: 'mysql-bin.000043', correlationId: 'run-3' })));
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /AlreadyExists|already exists/);
    const stored = JSON.parse(await ok(['get', 'job', job.metadata?.name ?? '', '-n', ns, '-o', 'json'])) as { metadata: { ownerReferences: Array<{ uid: string }> } };
    assert.equal(stored.metadata.ownerReferences[0]?.uid, policy.metadata.uid);
    const asPod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'archive-pod-check', namespace: ns }, spec: job.spec?.template.spec };
    const admitted = await kubectl(['create', '--dry-run=server', '-n', ns, '-f', '-'], JSON.stringify(asPod));
    assert.equal(admitted.code, 0, admitted.stderr);
  });

  it('restore Jobs are accepted, and a MySQL pod with the agent sidecar passes Pod Security "restricted"', async () => {
    const restore = JSON.parse(await ok(['get', 'blr', 'before-drop-table', '-n', ns, '-o', 'json'])) as BinlogRestore;
    const policy = JSON.parse(await ok(['get', 'bap', 'mysql-prod', '-n', ns, '-o', 'json'])) as BinlogArchivePolicy;
    const job = buildRestoreJob(restore, { image: IMAGE, correlationId: 'restore-1', policy });
    const r = await kubectl(['create', '--dry-run=server', '-n', ns, '-f', '-'], JSON.stringify(job));
    assert.equal(r.code, 0, r.stderr);

    const agent = buildAgentSidecar(policy.spec, { image: IMAGE, native: true });
    const hardened = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };
    const mysql = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'mysql-0', namespace: ns },
      spec: {
        securityContext: { runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999, seccompProfile: { type: 'RuntimeDefault' } },
        initContainers: [agent.container],
        containers: [{ name: 'mysql', image: 'mysql:8.4', securityContext: hardened, volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }] }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-mysql-0' } }, ...agent.volumes],
      },
    };
    const admitted = await kubectl(['create', '--dry-run=server', '-n', ns, '-f', '-'], JSON.stringify(mysql));
    assert.equal(admitted.code, 0, admitted.stderr);
  });
});
