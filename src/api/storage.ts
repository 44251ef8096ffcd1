/** Where archives live: an S3 (or S3-compatible) bucket, the credentials to reach it, optional Object Lock. */
import { objectName, secretKeyRef } from './common.ts';
import { boolean, integer, object, oneOf, string } from './schema.ts';

export const storage = object('Where the archive lives: an S3 or S3-compatible bucket. Objects are written once and never overwritten.', {
  bucket: string('Bucket name (3-63 lowercase letters, digits, "." and "-").', {
    pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$', minLength: 3, maxLength: 63,
  }),
  prefix: string('Key prefix inside the bucket, without leading or trailing "/", e.g. "prod/mysql". Empty: the bucket root.', {
    maxLength: 512,
    validations: [{
      rule: "self == '' || (!self.startsWith('/') && !self.endsWith('/') && !self.contains('//') && !self.split('/').exists(p, p == '.' || p == '..'))",
      message: 'prefix must be names separated by single "/", without a leading or trailing "/" and without "." or ".." parts',
    }],
  }),
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
}, { required: ['bucket'] });

/** Exactly one provider; each member says which master key wraps the per-run data keys. */
export const keyProvider = object('Which master key wraps the data key of each archive run (envelope encryption). Set exactly one of local, awsKms, vault.', {
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
}, {
  validations: [{
    rule: '(has(self.local) ? 1 : 0) + (has(self.awsKms) ? 1 : 0) + (has(self.vault) ? 1 : 0) == 1',
    message: 'set exactly one key provider: local, awsKms or vault',
  }],
});
