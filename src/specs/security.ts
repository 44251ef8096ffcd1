/** The hardened security contexts every container and pod this project builds gets (restricted Pod Security). */
import type { V1PodSecurityContext, V1SecurityContext } from '@kubernetes/client-node';

export interface Identity {
  runAsUser: number;
  runAsGroup: number;
  supplementalGroups?: number[];
}

export function podSecurityContext(id: Identity): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: id.runAsUser,
    runAsGroup: id.runAsGroup,
    // Makes the 0440 Secret files readable. Read-only volumes (the binlogs) are never chowned by the kubelet.
    fsGroup: id.runAsGroup,
    fsGroupChangePolicy: 'OnRootMismatch',
    ...(id.supplementalGroups === undefined || id.supplementalGroups.length === 0 ? {} : { supplementalGroups: [...id.supplementalGroups] }),
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function containerSecurityContext(id?: Pick<Identity, 'runAsUser' | 'runAsGroup'>): V1SecurityContext {
  return {
    runAsNonRoot: true,
    ...(id === undefined ? {} : { runAsUser: id.runAsUser, runAsGroup: id.runAsGroup }),
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
