import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Job, V1Volume } from '@kubernetes/client-node';
import { buildArchiveJob } from '../../src/specs/index.ts';
import type { BinlogArchivePolicySpec } from '../../src/api/index.ts';
import { IMAGE, mysqlPod, policy } from './fixtures.ts';

const options = { image: IMAGE, trigger: 'mysql-bin.000042', correlationId: 'run-7f3a' };

function podSpec(job: V1Job) {
  const spec = job.spec?.template.spec;
  assert.ok(spec !== undefined);
  return spec;
}

function container(job: V1Job) {
  const c = podSpec(job).containers[0];
  assert.ok(c !== undefined);
  return c;
}

describe('buildArchiveJob', () => {
  it('builds the whole Job for S3 + AWS KMS exactly', () => {
    const job = buildArchiveJob(policy(), mysqlPod(), options);
    const labels = {
      'app.kubernetes.io/name': 'binlog-archiver', 'app.kubernetes.io/component': 'archive', 'app.kubernetes.io/managed-by': 'binlog-archiver-operator',
      'binlog.archiver.dev/policy': 'orders', 'binlog.archiver.dev/source-pod': 'mysql-0', 'binlog.archiver.dev/correlation-id': 'run-7f3a',
    };
    const annotations = {
      'binlog.archiver.dev/policy': 'orders', 'binlog.archiver.dev/source-pod': 'mysql-0', 'binlog.archiver.dev/source': 'shop-mysql-0',
      'binlog.archiver.dev/correlation-id': 'run-7f3a', 'binlog.archiver.dev/trigger': 'mysql-bin.000042', 'binlog.archiver.dev/generation': '3',
    };
    assert.deepEqual(job, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: job.metadata?.name, namespace: 'shop', labels, annotations,
        ownerReferences: [{ apiVersion: 'binlog.archiver.dev/v1alpha1', kind: 'BinlogArchivePolicy', name: 'orders', uid: '6f1c1d2e-0000-4000-8000-000000000001', controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        backoffLimit: 2, ttlSecondsAfterFinished: 86400, activeDeadlineSeconds: 3600,
        podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { containerName: 'archive', operator: 'In', values: [2] } }] },
        template: {
          metadata: { labels, annotations },
          spec: {
            restartPolicy: 'Never',
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, fsGroupChangePolicy: 'OnRootMismatch', seccompProfile: { type: 'RuntimeDefault' } },
            affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-a'] }] }] } } },
            containers: [{
              name: 'archive',
              image: IMAGE,
              imagePullPolicy: 'IfNotPresent',
              command: ['binlog-archiver'],
              args: ['archive', '--binlog-dir', '/binlogs/binlog', '--store', 's3://acme-binlogs/prod/orders?region=eu-west-1',
                '--key', 'awskms://alias/binlog-archiver?region=eu-west-1', '--format', 'gcm', '--level', '2', '--source', 'shop-mysql-0',
                '--namespace', 'shop', '--policy', 'orders', '--json'],
              securityContext: {
                runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false,
                capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts: [{ name: 'binlogs', mountPath: '/binlogs', readOnly: true }, { name: 'tmp', mountPath: '/tmp' }],
            }],
            volumes: [
              { name: 'binlogs', persistentVolumeClaim: { claimName: 'data-mysql-0', readOnly: true } },
              { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
            ],
          },
        },
      },
    });
    assert.match(job.metadata?.name ?? '', /^orders-mysql-0-[0-9a-f]{10}$/);
  });

  it('names the Job deterministically from policy, pod and trigger, within 63 characters', () => {
    const a = buildArchiveJob(policy(), mysqlPod(), options).metadata?.name;
    assert.equal(buildArchiveJob(policy(), mysqlPod(), { ...options, correlationId: 'other' }).metadata?.name, a, 'the correlation id does not change the name');
    assert.notEqual(buildArchiveJob(policy(), mysqlPod(), { ...options, trigger: 'mysql-bin.000043' }).metadata?.name, a);
    assert.notEqual(buildArchiveJob(policy(), mysqlPod({ name: 'mysql-1' }), options).metadata?.name, a);
    const long = buildArchiveJob(policy({}, `p${'x'.repeat(100)}.y`), mysqlPod({ name: `mysql-${'z'.repeat(80)}` }), options);
    const name = long.metadata?.name ?? '';
    assert.ok(name.length <= 63, name);
    assert.match(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    assert.ok((long.metadata?.labels?.['binlog.archiver.dev/policy'] ?? '').length <= 63);
    assert.equal(long.metadata?.annotations?.['binlog.archiver.dev/policy'], `p${'x'.repeat(100)}.y`, 'the annotation keeps the full name');
  });

  const volumeCases: Array<{ name: string; volume: V1Volume; expect: V1Volume }> = [
    { name: 'PVC: claim name, read-only', volume: { name: 'data', persistentVolumeClaim: { claimName: 'pvc-1' } }, expect: { name: 'binlogs', persistentVolumeClaim: { claimName: 'pvc-1', readOnly: true } } },
    { name: 'hostPath: copied as is', volume: { name: 'data', hostPath: { path: '/srv/mysql', type: 'Directory' } }, expect: { name: 'binlogs', hostPath: { path: '/srv/mysql', type: 'Directory' } } },
    { name: 'generic ephemeral: its PVC <pod>-<volume>', volume: { name: 'data', ephemeral: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'] } } } }, expect: { name: 'binlogs', persistentVolumeClaim: { claimName: 'mysql-0-data', readOnly: true } } },
    { name: 'CSI: readOnly set', volume: { name: 'data', csi: { driver: 'x.csi.example', volumeAttributes: { a: 'b' } } }, expect: { name: 'binlogs', csi: { driver: 'x.csi.example', volumeAttributes: { a: 'b' }, readOnly: true } } },
    { name: 'NFS: readOnly set', volume: { name: 'data', nfs: { server: 'nas', path: '/mysql' } }, expect: { name: 'binlogs', nfs: { server: 'nas', path: '/mysql', readOnly: true } } },
  ];
  for (const c of volumeCases) {
    it(`copies the binlog volume source: ${c.name}`, () => {
      const job = buildArchiveJob(policy(), mysqlPod({ volume: c.volume }), options);
      assert.deepEqual(podSpec(job).volumes?.[0], c.expect);
    });
  }

  const refusals: Array<{ name: string; pod: ReturnType<typeof mysqlPod>; spec?: Partial<BinlogArchivePolicySpec>; message: RegExp }> = [
    { name: 'an emptyDir binlog volume', pod: mysqlPod({ volume: { name: 'data', emptyDir: {} } }), message: /volume data of pod mysql-0 is of type emptyDir, which another pod cannot mount/ },
    { name: 'a volume the pod does not have', pod: mysqlPod(), spec: { source: { selector: { matchLabels: { app: 'mysql' } }, binlogVolume: 'binlog' } }, message: /pod mysql-0 has no volume binlog/ },
    { name: 'an unscheduled pod', pod: mysqlPod({ nodeName: null }), message: /pod mysql-0 is not scheduled to a node yet/ },
    { name: 'a pod of another namespace', pod: mysqlPod({ namespace: 'other' }), message: /pod mysql-0 is in namespace other, the policy in shop/ },
  ];
  for (const c of refusals) {
    it(`refuses ${c.name}`, () => {
      assert.throws(() => buildArchiveJob(policy(c.spec), c.pod, options), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'EBADINPUT');
        assert.match(err.message, c.message);
        return true;
      });
    });
  }

  it('refuses a policy without uid (no owner reference possible)', () => {
    const p = policy();
    delete p.metadata.uid;
    assert.throws(() => buildArchiveJob(p, mysqlPod(), options), /BinlogArchivePolicy orders has no metadata.uid/);
  });

  it('mounts the local key from its Secret as a file and passes openssl format and level', () => {
    const job = buildArchiveJob(policy({ keyProvider: { local: { secretName: 'master-key' } }, format: 'openssl-aes-256-cbc', compressionLevel: 9 }), mysqlPod(), options);
    const c = container(job);
    assert.deepEqual(c.args?.slice(5, 12), ['--key', 'file:///var/run/binlog-archiver/key/master.key', '--format', 'openssl-aes-256-cbc', '--level', '9', '--source']);
    assert.deepEqual(podSpec(job).volumes?.at(-1), { name: 'master-key', secret: { secretName: 'master-key', items: [{ key: 'key', path: 'master.key' }], defaultMode: 0o440 } });
    assert.deepEqual(c.volumeMounts?.at(-1), { name: 'master-key', mountPath: '/var/run/binlog-archiver/key', readOnly: true });
    assert.equal(c.env, undefined, 'no environment variables at all');
  });

  it('Vault with Kubernetes auth: a projected token for Vault only, CA from a Secret, no key material in env', () => {
    const job = buildArchiveJob(policy({
      storage: { bucket: 'binlogs', endpoint: 'http://minio.storage:9000', forcePathStyle: true, credentials: { secretName: 'minio' }, objectLock: { mode: 'GOVERNANCE', days: 7 } },
      keyProvider: { vault: { address: 'https://vault.vault.svc:8200', transitKey: 'binlogs', kubernetesAuth: { role: 'archiver', audience: 'vault' }, caSecret: { name: 'vault-ca' } } },
    }), mysqlPod(), options);
    const c = container(job);
    const args = c.args ?? [];
    assert.equal(args[args.indexOf('--store') + 1], 's3://binlogs?endpoint=http%3A%2F%2Fminio.storage%3A9000&forcePathStyle=true&objectLockMode=GOVERNANCE&objectLockDays=7');
    assert.equal(args[args.indexOf('--key') + 1], 'vault://binlogs?addr=https%3A%2F%2Fvault.vault.svc%3A8200&mount=transit&role=archiver&jwtFile=%2Fvar%2Frun%2Fbinlog-archiver%2Fvault-token%2Ftoken&authMount=kubernetes&caFile=%2Fvar%2Frun%2Fbinlog-archiver%2Fvault-ca%2Fca.crt');
    assert.deepEqual(c.env, [{ name: 'AWS_SHARED_CREDENTIALS_FILE', value: '/var/run/binlog-archiver/aws/credentials' }]);
    assert.deepEqual(podSpec(job).volumes?.slice(2), [
      { name: 'aws-credentials', secret: { secretName: 'minio', items: [{ key: 'credentials', path: 'credentials' }], defaultMode: 0o440 } },
      { name: 'vault-token', projected: { defaultMode: 0o440, sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 600, audience: 'vault' } }] } },
      { name: 'vault-ca', secret: { secretName: 'vault-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o440 } },
    ]);
    assert.equal(podSpec(job).automountServiceAccountToken, false);
  });

  it('GCS + Cloud KMS: gs:// and gcpkms:// URLs, the ServiceAccount (Workload Identity), no credential or key material mounted or in env', () => {
    const keyName = 'projects/acme-prod/locations/europe-west1/keyRings/binlogs/cryptoKeys/archive';
    const job = buildArchiveJob(policy({
      storage: { gcs: { bucket: 'acme-binlogs', prefix: 'prod' }, credentials: { serviceAccountName: 'archiver-wi' } },
      keyProvider: { gcpKms: { keyName } },
    }), mysqlPod(), options);
    const c = container(job);
    const args = c.args ?? [];
    assert.equal(args[args.indexOf('--store') + 1], 'gs://acme-binlogs/prod');
    assert.equal(args[args.indexOf('--key') + 1], `gcpkms://${keyName}`);
    assert.equal(podSpec(job).serviceAccountName, 'archiver-wi');
    assert.deepEqual(podSpec(job).volumes?.slice(2), [], 'nothing beyond the binlog and scratch volumes');
    assert.equal(c.env, undefined, 'no environment variables at all');
  });

  it('passes scheduling, resources, identity and retries through from spec.job, and the ServiceAccount from storage.credentials', () => {
    const job = buildArchiveJob(policy({
      storage: { bucket: 'acme-binlogs', credentials: { serviceAccountName: 'archiver' } },
      job: {
        image: 'registry.local/binlog-archiver:dev', resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
        nodeSelector: { disk: 'ssd' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'mysql', effect: 'NoSchedule' }],
        affinity: {
          nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }] } },
          podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] },
        },
        priorityClassName: 'db-critical', runAsUser: 1001, runAsGroup: 1001, supplementalGroups: [999], ttlSecondsAfterFinished: 600, backoffLimit: 5, activeDeadlineSeconds: 900,
      },
    }), mysqlPod(), options);
    const pod = podSpec(job);
    assert.equal(container(job).image, 'registry.local/binlog-archiver:dev');
    assert.deepEqual(container(job).resources, { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } });
    assert.equal(pod.serviceAccountName, 'archiver');
    assert.deepEqual(pod.nodeSelector, { disk: 'ssd' });
    assert.deepEqual(pod.tolerations, [{ key: 'dedicated', operator: 'Equal', value: 'mysql', effect: 'NoSchedule' }]);
    assert.equal(pod.priorityClassName, 'db-critical');
    const pin = { key: 'metadata.name', operator: 'In', values: ['node-a'] };
    assert.deepEqual(pod.affinity, {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
        { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }], matchFields: [pin] },
        { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }], matchFields: [pin] },
      ] } },
      podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] },
    }, 'the pin is ANDed into every ORed term');
    assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 1001, runAsGroup: 1001, fsGroup: 1001, fsGroupChangePolicy: 'OnRootMismatch', supplementalGroups: [999], seccompProfile: { type: 'RuntimeDefault' } });
    assert.deepEqual([job.spec?.ttlSecondsAfterFinished, job.spec?.backoffLimit, job.spec?.activeDeadlineSeconds], [600, 5, 900]);
  });

  it('does not change its inputs', () => {
    const p = policy();
    const pod = mysqlPod();
    const before = JSON.stringify([p, pod]);
    buildArchiveJob(p, pod, options);
    assert.equal(JSON.stringify([p, pod]), before);
  });
});
