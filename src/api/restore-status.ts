/** The status of BinlogRestore: a phase for people, conditions for programs, and what the plan found. */
import { conditions, observedGeneration } from './common.ts';
import { integer, object, oneOf, string } from './schema.ts';

export const RESTORE_PHASES = ['Pending', 'Planning', 'Restoring', 'Succeeded', 'Failed'] as const;

const time = (description: string) => string(description, { format: 'date-time' });

export const restoreStatus = object('Observed state of a BinlogRestore.', {
  observedGeneration,
  phase: oneOf('Pending (waiting to start), Planning (reading the manifest, checking continuity), Restoring (the Job runs), Succeeded or Failed.', RESTORE_PHASES),
  conditions,
  correlationId: string('Id of the restore run, in the Job\'s labels and log lines.'),
  jobName: string('Name of the restore Job.'),
  startTime: time('When the restore started.'),
  completionTime: time('When the restore finished.'),
  waitingSince: time('While it waits for something it needs (see spec.waitTimeout): since when, without interruption. Absent otherwise.'),
  planJobName: string('Name of the planning Job (restore --plan-only).'),
  plan: object('What the plan found in the archive, before anything was written or applied.', {
    binlogs: integer('Binlogs to restore.', { minimum: 0 }),
    bytes: integer('Total size of those binlogs.', { minimum: 0, format: 'int64' }),
    firstBinlog: string('First binlog to restore.'),
    lastBinlog: string('Last binlog to restore.'),
    gaps: integer('Gaps between the starting point and the target (a restore with gaps needs spec.acceptGaps).', { minimum: 0 }),
    windowFrom: time('The recoverable window of the source in the archive: its first archived event.'),
    windowUntil: time('The recoverable window of the source in the archive: its last archived event.'),
    startPosition: integer('Byte position in the first binlog the replay starts at.', { minimum: 0, format: 'int64' }),
    stopPosition: integer('Byte position in the last binlog the replay stops at (absent: its end).', { minimum: 0, format: 'int64' }),
    targetReached: string('How the archived bytes show the target is reached.', { maxLength: 1024 }),
  }),
  binlogsRestored: integer('Binlogs written (and applied, with a server output) by the restore Job.', { minimum: 0 }),
  bytesRestored: integer('Bytes of those binlogs.', { minimum: 0, format: 'int64' }),
  recoveredUntil: time('Time of the last transaction the restore replays (or wrote for replay), when the Job reports it.'),
  recoveredGtidSet: string('GTID set of the server after the replay, when the Job reports it.', { maxLength: 65536 }),
  applyMode: oneOf('How the restore Job applied to the server: replication (the server\'s own applier) or session.', ['session', 'replication']),
  applyModeReason: string('Why that mode: as asked, the auto choice, or the fallback from replication (nothing applied then).', { maxLength: 1024 }),
  message: string('What happened, for people (the error and its hint on failure).', { maxLength: 4096 }),
});
