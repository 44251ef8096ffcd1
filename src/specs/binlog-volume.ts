/**
 * The archive Job reads the binlogs through the same volume source as the MySQL pod, made read-only. Sources that
 * live inside the pod (emptyDir) or hold no binlogs (configMap, secret, ...) cannot be shared and are refused.
 */
import type { V1Pod, V1Volume } from '@kubernetes/client-node';
import { ArchiverError } from '../errors.ts';

/** Volume sources private to one pod, or configuration: another pod cannot see the binlogs through them. */
const NOT_SHAREABLE = ['emptyDir', 'configMap', 'secret', 'downwardAPI', 'projected', 'gitRepo', 'image'] as const;

/** Volume sources that have a readOnly field of their own. */
const WITH_READ_ONLY = ['awsElasticBlockStore', 'azureDisk', 'azureFile', 'cephfs', 'cinder', 'csi', 'fc', 'flexVolume', 'gcePersistentDisk',
  'iscsi', 'nfs', 'portworxVolume', 'quobyte', 'rbd', 'scaleIO', 'storageos'] as const;

function fail(message: string, hint: string): ArchiverError {
  return new ArchiverError('EBADINPUT', message, { hint });
}

/** The pod's volume `volumeName` as a read-only volume named `as`. */
export function binlogVolume(pod: V1Pod, volumeName: string, as: string): V1Volume {
  const podName = pod.metadata?.name ?? '';
  const found = pod.spec?.volumes?.find((v) => v.name === volumeName);
  if (found === undefined) {
    const names = (pod.spec?.volumes ?? []).map((v) => v.name);
    throw fail(`pod ${podName} has no volume ${volumeName}`, `spec.source.binlogVolume names one of the pod's volumes: ${names.join(', ') || '(none)'}`);
  }
  const { name: _name, ...source } = found;
  const kind = Object.keys(source).find((k) => (source as Record<string, unknown>)[k] !== undefined) ?? '';
  if ((NOT_SHAREABLE as readonly string[]).includes(kind)) {
    throw fail(`volume ${volumeName} of pod ${podName} is of type ${kind}, which another pod cannot mount`, 'keep the binlogs on a PersistentVolumeClaim or hostPath volume');
  }
  if (source.persistentVolumeClaim !== undefined) {
    return { name: as, persistentVolumeClaim: { claimName: source.persistentVolumeClaim.claimName, readOnly: true } };
  }
  if (source.ephemeral !== undefined) {
    // A generic ephemeral volume is a PVC named <pod>-<volume>, owned by the pod.
    return { name: as, persistentVolumeClaim: { claimName: `${podName}-${volumeName}`, readOnly: true } };
  }
  const copy = structuredClone(source) as Record<string, Record<string, unknown> | undefined>;
  const inner = copy[kind];
  // Sources with a readOnly field get it set; the others (hostPath, ...) rely on the read-only mount.
  if (inner !== undefined && (WITH_READ_ONLY as readonly string[]).includes(kind)) inner.readOnly = true;
  return { name: as, ...copy };
}
