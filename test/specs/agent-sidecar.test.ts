import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildAgentSidecar } from '../../src/specs/index.ts';
import { IMAGE, policy } from './fixtures.ts';

const hardened = { runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } };

describe('buildAgentSidecar', () => {
  it('watches the binlog directory through the pod\'s own volume, read-only, with no credentials', () => {
    const { container, volumes } = buildAgentSidecar(policy().spec, { image: IMAGE });
    assert.deepEqual(container, {
      name: 'binlog-archiver-agent',
      image: IMAGE,
      imagePullPolicy: 'IfNotPresent',
      command: ['binlog-archiver'],
      args: ['agent', '--binlog-dir', '/binlogs/binlog', '--listen', ':9471'],
      ports: [{ name: 'agent', containerPort: 9471, protocol: 'TCP' }],
      readinessProbe: { httpGet: { path: '/readyz', port: 'agent' }, periodSeconds: 10 },
      livenessProbe: { httpGet: { path: '/healthz', port: 'agent' }, periodSeconds: 30, failureThreshold: 3 },
      resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
      securityContext: hardened,
      volumeMounts: [{ name: 'data', mountPath: '/binlogs', readOnly: true }],
    });
    assert.deepEqual(volumes, []);
  });

  it('with spec.rpo: rotates at the interval with MySQL credentials mounted from the Secret as files', () => {
    const { container, volumes } = buildAgentSidecar(policy({
      rpo: { rotateInterval: '5m', credentialsSecret: { name: 'mysql-agent', passwordKey: 'pw' } },
      purgeRisk: { expireLogsSeconds: 604800 },
    }).spec, { image: IMAGE, native: true, runAsUser: 999 });
    assert.deepEqual(container.args, ['agent', '--binlog-dir', '/binlogs/binlog', '--listen', ':9471', '--expire-logs-seconds', '604800',
      '--rotate-interval', '5m', '--mysql-host', '127.0.0.1', '--mysql-port', '3306',
      '--mysql-user-file', '/var/run/binlog-archiver/mysql/username', '--mysql-password-file', '/var/run/binlog-archiver/mysql/password']);
    assert.equal(container.restartPolicy, 'Always', 'a native sidecar');
    assert.deepEqual(container.securityContext, { ...hardened, runAsUser: 999, runAsGroup: 999 });
    assert.equal(container.env, undefined);
    assert.deepEqual(volumes, [{
      name: 'binlog-archiver-mysql-credentials',
      secret: { secretName: 'mysql-agent', items: [{ key: 'username', path: 'username' }, { key: 'pw', path: 'password' }], defaultMode: 0o440 },
    }]);
    assert.deepEqual(container.volumeMounts?.[1], { name: 'binlog-archiver-mysql-credentials', mountPath: '/var/run/binlog-archiver/mysql', readOnly: true });
  });
});
