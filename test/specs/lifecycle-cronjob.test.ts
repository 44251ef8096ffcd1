import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1CronJob } from '@kubernetes/client-node';
import { buildLifecycleCronJob, lifecycleCronJobName } from '../../src/specs/index.ts';
import { IMAGE, policy } from './fixtures.ts';

const options = { image: IMAGE, summaryFile: '/dev/termination-log' };
const lifecycle = { verification: { schedule: '30 3 * * *' }, retention: { recoveryWindow: '168h' } };

function container(cron: V1CronJob | undefined) {
  const c = cron?.spec?.jobTemplate.spec?.template.spec?.containers[0];
  assert.ok(c !== undefined);
  return c;
}

describe('buildLifecycleCronJob', () => {
  it('builds the whole verify CronJob exactly: restricted, report as termination message, owned by the policy', () => {
    const cron = buildLifecycleCronJob(policy(lifecycle), 'verify', options);
    const labels = {
      'app.kubernetes.io/name': 'binlog-archiver', 'app.kubernetes.io/component': 'verify', 'app.kubernetes.io/managed-by': 'binlog-archiver-operator',
      'binlog.archiver.dev/policy': 'orders',
    };
    const annotations = { 'binlog.archiver.dev/policy': 'orders', 'binlog.archiver.dev/generation': '3' };
    assert.deepEqual(cron, {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: {
        name: 'orders-verify', namespace: 'shop', labels, annotations,
        ownerReferences: [{ apiVersion: 'binlog.archiver.dev/v1alpha1', kind: 'BinlogArchivePolicy', name: 'orders', uid: '6f1c1d2e-0000-4000-8000-000000000001', controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        schedule: '30 3 * * *', concurrencyPolicy: 'Forbid', suspend: false, startingDeadlineSeconds: 600, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels, annotations },
          spec: {
            backoffLimit: 2, ttlSecondsAfterFinished: 86400, activeDeadlineSeconds: 3600,
            podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { containerName: 'verify', operator: 'In', values: [2] } }] },
            template: {
              metadata: { labels, annotations },
              spec: {
                restartPolicy: 'Never',
                automountServiceAccountToken: false,
                enableServiceLinks: false,
                securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, fsGroupChangePolicy: 'OnRootMismatch', seccompProfile: { type: 'RuntimeDefault' } },
                containers: [{
                  name: 'verify',
                  image: IMAGE,
                  imagePullPolicy: 'IfNotPresent',
                  command: ['binlog-archiver'],
                  args: ['verify', '--store', 's3://acme-binlogs/prod/orders?region=eu-west-1', '--key', 'awskms://alias/binlog-archiver?region=eu-west-1',
                    '--json', '--summary-file', '/dev/termination-log'],
                  terminationMessagePath: '/dev/termination-log',
                  terminationMessagePolicy: 'FallbackToLogsOnError',
                  securityContext: {
                    runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false,
                    capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
                  },
                  volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
                }],
                volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }],
              },
            },
          },
        },
      },
    });
  });

  it('scope recent passes --since the last verified time; scope all, or no verification yet, decodes everything', () => {
    const at = '2026-12-03T04:00:00.000Z';
    assert.deepEqual(container(buildLifecycleCronJob(policy(lifecycle), 'verify', { ...options, verifiedUntil: at })).args?.slice(5, 7), ['--since', at]);
    const all = buildLifecycleCronJob(policy({ ...lifecycle, verification: { schedule: '0 * * * *', scope: 'all' } }), 'verify', { ...options, verifiedUntil: at });
    assert.ok(!(container(all).args ?? []).includes('--since'));
    assert.equal(all?.spec?.schedule, '0 * * * *');
  });

  it('builds the expire CronJob with the recovery window, hourly by default', () => {
    const cron = buildLifecycleCronJob(policy(lifecycle), 'expire', options);
    assert.equal(cron?.metadata?.name, 'orders-expire');
    assert.equal(cron?.spec?.schedule, '0 * * * *');
    assert.equal(cron?.metadata?.labels?.['app.kubernetes.io/component'], 'expire');
    assert.deepEqual(container(cron).args, ['expire', '--store', 's3://acme-binlogs/prod/orders?region=eu-west-1', '--key', 'awskms://alias/binlog-archiver?region=eu-west-1',
      '--recovery-window', '168h', '--json', '--summary-file', '/dev/termination-log']);
    const custom = buildLifecycleCronJob(policy({ retention: { recoveryWindow: '36h', schedule: '15 */6 * * *' } }), 'expire', options);
    assert.equal(custom?.spec?.schedule, '15 */6 * * *');
  });

  it('gives nothing for a task the policy does not ask for', () => {
    assert.equal(buildLifecycleCronJob(policy(), 'verify', options), undefined);
    assert.equal(buildLifecycleCronJob(policy(), 'expire', options), undefined);
    assert.equal(buildLifecycleCronJob(policy({ retention: lifecycle.retention }), 'verify', options), undefined);
  });

  it('mounts credentials and keys as files, uses the ServiceAccount and the policy\'s image, and follows spec.suspend', () => {
    const withSecrets = buildLifecycleCronJob(policy({ ...lifecycle, suspend: true, storage: { bucket: 'binlogs', credentials: { secretName: 'minio' } }, keyProvider: { local: { secretName: 'master-key' } } }), 'verify', options);
    const pod = withSecrets?.spec?.jobTemplate.spec?.template.spec;
    assert.equal(withSecrets?.spec?.suspend, true);
    assert.deepEqual(pod?.volumes?.map((v) => v.name), ['tmp', 'aws-credentials', 'master-key']);
    assert.ok(pod?.volumes?.slice(1).every((v) => v.secret?.defaultMode === 0o440));
    assert.deepEqual(container(withSecrets).env, [{ name: 'AWS_SHARED_CREDENTIALS_FILE', value: '/var/run/binlog-archiver/aws/credentials' }]);
    assert.match(container(withSecrets).args?.[(container(withSecrets).args?.indexOf('--key') ?? 0) + 1] ?? '', /^file:\/\/\/var\/run\/binlog-archiver\/key\/master\.key/);
    const wi = buildLifecycleCronJob(policy({ ...lifecycle, storage: { bucket: 'binlogs', credentials: { serviceAccountName: 'archiver' } }, job: { image: 'registry.local/x:dev' } }), 'expire', options);
    assert.equal(wi?.spec?.jobTemplate.spec?.template.spec?.serviceAccountName, 'archiver');
    assert.equal(container(wi).image, 'registry.local/x:dev');
  });

  it('names the CronJob within 52 characters, deterministically', () => {
    const long = `p${'x'.repeat(100)}.y`;
    const name = lifecycleCronJobName(long, 'verify');
    assert.ok(name.length <= 52, name);
    assert.match(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    assert.equal(lifecycleCronJobName(long, 'verify'), name);
    assert.notEqual(lifecycleCronJobName(long, 'expire'), name);
  });
});
