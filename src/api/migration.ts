/**
 * spec.migration of BinlogArchivePolicy: a zero-downtime switch from a legacy binlog pipeline (docs/MIGRATION.md).
 * The archive Job compares the newest rotation cycles with the legacy pipeline's objects after every run
 * (`binlog-archiver archive --legacy ...`, i.e. `parity --recent-cycles 3`); condition MigrationParity reports
 * the consecutive matching cycles, True (ReadyToSwitch) from three.
 */
import { secretKeyRef } from './common.ts';
import { object, oneOf, string } from './schema.ts';

/** The legacy formats `binlog-archiver parity` reads (src/lifecycle/legacy-location.ts; a test keeps the two equal). */
export const LEGACY_FORMATS = ['openssl-aes-256-cbc', 'zstd', 'gzip', 'plain'] as const;

/** Consecutive matching rotation cycles after which MigrationParity is True (ReadyToSwitch). */
export const PARITY_CYCLES_TO_SWITCH = 3;

export const legacy = object('The legacy pipeline\'s archive: one object per binlog, named <binlog> plus the suffix of its format (.zst.enc or .enc, .zst, .gz, none). Read only, with the Jobs\' storage credentials (spec.storage.credentials).', {
  location: string('Bucket prefix of the legacy objects, as s3://BUCKET/PREFIX?region=R[&endpoint=URL&forcePathStyle=true] or gs://BUCKET/PREFIX (the URL syntax of the binlog-archiver command line; no credentials in it).', {
    pattern: '^(s3|gs)://[a-z0-9][a-z0-9._-]{1,61}[a-z0-9](/[^?#\\s]*)?(\\?[^#\\s]*)?$', maxLength: 2048,
  }),
  format: oneOf('How the legacy pipeline wrote each binlog: openssl-aes-256-cbc is `zstd -3 | openssl enc -aes-256-cbc -salt -pbkdf2 -iter 100000 -pass file:KEY`.', LEGACY_FORMATS, {
    default: 'openssl-aes-256-cbc',
  }),
  keySecret: secretKeyRef('Secret holding the legacy pipeline\'s passphrase file (format openssl-aes-256-cbc only), mounted as a file.', 'passphrase', 'the passphrase file (openssl -pass file: reads its first line)'),
}, {
  required: ['location'],
  validations: [
    { rule: "self.format != 'openssl-aes-256-cbc' || has(self.keySecret)", message: 'format openssl-aes-256-cbc needs keySecret (the passphrase file)', fieldPath: '.keySecret' },
    { rule: "self.format == 'openssl-aes-256-cbc' || !has(self.keySecret)", message: 'keySecret is only for format openssl-aes-256-cbc', fieldPath: '.keySecret' },
  ],
});

export const migration = object(`Migration from a legacy binlog pipeline run side by side: after each archive run, the Job compares the newest ${PARITY_CYCLES_TO_SWITCH} rotation cycles with the legacy archive (plaintext SHA-256 per binlog); condition MigrationParity turns True (ReadyToSwitch) after ${PARITY_CYCLES_TO_SWITCH} consecutive matching cycles.`, {
  legacy,
}, { required: ['legacy'] });
