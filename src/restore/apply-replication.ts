/**
 * `restore --apply-mode replication`: the target server applies the restore with its own replication applier
 * (row events applied directly, in parallel, with group commit) instead of one client session fed by
 * `mariadb-binlog`. Nothing is written to disk by this process. After verify-first.ts's step 1:
 *
 * 2. Serve: this process listens as a replication source with a per-run password; the target is told to
 *    replicate from it, from the planned start, UNTIL the planned stop. Each object is decoded again as the
 *    replica reads (verify-first.ts, step 2): the target only ever receives verified bytes, and nothing past the
 *    stop point.
 * 3. Check: the SQL thread must stop exactly at the stop position and the executed GTID position must be what
 *    it was plus exactly the replayed transactions (fail closed, executed-check.ts); then the replica
 *    configuration is removed.
 */
import { ArchiverError } from '../errors.ts';
import type { PlainBinlogInfo } from '../binlog/index.ts';
import type { Logger } from '../logger.ts';
import type { ApplyTarget } from './apply.ts';
import type { RestorePlan } from './plan.ts';
import type { DumpFramer } from './replication-events.ts';
import { ReplicationSource, replicationCredentials } from './replication-source.ts';
import { type BinlogTraits, type ReplicaControl, stopAt, stopInterrupted, waitApplied } from './replica-control.ts';
import { mariadbReplica } from './replication-target.ts';
import { mysqlReplica } from './replication-target-mysql.ts';
import { openTarget } from './target-connection.ts';
import type { DecodeContext } from './restore-file.ts';
import { throwIfInterrupted, untilInterrupted } from './interrupt.ts';
import { type VerifiedFile, type VerifiedPlan, streamVerified } from './verify-first.ts';

export interface ReplicationApplySettings {
  apply: ApplyTarget;
  /** Address this process listens on for the target's replica (it must reach it); default 127.0.0.1. */
  listenHost?: string;
  /** slave_parallel_threads while applying (the server's own value is put back afterwards); default 4. */
  parallelThreads?: number;
  signal?: AbortSignal;
}

/** What a replication apply reports: the target's executed GTID position after it, the events sent. */
export interface ReplicationApplied {
  appliedTo: string;
  executedGtids: string;
  events: number;
}

/** A verified file's reader result: plain, once assertReplicable passed. */
function plain(file: VerifiedFile): PlainBinlogInfo {
  const { info } = file;
  if (info.magic !== 'plain') throw new ArchiverError('EINTERNAL', 'an encrypted binlog reached the replication apply (assertReplicable)');
  return info;
}

/** Where a verified file's last event that is not Rotate/Stop ends. */
function lastEventEnd(file: VerifiedFile): number {
  const info = plain(file);
  // The replica stops after the last event it is sent; the closing Rotate/Stop of the last file is not sent.
  return info.endsWithRotate || info.endsWithStop ? info.lastEventPosition : info.endPosition;
}

/** The target reads plain binlogs only: an encrypted one is refused before anything starts. */
export function assertReplicable(plan: RestorePlan, verified: VerifiedPlan): void {
  verified.files.forEach((f, i) => {
    if (f.info.magic !== 'plain' || f.info.encryption !== null) {
      throw new ArchiverError('EUSAGE', `${plan.files[i]!.binlog.name} is an encrypted binlog: the target could not read it over replication`, { hint: 'use --apply-mode session' });
    }
  });
}

/** The replica control for the binlogs' flavour. */
export function replicaFor(plan: RestorePlan): ReplicaControl {
  return plan.files[0]?.source.flavor === 'mysql' ? mysqlReplica : mariadbReplica;
}

/** What the target's refusals need to know of the binlogs. */
function traitsOf(infos: PlainBinlogInfo[]): BinlogTraits {
  return { serverIds: new Set(infos.map((f) => f.serverId)), gtids: infos.some((f) => f.gtidEventCount > 0), anonymous: infos.some((f) => f.anonymousGtidCount > 0) };
}

