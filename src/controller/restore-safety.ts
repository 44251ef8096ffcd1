/**
 * A restore must not replay into a server that an active BinlogArchivePolicy archives: the archive would record
 * the replayed transactions as a new chain of that source and alarm on a false gap (or worse, mix two histories
 * under one name). The target Service's pods are compared with every policy of the namespace that is not
 * suspended; the restore waits until the policy is suspended or the Service selects other pods.
 */
import type { Service } from './kube/kinds.ts';
import type { Pod, Policy } from './kube/resources.ts';
import { matchesSelector } from './selector.ts';

export interface ArchivedTarget {
  pod: string;
  policy: string;
}

/** The pods a Service's selector picks (a Service without a selector picks none that can be known from here). */
function selectedBy(service: Service, pods: readonly Pod[]): Pod[] {
  const selector = service.spec?.selector;
  if (selector === undefined || Object.keys(selector).length === 0) return [];
  return pods.filter((p) => Object.entries(selector).every(([k, v]) => p.metadata?.labels?.[k] === v));
}

/** The first pod behind `service` that an active policy archives, or undefined. */
export function archivedTarget(service: Service, pods: readonly Pod[], policies: readonly Policy[]): ArchivedTarget | undefined {
  const active = policies.filter((p) => p.spec.suspend !== true && p.metadata.deletionTimestamp === undefined);
  for (const pod of selectedBy(service, pods)) {
    const policy = active.find((p) => matchesSelector(p.spec.source.selector, pod.metadata?.labels));
    if (policy !== undefined) return { pod: pod.metadata?.name ?? '', policy: policy.metadata.name };
  }
  return undefined;
}
