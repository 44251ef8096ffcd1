/** The spec of BinlogArchivePolicy: which MySQL pods, where to, under which key, how, and the Jobs' shape. */
import { DNS_LABEL, duration, labelName, labelSelector, objectName, suspend } from './common.ts';
import { jobShape } from './job-shape.ts';
import { retention, verification } from './lifecycle.ts';
import { migration } from './migration.ts';
import { integer, object, oneOf, string } from './schema.ts';
import { keyProvider, storage } from './storage.ts';

export const FORMATS = ['gcm', 'openssl-aes-256-cbc'] as const;

export const source = object('Which MySQL pods to archive and where their binlogs are. Every matching pod is one source server.', {
  selector: labelSelector('Label selector of the MySQL pods, in the policy\'s namespace. Must not be empty.'),
  container: string('Name of the MySQL container in those pods (the agent sidecar runs beside it).', { default: 'mysql', pattern: DNS_LABEL, maxLength: 63 }),
  binlogVolume: labelName('Name of the pod volume that holds the binlogs (from the pod\'s spec.volumes). The archive Job mounts the same volume source read-only.'),
  binlogPath: string('Directory of the binlogs inside that volume, relative, e.g. "binlog" or "" for the volume root. It must contain the binlog index file.', {
    default: '', maxLength: 1024,
    validations: [{
      rule: "!self.startsWith('/') && !self.matches('(^|/)\\\\.\\\\.(/|$)')",
      message: 'binlogPath must be relative to the volume and must not contain ".."',
    }],
  }),
}, { required: ['selector', 'binlogVolume'] });

export const rpo = object('Bound the recovery point objective: the agent rotates the binlog (FLUSH BINARY LOGS) when the current one is older than rotateInterval, so it gets archived.', {
  rotateInterval: duration('Longest time a transaction may stay in the open binlog before it is rotated, e.g. 5m.'),
  credentialsSecret: object('Secret with the MySQL account the agent uses for FLUSH BINARY LOGS (needs RELOAD or BINLOG_ADMIN) and to read binlog_expire_logs_seconds.', {
    name: objectName('Name of the Secret.'),
    usernameKey: string('Key holding the user name.', { default: 'username', maxLength: 253 }),
    passwordKey: string('Key holding the password.', { default: 'password', maxLength: 253 }),
  }, { required: ['name'] }),
  port: integer('TCP port of MySQL inside the pod (the agent connects to 127.0.0.1).', { default: 3306, minimum: 1, maximum: 65535 }),
}, { required: ['rotateInterval', 'credentialsSecret'] });

export const purgeRisk = object('When to warn that the server may purge a binlog before it is archived.', {
  expireLogsSeconds: integer('The server\'s binlog_expire_logs_seconds. Unset: the agent reads it from the server (needs rpo.credentialsSecret); without either, seconds until purge are not computed.', {
    format: 'int64', minimum: 0,
  }),
  thresholdSeconds: integer('ContinuousArchiving turns False with reason AtRiskOfPurge when the oldest unarchived binlog would be purged within this many seconds.', {
    default: 3600, minimum: 60, format: 'int64',
  }),
}, { default: {} });

export const job = jobShape('Shape of the archive Jobs: resources, scheduling, security, retries.', { backoffLimit: 2, activeDeadlineSeconds: 3600 });

export const policySpec = object('Desired state of a BinlogArchivePolicy: archive every rotated binlog of the selected MySQL pods, encrypted, to object storage.', {
  suspend,
  source,
  storage,
  keyProvider,
  format: oneOf('Archive object format: gcm (AES-256-GCM frames, the default) or openssl-aes-256-cbc (readable with `openssl enc -d | zstd -d`; needs the local key provider, whose key is then the passphrase).', FORMATS, { default: 'gcm' }),
  compressionLevel: integer('zstd compression level, 1 (fastest) to 19. The default 2 costs half the CPU of 3 for an archive within 2% of its size (3% on binlogs of small transactions the server already compressed, binlog_transaction_compression).', { default: 2, minimum: 1, maximum: 19 }),
  rpo,
  purgeRisk,
  migration,
  verification,
  retention,
  job,
}, {
  required: ['source', 'storage', 'keyProvider'],
  validations: [{
    rule: "self.format != 'openssl-aes-256-cbc' || has(self.keyProvider.local)",
    message: 'format openssl-aes-256-cbc needs keyProvider.local (its key file is the openssl passphrase)',
    fieldPath: '.format',
  }],
});
