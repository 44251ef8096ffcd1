/**
 * Where archives live: an S3 (or S3-compatible) bucket with its credentials and optional Object Lock (the flat
 * fields, as before), or a Google Cloud Storage bucket (`gcs`, credentials from the Pod's ServiceAccount through
 * Workload Identity). Exactly one: `bucket` is required only when `gcs` is absent, so existing objects stay valid.
 */
import { objectName, secretKeyRef } from './common.ts';
import { boolean, integer, object, oneOf, string } from './schema.ts';

function prefix() {
  return string('Key prefix inside the bucket, without leading or trailing "/", e.g. "prod/mysql". Empty: the bucket root.', {
    maxLength: 512,
    validations: [{
      rule: "self == '' || (!self.startsWith('/') && !self.endsWith('/') && !self.contains('//') && !self.split('/').exists(p, p == '.' || p == '..'))",
      message: 'prefix must be names separated by single "/", without a leading or trailing "/" and without "." or ".." parts',
    }],
  });
}

const gcs = object('A Google Cloud Storage bucket (JSON API, resumable uploads, never overwritten). Credentials: the Jobs\' ServiceAccount through Workload Identity (storage.credentials.serviceAccountName); no key file.', {
  bucket: string('Bucket name (3-63 lowercase letters, digits, "-", "_" and "."; up to 222 with dots).', {
    pattern: '^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$', minLength: 3, maxLength: 222,
  }),
  prefix: prefix(),
  endpoint: string('A JSON-API-compatible endpoint as scheme://host[:port] (private endpoints, test servers). Empty: Google\'s.', {
    pattern: '^https?://[^/?#@\\s]+$', maxLength: 2048,
  }),
  retention: object('GCS object retention for every archive object and manifest entry (the bucket must have object retention enabled): the counterpart of S3 Object Lock. A bucket retention policy, set on the bucket, needs nothing here.', {
    mode: oneOf('Unlocked (can be shortened by users with storage.objects.overrideUnlockedRetention) or Locked (can only be extended).', ['Unlocked', 'Locked']),
    days: integer('How many days each object is retained after it is written (1 to 36500).', { minimum: 1, maximum: 36500 }),
  }, { required: ['mode', 'days'] }),
  eventBasedHold: boolean('Put an event-based hold on every object written (with a bucket retention policy, its period starts when the hold is released). Default false.'),
}, { required: ['bucket'] });

export const storage = object('Where the archive lives: an S3 or S3-compatible bucket (the flat fields), or a Google Cloud Storage bucket (gcs). Objects are written once and never overwritten.', {
  bucket: string('Bucket name (3-63 lowercase letters, digits, "." and "-").', {
    pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$', minLength: 3, maxLength: 63,
  }),
  prefix: prefix(),
  endpoint: string('S3-compatible endpoint as scheme://host[:port], e.g. https://minio.storage.svc:9000. Empty: AWS S3 of the region.', {
    pattern: '^https?://[^/?#@\\s]+$', maxLength: 2048,
  }),
  region: string('Region used to sign requests, e.g. eu-west-1. Empty: the SDK\'s default chain decides.', { pattern: '^[a-z0-9-]+$', maxLength: 64 }),
  forcePathStyle: boolean('Address the bucket as endpoint/bucket instead of bucket.endpoint (most S3-compatible servers need this).', { default: false }),
  credentials: object('How the Jobs authenticate to S3 (and to AWS KMS). Neither field: the SDK\'s default chain (node role, instance profile).', {
    serviceAccountName: objectName('ServiceAccount the Jobs run as, e.g. one annotated for IRSA or EKS Pod Identity. Vault\'s Kubernetes auth also sees this identity.'),
    secretName: objectName('Secret with an AWS shared credentials file under the key "credentials" ([default] aws_access_key_id=..., aws_secret_access_key=...). Mounted as a file.'),
  }, {
    validations: [{ rule: '!(has(self.serviceAccountName) && has(self.secretName))', message: 'set serviceAccountName or secretName, not both' }],
  }),
  objectLock: object('S3 Object Lock retention for every archive object and manifest entry (the bucket must have Object Lock enabled).', {
    mode: oneOf('GOVERNANCE (users with a special permission can shorten it) or COMPLIANCE (nobody can, not even root, until it expires).', ['GOVERNANCE', 'COMPLIANCE']),
    days: integer('How many days each object is locked after it is written (1 to 36500).', { minimum: 1, maximum: 36500 }),
  }, { required: ['mode', 'days'] }),
  gcs,
}, {
  validations: [
    { rule: 'has(self.bucket) != has(self.gcs)', message: 'set exactly one backend: bucket (S3) or gcs' },
    { rule: '!has(self.gcs) || !(has(self.prefix) || has(self.endpoint) || has(self.region) || has(self.objectLock))',
      message: 'with gcs, set prefix and endpoint inside gcs; region and objectLock are S3 fields' },
    { rule: '!has(self.gcs) || !has(self.credentials) || !has(self.credentials.secretName)',
      message: 'gcs takes no credentials Secret: the Jobs use their ServiceAccount (Workload Identity)' },
  ],
});

