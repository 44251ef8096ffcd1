/**
 * Pins a Job pod to the node of the MySQL pod the way DaemonSets do: a required node affinity on the field
 * metadata.name, not spec.nodeName, so the scheduler still checks taints, resources and the user's own affinity.
 */
import type { V1Affinity, V1NodeSelectorRequirement, V1NodeSelectorTerm } from '@kubernetes/client-node';

export function pinToNode(nodeName: string, affinity: V1Affinity | undefined): V1Affinity {
  const pin: V1NodeSelectorRequirement = { key: 'metadata.name', operator: 'In', values: [nodeName] };
  const required = affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  // Terms are ORed: the pin is ANDed into each one, so no term can place the pod elsewhere.
  const terms: V1NodeSelectorTerm[] = required === undefined || required.nodeSelectorTerms.length === 0
    ? [{ matchFields: [pin] }]
    : required.nodeSelectorTerms.map((t) => ({ ...t, matchFields: [...(t.matchFields ?? []), pin] }));
  return {
    ...affinity,
    nodeAffinity: { ...affinity?.nodeAffinity, requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
  };
}
