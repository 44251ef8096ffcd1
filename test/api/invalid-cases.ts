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

/** Valid scheduled verification and retention: steps, ranges, lists and names are cron, and the defaults apply. */
export function validLifecyclePolicies(): Json[] {
  return ['*/15 * * * *', '30 3 * * MON-FRI', '0 0,12 1 1-6 *', '5  4 * * 0'].map((schedule, i) =>
    set(set(set(validPolicy(), 'metadata.name', `lifecycle-${i}`), 'spec.verification', { schedule }), 'spec.retention', { recoveryWindow: i === 0 ? '168h' : '36h30m' }));
}

const GCP_KEY = 'projects/acme-prod/locations/europe-west1/keyRings/binlogs/cryptoKeys/archive';

/** Valid objects on Google Cloud (GCS + Cloud KMS, Workload Identity): the API server must accept them. */
export function validGooglePolicy(): Json {
  return set(set(validPolicy(), 'spec.storage', { gcs: { bucket: 'acme_binlogs.eu', prefix: 'prod/mysql', endpoint: 'https://storage.internal:8443', retention: { mode: 'Locked', days: 35 }, eventBasedHold: true }, credentials: { serviceAccountName: 'archiver-wi' } }),
    'spec.keyProvider', { gcpKms: { keyName: GCP_KEY } });
}

