/**
 * The Jobs of a BinlogRestore, both `binlog-archiver restore` on the archive of one source server, from a starting
 * point to a target. The plan Job (`--plan-only`) reads the manifest and the boundary binlogs and writes nothing;
 * the restore Job writes into a PersistentVolumeClaim (binlogs plus replay.sh) or applies to a MySQL server. One
 * of each per BinlogRestore (names derive from the object's uid). With spec.archive.policyRef the caller passes the
 * policy. With `summaryFile` the run's JSON summary (or error) becomes the container's termination message.
 */
import path from 'node:path';
import type { V1Container, V1Job, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { applyDefaults } from '../api/defaults.ts';
import { policySpec } from '../api/policy-spec.ts';
import { restoreSpec } from '../api/restore-spec.ts';
import type { BinlogArchivePolicy, BinlogRestore, ResolvedRestoreSpec } from '../api/types.ts';
import { ArchiverError } from '../errors.ts';
import { SPEC_DEFAULTS } from './defaults.ts';
import { assembleJob, resourcesOf, tmpVolume } from './job-common.ts';
import { keyMaterial, mergeParts, secretFile, storageCredentials, type PodParts } from './key-material.ts';
import { ANNOTATION, restoreLabels } from './labels.ts';
import { restoreJobName, restorePlanJobName } from './names.ts';
import { containerSecurityContext } from './security.ts';
import { keyUrl, storeUrl } from './urls.ts';

export interface RestoreJobOptions {
  image: string;
  correlationId: string;
  /** The policy named by spec.archive.policyRef, as read from the API server. */
  policy?: BinlogArchivePolicy;
  /** Where the container writes its summary (`--summary-file`): /dev/termination-log for the operator. */
  summaryFile?: string;
}

export type RestoreStep = 'plan' | 'restore';

function archiveOf(spec: ResolvedRestoreSpec, restore: BinlogRestore, policy: BinlogArchivePolicy | undefined) {
  const ref = spec.archive.policyRef;
  if (ref === undefined) {
    if (spec.archive.storage === undefined || spec.archive.keyProvider === undefined) throw new Error('archive has neither policyRef nor storage and keyProvider');
    return { storage: spec.archive.storage, keyProvider: spec.archive.keyProvider };
  }
  if (policy === undefined || policy.metadata.name !== ref.name || policy.metadata.namespace !== restore.metadata.namespace) {
    throw new ArchiverError('EBADINPUT', `BinlogRestore ${restore.metadata.name} names policy ${ref.name}, which was not passed`, { hint: 'read the policy from the API server and pass it as options.policy' });
  }
  const resolved = applyDefaults(policySpec, policy.spec);
  return { storage: resolved.storage, keyProvider: resolved.keyProvider };
}

/** The CLI options for the starting point and the target. */
export function pointArgs(spec: ResolvedRestoreSpec): string[] {
  const args: string[] = [];
  if (spec.from?.gtidSet !== undefined) args.push('--from-gtid', spec.from.gtidSet);
  if (spec.from?.position !== undefined) args.push('--from-file', spec.from.position.file, '--from-position', String(spec.from.position.position));
  const t = spec.target;
  if (t.time !== undefined) args.push('--until', t.time);
  else if (t.gtid !== undefined) args.push('--until-gtid', t.gtid);
  else if (t.position !== undefined) args.push('--until-file', t.position.file, '--until-position', String(t.position.position));
  if (spec.acceptGaps) args.push('--accept-gaps');
  return args;
}

function outputParts(spec: ResolvedRestoreSpec): { args: string[]; parts: PodParts } {
  const { volume, server } = spec.output;
  if (volume !== undefined) {
    const mount: V1VolumeMount = { name: 'restore', mountPath: SPEC_DEFAULTS.restoreMountPath };
    const vol: V1Volume = { name: 'restore', persistentVolumeClaim: { claimName: volume.claimName } };
    return { args: ['--out', path.posix.join(SPEC_DEFAULTS.restoreMountPath, volume.path)], parts: { volumes: [vol], mounts: [mount], env: [] } };
  }
  if (server === undefined) throw new Error('output has neither volume nor server');
  const dir = SPEC_DEFAULTS.mysqlCredentialsDir;
  const parts = secretFile('mysql-credentials', server.credentialsSecret.name, server.credentialsSecret.usernameKey, dir, 'username');
  parts.volumes[0]?.secret?.items?.push({ key: server.credentialsSecret.passwordKey, path: 'password' });
  const args = ['--apply-host', server.service, '--apply-port', String(server.port),
    '--apply-user-file', path.posix.join(dir, 'username'), '--apply-password-file', path.posix.join(dir, 'password')];
  // The verified binlogs go to the server through pipes or the replication protocol: nothing is staged on disk.
  args.push('--apply-mode', server.applyMode);
  if (server.applyMode !== 'session') {
    // The target's replica connects back to this Pod: listen on (and announce) the Pod IP.
    parts.env.push({ name: SPEC_DEFAULTS.podIpEnv, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
    args.push('--apply-listen', `$(${SPEC_DEFAULTS.podIpEnv})`);
  }
  if (server.allowUnverifiedApply && server.applyMode !== 'replication') args.push('--allow-unverified-apply');
  return { args, parts };
}

function buildStepJob(restore: BinlogRestore, options: RestoreJobOptions, step: RestoreStep): V1Job {
  const spec = applyDefaults(restoreSpec, restore.spec);
  const { name, namespace, uid } = restore.metadata;
  if (uid === undefined || uid === '') throw new ArchiverError('EBADINPUT', `BinlogRestore ${name} has no metadata.uid`, { hint: 'build Jobs from the object as read from the API server' });
  const archive = archiveOf(spec, restore, options.policy);
  // The plan writes and applies nothing: no output volume, no server credentials.
  const output = step === 'plan' ? { args: ['--plan-only'], parts: { volumes: [], mounts: [], env: [] } } : outputParts(spec);
  const secrets = mergeParts(storageCredentials(archive.storage), keyMaterial(archive.keyProvider), output.parts);
  const summary = options.summaryFile;
  const container: V1Container = {
    name: SPEC_DEFAULTS.restoreContainer,
    image: spec.job.image ?? options.image,
    imagePullPolicy: SPEC_DEFAULTS.imagePullPolicy,
    command: ['binlog-archiver'],
    args: ['restore', '--store', storeUrl(archive.storage), '--key', keyUrl(archive.keyProvider), '--source', spec.sourceServer,
      ...pointArgs(spec), ...output.args, '--json', ...(summary === undefined ? [] : ['--summary-file', summary])],
    ...(secrets.env.length === 0 ? {} : { env: secrets.env }),
    ...(spec.job.resources === undefined ? {} : { resources: resourcesOf(spec.job) }),
    securityContext: containerSecurityContext(),
    volumeMounts: [{ name: 'tmp', mountPath: SPEC_DEFAULTS.tmpDir }, ...secrets.mounts],
    ...(summary === undefined ? {} : { terminationMessagePath: summary, terminationMessagePolicy: 'FallbackToLogsOnError' }),
  };
  const serviceAccountName = archive.storage.credentials?.serviceAccountName;
  return assembleJob({
    name: step === 'plan' ? restorePlanJobName(name, uid) : restoreJobName(name, uid),
    namespace,
    labels: restoreLabels(name, options.correlationId),
    annotations: { [ANNOTATION.restore]: name, [ANNOTATION.source]: spec.sourceServer, [ANNOTATION.correlationId]: options.correlationId, [ANNOTATION.step]: step },
    owner: { kind: 'BinlogRestore', name, uid },
    shape: spec.job,
    container,
    volumes: [tmpVolume(), ...secrets.volumes],
    ...(serviceAccountName === undefined ? {} : { serviceAccountName }),
  });
}

/** The restore Job: writes (and, with a server output, applies) the binlogs. */
export function buildRestoreJob(restore: BinlogRestore, options: RestoreJobOptions): V1Job {
  return buildStepJob(restore, options, 'restore');
}

/** The plan Job: `restore --plan-only`, the plan or the refusal (gap, target outside the archive) and nothing written. */
export function buildPlanJob(restore: BinlogRestore, options: RestoreJobOptions): V1Job {
  return buildStepJob(restore, options, 'plan');
}
