/**
 * The archive Job for one source pod: `binlog-archiver archive` on the MySQL pod's node, reading its binlog volume
 * read-only, non-root on a read-only root filesystem, credentials and keys as mounted files. Pure: the same
 * (policy, pod, options) always gives the same object, and the same trigger the same name.
 */
import path from 'node:path';
import type { V1Container, V1Job, V1Pod } from '@kubernetes/client-node';
import { applyDefaults } from '../api/defaults.ts';
import { policySpec } from '../api/policy-spec.ts';
import type { BinlogArchivePolicy } from '../api/types.ts';
import { ArchiverError } from '../errors.ts';
import { binlogVolume } from './binlog-volume.ts';
import { SPEC_DEFAULTS } from './defaults.ts';
import { assembleJob, resourcesOf, tmpVolume } from './job-common.ts';
import { keyMaterial, mergeParts, storageCredentials } from './key-material.ts';
import { legacyParity } from './legacy-parity.ts';
import { ANNOTATION, archiveLabels } from './labels.ts';
import { archiveJobName, sourceName } from './names.ts';
import { pinToNode } from './placement.ts';
import { containerSecurityContext } from './security.ts';
import { keyUrl, storeUrl } from './urls.ts';

export interface ArchiveJobOptions {
  /** The operator's image, used unless spec.job.image is set. */
  image: string;
  /** What started this run (e.g. the rotation sequence the agent reported): the Job name is derived from it. */
  trigger: string;
  /** Id of the run, in labels, annotations and every log line of the Job. */
  correlationId: string;
  /**
   * Where the container writes its run report (`archive --summary-file`), as its termination message: the
   * operator passes /dev/termination-log and reads the report from the pod status. Unset: no report file.
   */
  summaryFile?: string;
}

function bad(message: string, hint: string): ArchiverError {
  return new ArchiverError('EBADINPUT', message, { hint });
}

export function buildArchiveJob(policy: BinlogArchivePolicy, pod: V1Pod, options: ArchiveJobOptions): V1Job {
  const spec = applyDefaults(policySpec, policy.spec);
  const { namespace, name: policyName } = policy.metadata;
  const podName = pod.metadata?.name ?? '';
  if (pod.metadata?.namespace !== namespace) throw bad(`pod ${podName} is in namespace ${pod.metadata?.namespace ?? '(none)'}, the policy in ${namespace}`, 'a policy selects pods of its own namespace only');
  const nodeName = pod.spec?.nodeName;
  if (nodeName === undefined || nodeName === '') throw bad(`pod ${podName} is not scheduled to a node yet`, 'the archive Job runs on the MySQL pod\'s node; wait until it is scheduled');
  if (options.trigger === '') throw bad('the archive trigger is empty', 'the Job name is derived from the trigger');

  const source = sourceName(namespace, podName);
  const binlogDir = path.posix.join(SPEC_DEFAULTS.binlogMountPath, spec.source.binlogPath);
  const parity = legacyParity(spec.migration);
  const secrets = mergeParts(storageCredentials(spec.storage), keyMaterial(spec.keyProvider), parity.parts);
  const container: V1Container = {
    name: SPEC_DEFAULTS.archiveContainer,
    image: spec.job.image ?? options.image,
    imagePullPolicy: SPEC_DEFAULTS.imagePullPolicy,
    command: ['binlog-archiver'],
    args: [
      'archive', '--binlog-dir', binlogDir, '--store', storeUrl(spec.storage), '--key', keyUrl(spec.keyProvider),
      '--format', spec.format, '--level', String(spec.compressionLevel), '--source', source,
      // Binds the batch's data key to this policy (KMS EncryptionContext, Transit context).
      '--namespace', namespace, '--policy', policyName, ...parity.args, '--json',
      ...(options.summaryFile === undefined ? [] : ['--summary-file', options.summaryFile]),
    ],
    // A crash before the report is written still leaves the log tail as the message.
    ...(options.summaryFile === undefined ? {} : { terminationMessagePath: options.summaryFile, terminationMessagePolicy: 'FallbackToLogsOnError' }),
    ...(secrets.env.length === 0 ? {} : { env: secrets.env }),
    ...(spec.job.resources === undefined ? {} : { resources: resourcesOf(spec.job) }),
    securityContext: containerSecurityContext(),
    volumeMounts: [
      { name: 'binlogs', mountPath: SPEC_DEFAULTS.binlogMountPath, readOnly: true },
      { name: 'tmp', mountPath: SPEC_DEFAULTS.tmpDir },
      ...secrets.mounts,
    ],
  };
  const annotations = {
    [ANNOTATION.policy]: policyName,
    [ANNOTATION.sourcePod]: podName,
    [ANNOTATION.source]: source,
    [ANNOTATION.correlationId]: options.correlationId,
    [ANNOTATION.trigger]: options.trigger,
    ...(policy.metadata.generation === undefined ? {} : { [ANNOTATION.generation]: String(policy.metadata.generation) }),
  };
  const serviceAccountName = spec.storage.credentials?.serviceAccountName;
  return assembleJob({
    name: archiveJobName(policyName, podName, options.trigger),
    namespace,
    labels: archiveLabels(policyName, podName, options.correlationId),
    annotations,
    owner: { kind: 'BinlogArchivePolicy', name: policyName, ...(policy.metadata.uid === undefined ? {} : { uid: policy.metadata.uid }) },
    shape: spec.job,
    container,
    volumes: [binlogVolume(pod, spec.source.binlogVolume, 'binlogs'), tmpVolume(), ...secrets.volumes],
    ...(serviceAccountName === undefined ? {} : { serviceAccountName }),
    affinity: pinToNode(nodeName, spec.job.affinity),
  });
}
