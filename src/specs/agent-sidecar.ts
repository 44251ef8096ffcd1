/**
 * The agent sidecar for the MySQL pod (users and the Helm chart add it): watches the binlog index through the
 * shared binlog volume, reports rotations to the operator over HTTP, and, with spec.rpo, rotates the binlog at an
 * interval. It needs no Kubernetes credentials: the operator polls it, it never calls the API server.
 */
import path from 'node:path';
import type { V1Container, V1Volume } from '@kubernetes/client-node';
import { applyDefaults } from '../api/defaults.ts';
import { policySpec } from '../api/policy-spec.ts';
import type { BinlogArchivePolicySpec } from '../api/types.ts';
import { SPEC_DEFAULTS } from './defaults.ts';
import { containerSecurityContext } from './security.ts';

export interface AgentSidecarOptions {
  image: string;
  /** As a native sidecar (an init container with restartPolicy Always, Kubernetes 1.29+) instead of a container. */
  native?: boolean;
  /** UID and GID of the agent; default: those of the MySQL pod, which can read its binlogs. */
  runAsUser?: number;
  runAsGroup?: number;
}

export interface AgentSidecar {
  container: V1Container;
  /** Volumes to add to the MySQL pod (the binlog volume is already there). */
  volumes: V1Volume[];
}

const CREDENTIALS_VOLUME = 'binlog-archiver-mysql-credentials';

export function buildAgentSidecar(policySpecIn: BinlogArchivePolicySpec, options: AgentSidecarOptions): AgentSidecar {
  const spec = applyDefaults(policySpec, policySpecIn);
  const binlogDir = path.posix.join(SPEC_DEFAULTS.binlogMountPath, spec.source.binlogPath);
  const args = ['agent', '--binlog-dir', binlogDir, '--listen', `:${SPEC_DEFAULTS.agentPort}`];
  const volumes: V1Volume[] = [];
  const mounts: V1Container['volumeMounts'] = [{ name: spec.source.binlogVolume, mountPath: SPEC_DEFAULTS.binlogMountPath, readOnly: true }];
  if (spec.purgeRisk.expireLogsSeconds !== undefined) args.push('--expire-logs-seconds', String(spec.purgeRisk.expireLogsSeconds));
  const rpo = spec.rpo;
  if (rpo !== undefined) {
    const dir = SPEC_DEFAULTS.mysqlCredentialsDir;
    args.push('--rotate-interval', rpo.rotateInterval, '--mysql-host', '127.0.0.1', '--mysql-port', String(rpo.port),
      '--mysql-user-file', path.posix.join(dir, 'username'), '--mysql-password-file', path.posix.join(dir, 'password'));
    volumes.push({
      name: CREDENTIALS_VOLUME,
      secret: {
        secretName: rpo.credentialsSecret.name,
        items: [{ key: rpo.credentialsSecret.usernameKey, path: 'username' }, { key: rpo.credentialsSecret.passwordKey, path: 'password' }],
        defaultMode: SPEC_DEFAULTS.secretFileMode,
      },
    });
    mounts.push({ name: CREDENTIALS_VOLUME, mountPath: dir, readOnly: true });
  }
  const id = options.runAsUser === undefined ? undefined : { runAsUser: options.runAsUser, runAsGroup: options.runAsGroup ?? options.runAsUser };
  const container: V1Container = {
    name: SPEC_DEFAULTS.agentContainer,
    image: options.image,
    imagePullPolicy: SPEC_DEFAULTS.imagePullPolicy,
    command: ['binlog-archiver'],
    args,
    ...(options.native === true ? { restartPolicy: 'Always' } : {}),
    ports: [{ name: 'agent', containerPort: SPEC_DEFAULTS.agentPort, protocol: 'TCP' }],
    readinessProbe: { httpGet: { path: '/readyz', port: 'agent' }, periodSeconds: 10 },
    livenessProbe: { httpGet: { path: '/healthz', port: 'agent' }, periodSeconds: 30, failureThreshold: 3 },
    resources: structuredClone(SPEC_DEFAULTS.agentResources),
    securityContext: containerSecurityContext(id),
    volumeMounts: mounts,
  };
  return { container, volumes };
}
