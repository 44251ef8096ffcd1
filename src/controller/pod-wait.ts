/**
 * Why a Job's Pod does not start, when the cause is one a person must fix and the kubelet reports it: a Secret the
 * Pod uses, or a key of it, does not exist. Pure: read from the Pod's container statuses (a Secret referenced from
 * the environment: waiting, CreateContainerConfigError) and from the kubelet's FailedMount events on the Pod (a
 * secret volume: the Pod stays ContainerCreating, and only the event names the Secret). The controller never reads
 * Secrets; once the Secret exists the kubelet retries on its own and the Pod starts.
 */
import type { KubeEvent } from './kube/kinds.ts';
import type { Pod } from './kube/resources.ts';

export interface PodWait {
  /** The Secret the Pod waits for. */
  secret: string;
  /** The key missing from it, when the Secret exists but lacks the key. */
  key?: string;
  pod: string;
  /** What the kubelet said, verbatim (bounded). */
  report: string;
}

// The kubelet's words (pkg/kubelet/kubelet_pods.go, pkg/volume/secret/secret.go).
const SECRET_NOT_FOUND = /secret "([^"]+)" not found/;
const ENV_KEY_MISSING = /couldn't find key (\S+) in Secret [^/\s]+\/(\S+)/;
const VOLUME_KEY_MISSING = /for volume "([^"]+)" : references non-existent secret key: (\S+)/;
const REPORT_MAX = 512;

/** A Pod that exists, is not being deleted and has not started (Pending). */
export function notStarted(pod: Pod): boolean {
  return pod.metadata?.deletionTimestamp === undefined && (pod.status?.phase === undefined || pod.status.phase === 'Pending');
}

function fromText(pod: Pod, text: string): PodWait | undefined {
  const name = pod.metadata?.name ?? '';
  const report = text.slice(0, REPORT_MAX);
  const missing = SECRET_NOT_FOUND.exec(text);
  if (missing?.[1] !== undefined) return { secret: missing[1], pod: name, report };
  const envKey = ENV_KEY_MISSING.exec(text);
  if (envKey?.[1] !== undefined && envKey[2] !== undefined) return { secret: envKey[2], key: envKey[1], pod: name, report };
  const volumeKey = VOLUME_KEY_MISSING.exec(text);
  if (volumeKey?.[1] !== undefined && volumeKey[2] !== undefined) {
    // The kubelet names the volume, not the Secret: the Pod's spec says which Secret that volume is.
    const secret = pod.spec?.volumes?.find((v) => v.name === volumeKey[1])?.secret?.secretName;
    if (secret !== undefined) return { secret, key: volumeKey[2], pod: name, report };
  }
  return undefined;
}

function eventMs(e: KubeEvent): number {
  const t = e.series?.lastObservedTime ?? e.deprecatedLastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp;
  return t === undefined || t === null ? 0 : typeof t === 'string' ? Date.parse(t) || 0 : new Date(t).getTime();
}

/** Events the kubelet reported about `pod` (by uid when the event has one), newest first. */
function kubeletEvents(pod: Pod, events: readonly KubeEvent[]): KubeEvent[] {
  const uid = pod.metadata?.uid;
  return events
    .filter((e) => e.regarding?.kind === 'Pod' && e.regarding.name === pod.metadata?.name && (e.regarding.uid === undefined || e.regarding.uid === '' || uid === undefined || e.regarding.uid === uid))
    .filter((e) => e.reportingController === 'kubelet' || e.deprecatedSource?.component === 'kubelet')
    .sort((a, b) => eventMs(b) - eventMs(a));
}

/**
 * The Secret the first of `pods` that has not started waits for, or undefined. `eventsOf` gives the events
 * regarding a pod (only asked for pods that have not started and whose status names no Secret).
 */
export function secretWait(pods: readonly Pod[], eventsOf: (pod: Pod) => readonly KubeEvent[]): PodWait | undefined {
  for (const pod of pods.filter(notStarted)) {
    for (const c of pod.status?.containerStatuses ?? []) {
      const waiting = c.state?.waiting;
      if (waiting?.reason === 'CreateContainerConfigError' && waiting.message !== undefined) {
        const w = fromText(pod, waiting.message);
        if (w !== undefined) return w;
      }
    }
    for (const e of kubeletEvents(pod, eventsOf(pod))) {
      if (e.reason !== 'FailedMount' || e.note === undefined) continue;
      const w = fromText(pod, e.note);
      if (w !== undefined) return w;
    }
  }
  return undefined;
}
