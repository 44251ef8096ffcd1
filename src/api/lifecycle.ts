/**
 * spec.verification and spec.retention of BinlogArchivePolicy: scheduled runs of `binlog-archiver verify` and
 * `binlog-archiver expire`, each a CronJob the controller owns (src/specs/lifecycle-cronjob.ts). Their reports
 * (the Jobs' termination messages) fill status.verification, status.retention and condition ArchiveVerified.
 */
import { duration } from './common.ts';
import { object, oneOf, string } from './schema.ts';

export const VERIFICATION_SCOPES = ['recent', 'all'] as const;
export const DEFAULT_RETENTION_SCHEDULE = '0 * * * *';

// Five fields of digits, names, *, ?, ranges, lists and steps, as a CronJob takes them (no TZ=: use the
// CronJob's timeZone, which the cluster's clock already sets). No backslash: the rule is a CEL string literal.
const CRON_FIELD = '[-0-9A-Za-z*?,/]+';
const CRON = `^${CRON_FIELD}( +${CRON_FIELD}){4}$`;

export function cronSchedule(description: string, options: { default?: string } = {}) {
  return string(description, {
    maxLength: 128,
    ...(options.default === undefined ? {} : { default: options.default }),
    validations: [{
      rule: `self.matches('${CRON}')`,
      message: 'must be a cron expression of 5 fields separated by spaces (minute hour day-of-month month day-of-week), e.g. "30 3 * * *"',
    }],
  });
}

export const verification = object('Scheduled verification: a CronJob runs `binlog-archiver verify` (authenticated decryption, decompression, every manifest field re-derived, chain continuity); status.verification and condition ArchiveVerified show the result.', {
  schedule: cronSchedule('When to verify, as a cron expression of 5 fields in the controller\'s time zone (UTC in most clusters), e.g. "30 3 * * *".'),
  scope: oneOf('recent: decode the objects archived since the last successful verification (all of them the first time); all: decode every archived object. Chain continuity and stray objects are always checked.', VERIFICATION_SCOPES, {
    default: 'recent',
  }),
}, { required: ['schedule'] });

export const retention = object('Retention by recovery window: a CronJob runs `binlog-archiver expire --recovery-window`, which deletes only binlogs no point in [now - recoveryWindow, now] needs (kept from the newest base-backup anchor at or before the window start), never past a gap, under a restore lease or an active Object Lock. status.retention shows the result.', {
  recoveryWindow: duration('How far back every point in time must stay recoverable, e.g. 168h (7 days).'),
  schedule: cronSchedule(`When to expire, as a cron expression of 5 fields, default "${DEFAULT_RETENTION_SCHEDULE}" (hourly).`, { default: DEFAULT_RETENTION_SCHEDULE }),
}, { required: ['recoveryWindow'] });
