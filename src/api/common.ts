/** Schemas shared by both kinds: Kubernetes types (selector, resources, tolerations, conditions) and name patterns. */
import type { V1Affinity } from '@kubernetes/client-node';
import { DURATION } from './duration.ts';
import { array, boolean, integer, intOrString, map, object, oneOf, passthrough, string } from './schema.ts';

/** DNS-1123 label: container, volume and Service names. */
export const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** DNS-1123 subdomain: Secret, ServiceAccount, PVC and most object names. */
export const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const SECRET_KEY = '^[-._a-zA-Z0-9]+$';
const LABEL_VALUE = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';
const QUANTITY = '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

export function objectName(description: string) {
  return string(description, { pattern: DNS_SUBDOMAIN, minLength: 1, maxLength: 253 });
}

export function labelName(description: string) {
  return string(description, { pattern: DNS_LABEL, minLength: 1, maxLength: 63 });
}

/** A key of a Secret in the object's namespace. `what` says what the file holds. */
export function secretKeyRef(description: string, defaultKey: string, what: string) {
  return object(description, {
    name: objectName('Name of the Secret, in the namespace of this resource.'),
    key: string(`Key in the Secret whose value is ${what}. It is mounted as a file, never passed in an environment variable.`, {
      default: defaultKey, pattern: SECRET_KEY, maxLength: 253,
    }),
  }, { required: ['name'] });
}

/** A positive Go duration (`30s`, `5m`, `1h30m`): a pattern alone cannot say "greater than zero". */
export function duration(description: string, options: { default?: string } = {}) {
  return string(description, {
    maxLength: 32,
    ...(options.default === undefined ? {} : { default: options.default }),
    validations: [{
      rule: `self.matches('${DURATION}') && duration(self) > duration('0s')`,
      message: 'must be a positive duration such as 30s, 5m or 1h30m',
    }],
  });
}

const labelSelectorRequirement = object('A label selector requirement: a key, an operator and (for In and NotIn) values.', {
  key: string('The label key the selector applies to.', { minLength: 1, maxLength: 317 }),
  operator: oneOf('How the key relates to the values.', ['In', 'NotIn', 'Exists', 'DoesNotExist']),
  values: array('The values for In and NotIn (at least one); empty for Exists and DoesNotExist.',
    string('A label value.', { pattern: LABEL_VALUE, maxLength: 63 }), { maxItems: 64, listType: 'atomic' }),
}, {
  required: ['key', 'operator'],
  validations: [{
    rule: "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
    message: 'values must be non-empty for the In and NotIn operators and empty for Exists and DoesNotExist',
  }],
});

/** metav1.LabelSelector that must select something: an empty selector would match every pod in the namespace. */
export function labelSelector(description: string) {
  return object(description, {
    matchLabels: map('Labels the pods must have (key: value), ANDed with matchExpressions.',
      string('A label value.', { pattern: LABEL_VALUE, maxLength: 63 }), { maxProperties: 64 }),
    matchExpressions: array('Label selector requirements, ANDed.', labelSelectorRequirement, { maxItems: 32, listType: 'atomic' }),
  }, {
    validations: [{
      rule: '(has(self.matchLabels) && size(self.matchLabels) > 0) || (has(self.matchExpressions) && size(self.matchExpressions) > 0)',
      message: 'selector must not be empty: give matchLabels or matchExpressions (an empty selector would select every pod in the namespace)',
    }],
  });
}

const quantity = (description: string) => intOrString(description, { pattern: QUANTITY });

export const resources = object('Compute resources of the container (as in a Pod), e.g. requests: {cpu: 100m, memory: 256Mi}.', {
  requests: map('Minimum resources the container is scheduled with (cpu, memory, ephemeral-storage).', quantity('A quantity, e.g. 500m or 1Gi.'), { maxProperties: 16 }),
  limits: map('Maximum resources the container may use (cpu, memory, ephemeral-storage).', quantity('A quantity, e.g. 500m or 1Gi.'), { maxProperties: 16 }),
});

export const tolerations = array('Tolerations of the Job pods (as in a Pod), for taints on the node that runs the MySQL pod.', object('A toleration.', {
  key: string('Taint key the toleration applies to; empty with operator Exists matches every taint.', { maxLength: 317 }),
  operator: oneOf('Exists (any value) or Equal (the value below).', ['Exists', 'Equal']),
  value: string('Taint value matched with operator Equal.', { maxLength: 63 }),
  effect: oneOf('Taint effect to match; empty matches every effect.', ['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
  tolerationSeconds: integer('With effect NoExecute: how long the pod stays bound after the taint appears.', { format: 'int64' }),
}), { maxItems: 32, listType: 'atomic' });

export const nodeSelector = map('Node labels the Job pods require, in addition to being pinned to the MySQL pod\'s node.', string('A label value.'), { maxProperties: 32 });

export const affinity = passthrough<V1Affinity>('Affinity of the Job pods (core/v1 Affinity, passed through). The node pinning to the MySQL pod\'s node is added to every required node selector term.');

export const CONDITION_TYPE = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$';
export const CONDITION_REASON = '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$';

/** metav1.Condition, field for field. */
export const condition = object('A condition (metav1.Condition): an observation of one aspect of the resource\'s state.', {
  type: string('Type of the condition, in CamelCase; True is the good state.', { pattern: CONDITION_TYPE, maxLength: 316 }),
  status: oneOf('True, False or Unknown.', ['True', 'False', 'Unknown']),
  observedGeneration: integer('The metadata.generation the condition was computed from.', { format: 'int64', minimum: 0 }),
  lastTransitionTime: string('When the status last changed (RFC 3339).', { format: 'date-time' }),
  reason: string('Why, in one CamelCase word, for programs.', { pattern: CONDITION_REASON, minLength: 1, maxLength: 1024 }),
  message: string('Why, for people: what is wrong and what to do.', { maxLength: 32768 }),
}, { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] });

export const conditions = array('Conditions, one per type (positive polarity: True is good).', condition, {
  maxItems: 16, listType: 'map', listMapKeys: ['type'],
});

export const observedGeneration = integer('The metadata.generation of the spec this status describes.', { format: 'int64', minimum: 0 });

export const suspend = boolean('Stop starting new Jobs (running ones finish). Status and alerts keep being updated.', { default: false });
