/** Invalid objects and the messages the API server must answer with: each says which field and what is wrong. */

type Json = Record<string, unknown>;

export interface InvalidCase {
  name: string;
  object: (valid: Json) => Json;
  messages: RegExp[];
}

export function validPolicy(): Json {
  return {
    apiVersion: 'binlog.archiver.dev/v1alpha1',
    kind: 'BinlogArchivePolicy',
    metadata: { name: 'invalid-check' },
    spec: {
      source: { selector: { matchLabels: { app: 'mysql' } }, binlogVolume: 'data' },
      storage: { bucket: 'acme-binlogs' },
      keyProvider: { awsKms: { keyId: 'alias/k', region: 'eu-west-1' } },
    },
  };
}

export function validRestore(): Json {
  return {
    apiVersion: 'binlog.archiver.dev/v1alpha1',
    kind: 'BinlogRestore',
    metadata: { name: 'invalid-check' },
    spec: { archive: { policyRef: { name: 'p' } }, sourceServer: 'ns-mysql-0', target: { latest: true }, output: { volume: { claimName: 'c' } } },
  };
}

/** A copy of `o` with the value at the dotted path replaced (undefined: removed). */
function set(o: Json, dotted: string, value: unknown): Json {
  const copy = structuredClone(o);
  const keys = dotted.split('.');
  let at: Json = copy;
  for (const k of keys.slice(0, -1)) at = (at[k] ??= {}) as Json;
  const last = keys.at(-1) ?? '';
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
}

const with_ = (dotted: string, value: unknown) => (o: Json) => set(o, dotted, value);

export const INVALID_POLICIES: InvalidCase[] = [
  { name: 'an empty selector', object: with_('spec.source.selector', {}), messages: [/spec\.source\.selector: Invalid value: "object": selector must not be empty/] },
  { name: 'a selector with an unknown operator', object: with_('spec.source.selector', { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['mysql'] }] }),
    messages: [/spec\.source\.selector\.matchExpressions\[0\]\.operator: Unsupported value: "Equals": supported values: "In", "NotIn", "Exists", "DoesNotExist"/] },
  { name: 'a selector In without values', object: with_('spec.source.selector', { matchExpressions: [{ key: 'app', operator: 'In' }] }),
    messages: [/spec\.source\.selector\.matchExpressions\[0\]: Invalid value: "object": values must be non-empty for the In and NotIn operators/] },
  { name: 'a selector label value that is no label value', object: with_('spec.source.selector.matchLabels', { app: 'my sql!' }),
    messages: [/spec\.source\.selector\.matchLabels\.app: Invalid value: "my sql!"/] },
  { name: 'two key providers', object: with_('spec.keyProvider.local', { secretName: 'k' }), messages: [/spec\.keyProvider: Invalid value: "object": set exactly one key provider: local, awsKms or vault/] },
  { name: 'no key provider', object: with_('spec.keyProvider', {}), messages: [/set exactly one key provider: local, awsKms or vault/] },
  { name: 'an unknown key provider field', object: with_('spec.keyProvider', { gcpKms: { key: 'x' } }),
    messages: [/unknown field "spec\.keyProvider\.gcpKms"/] },
  { name: 'a negative rotate interval', object: with_('spec.rpo', { rotateInterval: '-5m', credentialsSecret: { name: 's' } }),
    messages: [/spec\.rpo\.rotateInterval: Invalid value: "string": must be a positive duration such as 30s, 5m or 1h30m/] },
  { name: 'a zero rotate interval', object: with_('spec.rpo', { rotateInterval: '0s', credentialsSecret: { name: 's' } }), messages: [/rotateInterval: Invalid value: "string": must be a positive duration/] },
  { name: 'a rotate interval that is no duration', object: with_('spec.rpo', { rotateInterval: '5 minutes', credentialsSecret: { name: 's' } }), messages: [/must be a positive duration/] },
  { name: 'no storage', object: with_('spec.storage', undefined), messages: [/spec\.storage: Required value/] },
  { name: 'no bucket', object: with_('spec.storage', { region: 'eu-west-1' }), messages: [/spec\.storage\.bucket: Required value/] },
  { name: 'a bucket name S3 refuses', object: with_('spec.storage.bucket', 'Acme_Binlogs'), messages: [/spec\.storage\.bucket: Invalid value: "Acme_Binlogs": spec\.storage\.bucket in body should match/] },
  { name: 'a prefix with a leading slash', object: with_('spec.storage.prefix', '/prod'), messages: [/spec\.storage\.prefix: Invalid value: "string": prefix must be names separated by single "\/"/] },
  { name: 'compression level 20', object: with_('spec.compressionLevel', 20), messages: [/spec\.compressionLevel: Invalid value: 20: spec\.compressionLevel in body should be less than or equal to 19/] },
  { name: 'compression level 0', object: with_('spec.compressionLevel', 0), messages: [/spec\.compressionLevel in body should be greater than or equal to 1/] },
  { name: 'an unknown format', object: with_('spec.format', 'aes-cbc'), messages: [/spec\.format: Unsupported value: "aes-cbc": supported values: "gcm", "openssl-aes-256-cbc"/] },
  { name: 'the openssl format with a KMS key', object: with_('spec.format', 'openssl-aes-256-cbc'), messages: [/spec\.format: Invalid value: "object": format openssl-aes-256-cbc needs keyProvider\.local/] },
  { name: 'a legacy openssl archive without its passphrase', object: with_('spec.migration', { legacy: { location: 's3://legacy-binlogs/prod' } }),
    messages: [/spec\.migration\.legacy\.keySecret: Invalid value: "object": format openssl-aes-256-cbc needs keySecret/] },
  { name: 'a passphrase for a gzip legacy archive', object: with_('spec.migration', { legacy: { location: 's3://legacy-binlogs/prod', format: 'gzip', keySecret: { name: 'p' } } }),
    messages: [/spec\.migration\.legacy\.keySecret: Invalid value: "object": keySecret is only for format openssl-aes-256-cbc/] },
  { name: 'a legacy location that is a local path', object: with_('spec.migration', { legacy: { location: '/mnt/legacy', format: 'plain' } }),
    messages: [/spec\.migration\.legacy\.location: Invalid value: "\/mnt\/legacy": spec\.migration\.legacy\.location in body should match/] },
  { name: 'object lock of 0 days', object: with_('spec.storage.objectLock', { mode: 'COMPLIANCE', days: 0 }), messages: [/spec\.storage\.objectLock\.days in body should be greater than or equal to 1/] },
  { name: 'object lock mode without days', object: with_('spec.storage.objectLock', { mode: 'GOVERNANCE' }), messages: [/spec\.storage\.objectLock\.days: Required value/] },
  { name: 'both credential kinds', object: with_('spec.storage.credentials', { serviceAccountName: 'a', secretName: 'b' }), messages: [/spec\.storage\.credentials: Invalid value: "object": set serviceAccountName or secretName, not both/] },
  { name: 'Vault with two ways to log in', object: with_('spec.keyProvider', { vault: { address: 'https://v:8200', transitKey: 'k', kubernetesAuth: { role: 'r' }, tokenSecret: { name: 't' } } }),
    messages: [/spec\.keyProvider\.vault: Invalid value: "object": set exactly one of kubernetesAuth or tokenSecret/] },
  { name: 'a Vault address with a path', object: with_('spec.keyProvider', { vault: { address: 'https://v:8200/v1', transitKey: 'k', kubernetesAuth: { role: 'r' } } }),
    messages: [/spec\.keyProvider\.vault\.address: Invalid value: "https:\/\/v:8200\/v1"/] },
  { name: 'a KMS key id without region', object: with_('spec.keyProvider', { awsKms: { keyId: 'alias/k' } }), messages: [/spec\.keyProvider\.awsKms: Invalid value: "object": region is required unless keyId is an ARN/] },
  { name: 'a binlog path escaping the volume', object: with_('spec.source.binlogPath', 'a/../../etc'), messages: [/spec\.source\.binlogPath: Invalid value: "string": binlogPath must be relative to the volume and must not contain "\.\."/] },
  { name: 'running as root', object: with_('spec.job', { runAsUser: 0 }), messages: [/spec\.job\.runAsUser in body should be greater than or equal to 1/] },
  { name: 'an unbounded backoffLimit', object: with_('spec.job', { backoffLimit: 100 }), messages: [/spec\.job\.backoffLimit in body should be less than or equal to 10/] },
  { name: 'a quantity that is no quantity', object: with_('spec.job', { resources: { requests: { cpu: 'lots' } } }), messages: [/spec\.job\.resources\.requests\.cpu: Invalid value: "lots"/] },
];

