import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Job } from '@kubernetes/client-node';
import type { BinlogRestoreSpec } from '../../src/api/index.ts';
import { buildRestoreJob } from '../../src/specs/index.ts';
import { IMAGE, policy, restore } from './fixtures.ts';

const options = { image: IMAGE, correlationId: 'restore-1', policy: policy() };

function args(job: V1Job): string[] {
  return job.spec?.template.spec?.containers[0]?.args ?? [];
}

describe('buildRestoreJob', () => {
  it('restores from the policy\'s archive into a PVC: the whole Job', () => {
    const job = buildRestoreJob(restore(), options);
    assert.match(job.metadata?.name ?? '', /^before-drop-restore-[0-9a-f]{10}$/);
    assert.deepEqual(job.metadata?.ownerReferences, [{ apiVersion: 'binlog.archiver.dev/v1alpha1', kind: 'BinlogRestore', name: 'before-drop', uid: '6f1c1d2e-0000-4000-8000-000000000002', controller: true, blockOwnerDeletion: true }]);
    assert.deepEqual(job.metadata?.labels, {
      'app.kubernetes.io/name': 'binlog-archiver', 'app.kubernetes.io/component': 'restore', 'app.kubernetes.io/managed-by': 'binlog-archiver-operator',
      'binlog.archiver.dev/restore': 'before-drop', 'binlog.archiver.dev/correlation-id': 'restore-1',
    });
    assert.deepEqual([job.spec?.backoffLimit, job.spec?.activeDeadlineSeconds, job.spec?.ttlSecondsAfterFinished], [0, 21600, 86400]);
    assert.deepEqual(args(job), ['restore', '--store', 's3://acme-binlogs/prod/orders?region=eu-west-1', '--key', 'awskms://alias/binlog-archiver?region=eu-west-1',
      '--source', 'shop-mysql-0', '--out', '/restore/run-1', '--json']);
    const pod = job.spec?.template.spec;
    assert.deepEqual(pod?.volumes, [{ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }, { name: 'restore', persistentVolumeClaim: { claimName: 'restore-scratch' } }]);
    assert.deepEqual(pod?.containers[0]?.volumeMounts, [{ name: 'tmp', mountPath: '/tmp' }, { name: 'restore', mountPath: '/restore' }]);
    assert.equal(pod?.affinity, undefined, 'a restore is not pinned to a node');
    assert.equal(pod?.automountServiceAccountToken, false);
    assert.equal(pod?.securityContext?.runAsNonRoot, true);
  });

  const points: Array<{ name: string; spec: Partial<BinlogRestoreSpec>; args: string[] }> = [
    { name: 'GTID set to time', spec: { from: { gtidSet: 'u:1-10' }, target: { time: '2025-01-31T12:00:00Z' } }, args: ['--from-gtid', 'u:1-10', '--until', '2025-01-31T12:00:00Z'] },
    { name: 'GTID set to GTID', spec: { from: { gtidSet: 'u:1-10' }, target: { gtid: 'u:1-20' } }, args: ['--from-gtid', 'u:1-10', '--until-gtid', 'u:1-20'] },
    { name: 'position to position', spec: { from: { position: { file: 'mysql-bin.000003', position: 4 } }, target: { position: { file: 'mysql-bin.000009', position: 1200 } } }, args: ['--from-file', 'mysql-bin.000003', '--from-position', '4', '--until-file', 'mysql-bin.000009', '--until-position', '1200'] },
    { name: 'start to latest, gaps accepted', spec: { target: { latest: true }, acceptGaps: true }, args: ['--accept-gaps'] },
  ];
  for (const p of points) {
    it(`starting point and target: ${p.name}`, () => {
      const a = args(buildRestoreJob(restore(p.spec), options));
      assert.deepEqual(a.slice(a.indexOf('shop-mysql-0') + 1, a.indexOf('--out')), p.args);
    });
  }

  it('applies to a server with credentials as files, and uses storage + key given in the restore', () => {
    const job = buildRestoreJob(restore({
      archive: { storage: { bucket: 'binlogs', credentials: { serviceAccountName: 'restorer' } }, keyProvider: { local: { secretName: 'master' } } },
      output: { server: { service: 'mysql-restored', credentialsSecret: { name: 'admin' } } },
    }), { image: IMAGE, correlationId: 'r2' });
    assert.deepEqual(args(job), ['restore', '--store', 's3://binlogs', '--key', 'file:///var/run/binlog-archiver/key/master.key', '--source', 'shop-mysql-0',
      '--apply-host', 'mysql-restored', '--apply-port', '3306', '--apply-user-file', '/var/run/binlog-archiver/mysql/username',
      '--apply-password-file', '/var/run/binlog-archiver/mysql/password', '--apply-mode', 'auto', '--apply-listen', '$(POD_IP)', '--json']);
    const pod = job.spec?.template.spec;
    assert.equal(pod?.serviceAccountName, 'restorer');
    assert.deepEqual(pod?.volumes?.slice(1), [
      { name: 'master-key', secret: { secretName: 'master', items: [{ key: 'key', path: 'master.key' }], defaultMode: 0o440 } },
      { name: 'mysql-credentials', secret: { secretName: 'admin', items: [{ key: 'username', path: 'username' }, { key: 'password', path: 'password' }], defaultMode: 0o440 } },
    ]);
    // auto (the default) may use the replication applier: the server connects back to the Pod IP.
    assert.deepEqual(pod?.containers[0]?.env, [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }]);
  });

  it('restores from storage.gcs with a gcpKms key given in the restore: gs:// and gcpkms:// URLs, its ServiceAccount, no key material', () => {
    const keyName = 'projects/acme-prod/locations/global/keyRings/r/cryptoKeys/k';
    const job = buildRestoreJob(restore({
      archive: { storage: { gcs: { bucket: 'binlogs', endpoint: 'https://storage.internal' }, credentials: { serviceAccountName: 'restorer-wi' } }, keyProvider: { gcpKms: { keyName } } },
    }), { image: IMAGE, correlationId: 'r3' });
    const a = args(job);
    assert.equal(a[a.indexOf('--store') + 1], 'gs://binlogs?endpoint=https%3A%2F%2Fstorage.internal');
    assert.equal(a[a.indexOf('--key') + 1], `gcpkms://${keyName}`);
    const pod = job.spec?.template.spec;
    assert.equal(pod?.serviceAccountName, 'restorer-wi');
    assert.ok(!(pod?.volumes ?? []).some((v) => v.secret !== undefined || v.projected !== undefined), 'no Secret or token volume');
    assert.equal(pod?.containers[0]?.env, undefined);
  });

  it('applies through the server\'s replication applier: listens on the Pod IP, stages nothing', () => {
    const job = buildRestoreJob(restore({ output: { server: { service: 'mariadb-restored', applyMode: 'replication', credentialsSecret: { name: 'admin' } } } }), options);
    const a = args(job);
    assert.deepEqual(a.slice(a.indexOf('--apply-mode')), ['--apply-mode', 'replication', '--apply-listen', '$(POD_IP)', '--json']);
    assert.ok(!a.includes('--out'));
    const pod = job.spec?.template.spec;
    assert.deepEqual(pod?.containers[0]?.env, [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }]);
    assert.ok(!(pod?.volumes ?? []).some((v) => v.name === 'replay'));
  });

  it('applies in one session, streamed: no --out, no staging volume, no Pod IP', () => {
    const job = buildRestoreJob(restore({ output: { server: { service: 'db', applyMode: 'session', credentialsSecret: { name: 'admin' } } } }), options);
    const a = args(job);
    assert.deepEqual(a.slice(a.indexOf('--apply-mode')), ['--apply-mode', 'session', '--json']);
    assert.ok(!a.includes('--out'));
    const pod = job.spec?.template.spec;
    assert.equal(pod?.containers[0]?.env, undefined);
    assert.deepEqual(pod?.volumes?.map((v) => v.name), ['tmp', 'mysql-credentials']);
  });

  it('passes --allow-unverified-apply only when the spec accepts an unchecked session apply', () => {
    const accepted = args(buildRestoreJob(restore({ output: { server: { service: 'db', allowUnverifiedApply: true, credentialsSecret: { name: 'admin' } } } }), options));
    assert.ok(accepted.includes('--allow-unverified-apply'));
    assert.ok(!args(buildRestoreJob(restore({ output: { server: { service: 'db', credentialsSecret: { name: 'admin' } } } }), options)).includes('--allow-unverified-apply'));
  });

  it('refuses a policyRef without the policy', () => {
    assert.throws(() => buildRestoreJob(restore(), { image: IMAGE, correlationId: 'x' }), /names policy orders, which was not passed/);
    assert.throws(() => buildRestoreJob(restore(), { image: IMAGE, correlationId: 'x', policy: policy({}, 'other') }), /names policy orders/);
  });
});