export function validGoogleRestore(): Json {
  return set(validRestore(), 'spec.archive', { storage: { gcs: { bucket: 'acme-binlogs' } }, keyProvider: { gcpKms: { keyName: GCP_KEY, endpoint: 'http://127.0.0.1:8443' } } });
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
  { name: 'two key providers', object: with_('spec.keyProvider.local', { secretName: 'k' }), messages: [/spec\.keyProvider: Invalid value: "object": set exactly one key provider: local, awsKms, vault or gcpKms/] },
  { name: 'no key provider', object: with_('spec.keyProvider', {}), messages: [/set exactly one key provider: local, awsKms, vault or gcpKms/] },
  { name: 'an unknown key provider field', object: with_('spec.keyProvider', { azureKeyVault: { key: 'x' } }),
    messages: [/unknown field "spec\.keyProvider\.azureKeyVault"/] },
  { name: 'Cloud KMS and AWS KMS', object: with_('spec.keyProvider.gcpKms', { keyName: GCP_KEY }), messages: [/spec\.keyProvider: Invalid value: "object": set exactly one key provider: local, awsKms, vault or gcpKms/] },
  { name: 'a Cloud KMS key version instead of a key', object: with_('spec.keyProvider', { gcpKms: { keyName: `${GCP_KEY}/cryptoKeyVersions/3` } }),
    messages: [/spec\.keyProvider\.gcpKms\.keyName: Invalid value: ".*cryptoKeyVersions\/3": spec\.keyProvider\.gcpKms\.keyName in body should match/] },
  { name: 'a Cloud KMS key without keyName', object: with_('spec.keyProvider', { gcpKms: { endpoint: 'https://kms.internal' } }), messages: [/spec\.keyProvider\.gcpKms\.keyName: Required value/] },
  { name: 'a Cloud KMS endpoint with a path', object: with_('spec.keyProvider', { gcpKms: { keyName: GCP_KEY, endpoint: 'https://kms.internal/v1' } }),
    messages: [/spec\.keyProvider\.gcpKms\.endpoint: Invalid value: "https:\/\/kms\.internal\/v1"/] },
  { name: 'a negative rotate interval', object: with_('spec.rpo', { rotateInterval: '-5m', credentialsSecret: { name: 's' } }),
    messages: [/spec\.rpo\.rotateInterval: Invalid value: "string": must be a positive duration such as 30s, 5m or 1h30m/] },
  { name: 'a zero rotate interval', object: with_('spec.rpo', { rotateInterval: '0s', credentialsSecret: { name: 's' } }), messages: [/rotateInterval: Invalid value: "string": must be a positive duration/] },
  { name: 'a rotate interval that is no duration', object: with_('spec.rpo', { rotateInterval: '5 minutes', credentialsSecret: { name: 's' } }), messages: [/must be a positive duration/] },
  { name: 'no storage', object: with_('spec.storage', undefined), messages: [/spec\.storage: Required value/] },
  { name: 'no bucket and no gcs', object: with_('spec.storage', { region: 'eu-west-1' }), messages: [/spec\.storage: Invalid value: "object": set exactly one backend: bucket \(S3\) or gcs/] },
  { name: 'an S3 bucket and gcs', object: with_('spec.storage.gcs', { bucket: 'acme-binlogs' }), messages: [/spec\.storage: Invalid value: "object": set exactly one backend: bucket \(S3\) or gcs/] },
  { name: 'gcs with the flat S3 prefix', object: with_('spec.storage', { gcs: { bucket: 'acme-binlogs' }, prefix: 'prod' }),
    messages: [/spec\.storage: Invalid value: "object": with gcs, set prefix and endpoint inside gcs; region and objectLock are S3 fields/] },
  { name: 'gcs with S3 Object Lock', object: with_('spec.storage', { gcs: { bucket: 'acme-binlogs' }, objectLock: { mode: 'COMPLIANCE', days: 1 } }),
    messages: [/with gcs, set prefix and endpoint inside gcs; region and objectLock are S3 fields/] },
  { name: 'gcs with a credentials Secret', object: with_('spec.storage', { gcs: { bucket: 'acme-binlogs' }, credentials: { secretName: 'aws' } }),
    messages: [/spec\.storage: Invalid value: "object": gcs takes no credentials Secret: the Jobs use their ServiceAccount \(Workload Identity\)/] },
  { name: 'gcs retention with an S3 lock mode', object: with_('spec.storage', { gcs: { bucket: 'acme-binlogs', retention: { mode: 'COMPLIANCE', days: 30 } } }),
    messages: [/spec\.storage\.gcs\.retention\.mode: Unsupported value: "COMPLIANCE": supported values: "Unlocked", "Locked"/] },
  { name: 'gcs retention without days', object: with_('spec.storage', { gcs: { bucket: 'acme-binlogs', retention: { mode: 'Locked' } } }),
    messages: [/spec\.storage\.gcs\.retention\.days: Required value/] },
  { name: 'gcs without a bucket', object: with_('spec.storage', { gcs: { prefix: 'prod' } }), messages: [/spec\.storage\.gcs\.bucket: Required value/] },
  { name: 'a GCS bucket name with capitals', object: with_('spec.storage', { gcs: { bucket: 'Acme-Binlogs' } }),
    messages: [/spec\.storage\.gcs\.bucket: Invalid value: "Acme-Binlogs": spec\.storage\.gcs\.bucket in body should match/] },
  { name: 'a gcs prefix with ".."', object: with_('spec.storage', { gcs: { bucket: 'acme-binlogs', prefix: 'a/../b' } }),
    messages: [/spec\.storage\.gcs\.prefix: Invalid value: "string": prefix must be names separated by single "\/"/] },
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
  { name: 'a verification schedule of 4 fields', object: with_('spec.verification', { schedule: '0 3 * *' }),
    messages: [/spec\.verification\.schedule: Invalid value: "string": must be a cron expression of 5 fields separated by spaces/] },
  { name: 'a verification schedule with a time zone', object: with_('spec.verification', { schedule: 'TZ=UTC 0 3 * * *' }),
    messages: [/spec\.verification\.schedule: Invalid value: "string": must be a cron expression of 5 fields/] },
  { name: 'a verification schedule with a shell word', object: with_('spec.verification', { schedule: '0 3 * * *; rm' }),
    messages: [/spec\.verification\.schedule: Invalid value: "string": must be a cron expression of 5 fields/] },
  { name: 'verification without a schedule', object: with_('spec.verification', { scope: 'all' }), messages: [/spec\.verification\.schedule: Required value/] },
  { name: 'an unknown verification scope', object: with_('spec.verification', { schedule: '0 3 * * *', scope: 'new' }),
    messages: [/spec\.verification\.scope: Unsupported value: "new": supported values: "recent", "all"/] },
  { name: 'a recovery window in days', object: with_('spec.retention', { recoveryWindow: '7d' }),
    messages: [/spec\.retention\.recoveryWindow: Invalid value: "string": must be a positive duration/] },
  { name: 'a recovery window of 0', object: with_('spec.retention', { recoveryWindow: '0h' }), messages: [/spec\.retention\.recoveryWindow: Invalid value: "string": must be a positive duration/] },
  { name: 'a retention schedule of 6 fields', object: with_('spec.retention', { recoveryWindow: '168h', schedule: '0 0 * * * *' }),
    messages: [/spec\.retention\.schedule: Invalid value: "string": must be a cron expression of 5 fields/] },
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
  { name: 'an S3 bucket and gcs in its storage', object: with_('spec.archive', { storage: { bucket: 'abc', gcs: { bucket: 'abc' } }, keyProvider: { gcpKms: { keyName: GCP_KEY } } }),
    messages: [/spec\.archive\.storage: Invalid value: "object": set exactly one backend: bucket \(S3\) or gcs/] },
  { name: 'both outputs', object: with_('spec.output.server', { service: 'm', credentialsSecret: { name: 's' } }), messages: [/spec\.output: Invalid value: "object": set exactly one of volume or server/] },
  { name: 'a starting point with GTID set and position', object: with_('spec.from', { gtidSet: 'u:1', position: { file: 'mysql-bin.000001', position: 4 } }),
    messages: [/spec\.from: Invalid value: "object": set exactly one of gtidSet or position/] },
  { name: 'no source server', object: with_('spec.sourceServer', undefined), messages: [/spec\.sourceServer: Required value/] },
  { name: 'a wait timeout of 0', object: with_('spec.waitTimeout', '0s'), messages: [/spec\.waitTimeout: Invalid value: "string": must be a positive duration such as 30s, 5m or 1h30m/] },
  { name: 'a negative wait timeout', object: with_('spec.waitTimeout', '-1h'), messages: [/spec\.waitTimeout: Invalid value: "string": must be a positive duration/] },
  { name: 'a wait timeout in days', object: with_('spec.waitTimeout', '2d'), messages: [/spec\.waitTimeout: Invalid value: "string": must be a positive duration/] },
  { name: 'a wait timeout in words', object: with_('spec.waitTimeout', '1 hour'), messages: [/spec\.waitTimeout: Invalid value: "string": must be a positive duration/] },
  { name: 'a wait timeout that is a number', object: with_('spec.waitTimeout', 3600), messages: [/spec\.waitTimeout: Invalid value: "integer": spec\.waitTimeout in body must be of type string: "integer"/] },
  { name: 'a wait timeout of 33 characters', object: with_('spec.waitTimeout', `${'1'.repeat(31)}s`.padStart(33, '1')), messages: [/spec\.waitTimeout: Too long: may not be (more than|longer than) 32/] },
];