/** Exactly one provider; each member says which master key wraps the per-run data keys. */
export const keyProvider = object('Which master key wraps the data key of each archive run (envelope encryption). Set exactly one of local, awsKms, vault, gcpKms.', {
  local: object('A master key held in a Secret: 32 raw bytes or 64 hex characters (with format openssl-aes-256-cbc: the passphrase).', {
    secretName: objectName('Secret holding the key.'),
    key: string('Key in the Secret whose value is the master key file.', { default: 'key', pattern: '^[-._a-zA-Z0-9]+$', maxLength: 253 }),
  }, { required: ['secretName'] }),
  awsKms: object('An AWS KMS key: GenerateDataKey and Decrypt with an encryption context binding namespace, policy, source and run. Credentials: storage.credentials.', {
    keyId: string('Key id, alias (alias/name) or key or alias ARN.', { minLength: 1, maxLength: 2048 }),
    region: string('Region of the key, e.g. eu-west-1. May be omitted when keyId is an ARN.', { pattern: '^[a-z]{2}(-[a-z]+)+-[0-9]+$', maxLength: 64 }),
    endpoint: string('KMS-compatible endpoint as scheme://host[:port] (VPC endpoints, test servers). Empty: the region\'s public endpoint.', {
      pattern: '^https?://[^/?#@\\s]+$', maxLength: 2048,
    }),
  }, {
    required: ['keyId'],
    validations: [{ rule: "has(self.region) || self.keyId.startsWith('arn:')", message: 'region is required unless keyId is an ARN' }],
  }),
  vault: object('A HashiCorp Vault or OpenBao Transit key (datakey / decrypt). Authenticate with exactly one of kubernetesAuth or tokenSecret.', {
    address: string('Vault address as scheme://host[:port], e.g. https://vault.vault.svc:8200.', { pattern: '^https?://[^/?#@\\s]+$', maxLength: 2048 }),
    transitKey: string('Name of the Transit key.', { pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*$', maxLength: 256 }),
    mount: string('Mount path of the Transit secrets engine.', { default: 'transit', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$', maxLength: 256 }),
    namespace: string('Vault Enterprise / OpenBao namespace.', { maxLength: 256 }),
    caSecret: secretKeyRef('Secret holding the PEM CA bundle that signed Vault\'s certificate (private CAs).', 'ca.crt', 'the PEM CA bundle'),
    kubernetesAuth: object('Vault\'s Kubernetes auth method with a projected, short-lived service-account token of the Job pod.', {
      role: string('Vault role bound to the Jobs\' ServiceAccount and namespace.', { minLength: 1, maxLength: 256 }),
      mountPath: string('Mount path of the Kubernetes auth method.', { default: 'kubernetes', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$', maxLength: 256 }),
      audience: string('Audience of the projected token; must match the Vault role\'s audience. Empty: the API server\'s default audience.', { maxLength: 256 }),
      expirationSeconds: integer('Lifetime of the projected token (the kubelet renews it).', { default: 600, minimum: 600, maximum: 86400 }),
    }, { required: ['role'] }),
    tokenSecret: secretKeyRef('Secret holding a Vault token (prefer kubernetesAuth: tokens in Secrets are long-lived).', 'token', 'the Vault token'),
  }, {
    required: ['address', 'transitKey'],
    validations: [{ rule: 'has(self.kubernetesAuth) != has(self.tokenSecret)', message: 'set exactly one of kubernetesAuth or tokenSecret' }],
  }),
  gcpKms: object('A Cloud KMS key: Encrypt and Decrypt of each data key under its primary version, the encryption context as additional authenticated data. Credentials: the Jobs\' ServiceAccount through Workload Identity.', {
    keyName: string('CryptoKey resource name: projects/P/locations/L/keyRings/R/cryptoKeys/K (not a version: rotation is Cloud KMS\'s).', {
      pattern: '^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/locations/[a-z0-9-]{1,63}/keyRings/[A-Za-z0-9_-]{1,63}/cryptoKeys/[A-Za-z0-9_-]{1,63}$', maxLength: 512,
    }),
    endpoint: string('Cloud KMS endpoint as scheme://host[:port] (private endpoints, test servers). Empty: Google\'s.', {
      pattern: '^https?://[^/?#@\\s]+$', maxLength: 2048,
    }),
  }, { required: ['keyName'] }),
}, {
  validations: [{
    rule: '(has(self.local) ? 1 : 0) + (has(self.awsKms) ? 1 : 0) + (has(self.vault) ? 1 : 0) + (has(self.gcpKms) ? 1 : 0) == 1',
    message: 'set exactly one key provider: local, awsKms, vault or gcpKms',
  }],
});