export const INVALID_RESTORES: InvalidCase[] = [
  { name: 'two targets (until time and GTID)', object: with_('spec.target', { time: '2025-01-31T12:00:00Z', gtid: 'u:1-5' }),
    messages: [/spec\.target: Invalid value: "object": set exactly one of time, gtid, position or latest/] },
  { name: 'no target', object: with_('spec.target', {}), messages: [/set exactly one of time, gtid, position or latest/] },
  { name: 'latest: false', object: with_('spec.target', { latest: false }), messages: [/spec\.target\.latest: Invalid value: "object": latest must be true when set/] },
  { name: 'a time without zone', object: with_('spec.target', { time: '2025-01-31 12:00' }), messages: [/spec\.target\.time: Invalid value: "2025-01-31 12:00": spec\.target\.time in body must be of type date-time/] },
  { name: 'a day that does not exist', object: with_('spec.target', { time: '2025-02-29T12:00:00Z' }), messages: [/spec\.target\.time in body must be of type date-time/] },
  { name: 'a zone offset beyond 23:59', object: with_('spec.target', { time: '2025-01-31T12:00:00+24:00' }), messages: [/spec\.target\.time in body should match/] },
  { name: 'policyRef and storage', object: with_('spec.archive.storage', { bucket: 'abc' }), messages: [/spec\.archive: Invalid value: "object": give either policyRef, or both storage and keyProvider/] },
  { name: 'storage without keyProvider', object: with_('spec.archive', { storage: { bucket: 'abc' } }), messages: [/give either policyRef, or both storage and keyProvider/] },
  { name: 'both outputs', object: with_('spec.output.server', { service: 'm', credentialsSecret: { name: 's' } }), messages: [/spec\.output: Invalid value: "object": set exactly one of volume or server/] },
  { name: 'a starting point with GTID set and position', object: with_('spec.from', { gtidSet: 'u:1', position: { file: 'mysql-bin.000001', position: 4 } }),
    messages: [/spec\.from: Invalid value: "object": set exactly one of gtidSet or position/] },
  { name: 'no source server', object: with_('spec.sourceServer', undefined), messages: [/spec\.sourceServer: Required value/] },
];
