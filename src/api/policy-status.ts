/**
 * The status of BinlogArchivePolicy. Bounded however many binlogs exist (the manifest in the object store is the
 * full record): one summary per source, aggregates for `kubectl get`, conditions, and the last few runs.
 */
import { conditions, observedGeneration } from './common.ts';
import { array, integer, object, oneOf, string } from './schema.ts';

/** How many runs the status keeps (newest first). */
export const RECENT_RUNS_MAX = 5;
/** How many sources one policy may report; more matching pods than this is a configuration mistake. */
export const SOURCES_MAX = 64;

const time = (description: string) => string(description, { format: 'date-time' });

export const sourceStatus = object('Archiving state of one source server (one MySQL pod).', {
  pod: string('Name of the MySQL pod.'),
  server: string('Source name in object keys and the manifest (<namespace>-<pod>).'),
  serverUuid: string('server_uuid of the MySQL server, when known.'),
  lastArchivedBinlog: string('File name of the newest archived binlog, e.g. mysql-bin.000042.'),
  lastArchivedTime: time('When the newest archived binlog was archived.'),
  archivedGtidSet: string('Union of the GTIDs in the archived binlogs of this source.'),
  firstRecoverableTime: time('Earliest point in time a restore can reach (first event of the oldest archived binlog).'),
  lastRecoverableTime: time('Latest point in time a restore can reach (last event of the newest archived binlog).'),
  pendingBinlogs: integer('Closed binlogs not yet archived.', { minimum: 0 }),
  lagSeconds: integer('Seconds between the rotation of the oldest unarchived binlog and now; 0 when nothing is pending.', { minimum: 0, format: 'int64' }),
  secondsUntilPurge: integer('Seconds until the server may purge the oldest unarchived binlog (binlog_expire_logs_seconds); absent when unknown or nothing is pending.', { format: 'int64' }),
  gaps: integer('Gaps found in the archived chain of this source (missing sequence numbers or GTIDs that do not follow on).', { minimum: 0 }),
}, { required: ['pod', 'server'] });

export const runStatus = object('One archive or restore run (one Job).', {
  correlationId: string('Id of the run, in the Job\'s labels, log lines, metrics and manifest entries.'),
  jobName: string('Name of the Job.'),
  source: string('Source server the run archived.'),
  startTime: time('When the Job started.'),
  completionTime: time('When the Job finished.'),
  result: oneOf('Outcome of the run.', ['Running', 'Succeeded', 'Failed']),
  binlogsArchived: integer('Binlogs archived by the run.', { minimum: 0 }),
  bytesArchived: integer('Bytes of binlog archived by the run (before compression).', { minimum: 0, format: 'int64' }),
  message: string('What happened, for people (the error and its hint on failure).', { maxLength: 4096 }),
}, { required: ['correlationId', 'jobName', 'result'] });

const lastRun = oneOf('Outcome of the last run: Succeeded, or Failed (the Job failed or found problems).', ['Succeeded', 'Failed']);

export const verificationStatus = object('With spec.verification: the scheduled verification runs, from the verify Jobs\' reports.', {
  lastVerifiedTime: time('When the last successful verification finished (no problem found); the next run of scope recent decodes what was archived since.'),
  lastRunTime: time('When the last verification run finished, successful or not.'),
  jobName: string('Name of the last verification Job.'),
  result: lastRun,
  objectsVerified: integer('Archived objects the last run decoded and found as the manifest says.', { minimum: 0, format: 'int64' }),
  bytesVerified: integer('Bytes of binlog (before compression) the last run verified.', { minimum: 0, format: 'int64' }),
  problems: integer('Problems the last run found: objects that fail verification, gaps, malformed entries, objects without an entry.', { minimum: 0, format: 'int64' }),
  message: string('What the last run found, for people (its first problems, or why it could not run).', { maxLength: 4096 }),
});

export const retentionStatus = object('With spec.retention: the scheduled expiry runs, from the expire Jobs\' reports.', {
  firstRecoverableTime: time('Start of the retained window: the latest first recoverable time over all sources after the last expiry (every source can be restored from here on).'),
  lastExpiryTime: time('When the last expiry run finished.'),
  jobName: string('Name of the last expire Job.'),
  result: lastRun,
  objectsExpired: integer('Objects the last run deleted.', { minimum: 0, format: 'int64' }),
  bytesExpired: integer('Bytes the last run deleted.', { minimum: 0, format: 'int64' }),
  message: string('What the last run did, for people (what held expiry back, or why it failed).', { maxLength: 4096 }),
});

export const policyStatus = object('Observed state of a BinlogArchivePolicy.', {
  observedGeneration,
  conditions,
  sources: array('Per-source summary, one entry per matching MySQL pod.', sourceStatus, {
    maxItems: SOURCES_MAX, listType: 'map', listMapKeys: ['pod'],
  }),
  lastArchivedBinlog: string('Newest archived binlog over all sources, as <pod>/<file>.'),
  lastArchivedTime: time('When the newest binlog over all sources was archived.'),
  lagSeconds: integer('Largest lagSeconds over all sources.', { minimum: 0, format: 'int64' }),
  recoverableUntil: time('The earliest lastRecoverableTime over all sources: every source can be restored up to this time.'),
  expireLogsSeconds: integer('binlog_expire_logs_seconds in force (from spec.purgeRisk or read from the server).', { minimum: 0, format: 'int64' }),
  migrationVerifiedCycles: integer('With spec.migration: consecutive rotation cycles, newest first, whose binlogs all match the legacy pipeline\'s (the least over all sources), as the last archive Jobs checked.', { minimum: 0 }),
  verification: verificationStatus,
  retention: retentionStatus,
  recentRuns: array(`The last ${RECENT_RUNS_MAX} runs, newest first.`, runStatus, { maxItems: RECENT_RUNS_MAX, listType: 'atomic' }),
});