/** What the source answers for @@GLOBAL.GTID_MODE (MySQL replicas compare it with their own). */
function gtidModeOf(t: BinlogTraits): string {
  return t.gtids && t.anonymous ? 'ON_PERMISSIVE' : t.gtids ? 'ON' : 'OFF';
}

/** Step 2: decodes the range again, frame by frame equal to step 1's, into the replica's dump stream. */
async function serveRange(ctx: DecodeContext, plan: RestorePlan, verified: VerifiedPlan, framer: DumpFramer): Promise<void> {
  const { bounds } = verified;
  for (let i = bounds.firstFile; i <= bounds.lastFile; i++) {
    const last = i === bounds.lastFile;
    await framer.beginFile({ name: plan.files[i]!.binlog.name, start: i === bounds.firstFile ? bounds.startPosition : 4, stop: last ? bounds.stopPosition : null, last });
    await streamVerified(ctx, plan, i, verified.files[i]!, (chunk) => framer.push(chunk));
    framer.endFile();
  }
}

/** Steps 2 and 3 for a verified plan with something to apply. */
export async function applyThroughReplication(settings: ReplicationApplySettings, ctx: DecodeContext, plan: RestorePlan, verified: VerifiedPlan, logger: Logger): Promise<ReplicationApplied> {
  const { bounds, files } = verified;
  const lastName = plan.files[bounds.lastFile]!.binlog.name;
  const until = { file: lastName, position: bounds.stopPosition ?? lastEventEnd(files[bounds.lastFile]!) };
  const first = { file: plan.files[bounds.firstFile]!.binlog.name, position: bounds.startPosition };
  const firstInfo = plain(files[bounds.firstFile]!);
  const control = replicaFor(plan);
  const conn = await openTarget(settings.apply);
  let framer: DumpFramer | null = null;
  try {
    const traits = traitsOf(files.map(plain));
    const state = await control.preflight(conn, traits);
    const host = settings.listenHost ?? '127.0.0.1';
    const credentials = replicationCredentials();
    const replicationSource = new ReplicationSource({
      flavor: control.flavor, host, serverId: firstInfo.serverId, serverVersion: firstInfo.serverVersion, gtidMode: gtidModeOf(traits), checksum: firstInfo.checksumAlg === 'crc32', ...credentials, expect: first, logger,
      serve: async (f) => { framer = f; await serveRange(ctx, plan, verified, f); },
    });
    const port = await replicationSource.listen();
    try {
      throwIfInterrupted(settings.signal);
      await control.start(conn, state, { host, port, ...credentials, ...first, untilFile: until.file, untilPosition: until.position, parallelThreads: settings.parallelThreads ?? 4 }, logger);
      try {
        // SIGTERM while the target applies: its replica is stopped where it is, then removed (finally below).
        await untilInterrupted(waitApplied(conn, control, { streamed: replicationSource.streamed, started: () => framer !== null, listen: `${host}:${port}` }, until, logger), settings.signal).catch(async (err: unknown) => {
          throw await stopInterrupted(conn, control, state, err);
        });
        await stopAt(conn, control, until);
        const sent: DumpFramer | null = framer;
        if (sent === null) throw new ArchiverError('EINTERNAL', 'the replica stopped at the target without reading from binlog-archiver');
        if (bounds.replayed === null) throw new ArchiverError('EINTERNAL', 'the replay range has no record of its transactions');
        const appliedTo = `${settings.apply.host}:${settings.apply.port}`;
        const executedGtids = await control.checkApplied(conn, state, bounds.replayed.gtids, appliedTo);
        return { appliedTo, executedGtids, events: (sent as DumpFramer).events };
      } finally {
        await control.remove(conn, state, logger);
      }
    } finally {
      await replicationSource.close();
    }
  } finally {
    await conn.end().catch(() => undefined);
  }
}
