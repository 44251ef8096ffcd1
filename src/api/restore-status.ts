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
  plan: object('What the plan found in the archive.', {
    binlogs: integer('Binlogs to replay.', { minimum: 0 }),
    bytes: integer('Total size of those binlogs.', { minimum: 0, format: 'int64' }),
    firstBinlog: string('First binlog to replay.'),
    lastBinlog: string('Last binlog to replay.'),
    gaps: integer('Gaps between the starting point and the target (a restore with gaps needs spec.acceptGaps).', { minimum: 0 }),
  }),
  recoveredUntil: time('Time of the last transaction the restore replays (or wrote for replay).'),
  recoveredGtidSet: string('GTID set of the server after the replay.'),
  message: string('What happened, for people (the error and its hint on failure).', { maxLength: 4096 }),
});
