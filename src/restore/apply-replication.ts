/**
 * `restore --apply-mode replication`: the target server applies the restore with its own replication applier
 * (row events applied directly, in parallel, with group commit) instead of one client session fed by
 * `mariadb-binlog`. Nothing is written to disk by this process:
 *
 * 1. Verify: every planned object is downloaded, authenticated and checked exactly as a file restore checks it
 *    (SHA-256, planning fields re-derived from the bytes, the boundary scan that gives the exact replay range),
 *    in memory; a SHA-256 of each decoded frame is kept (32 bytes per frame).
 * 2. Serve: this process listens as a replication source with a per-run password; the target is told to
 *    replicate from it, from the planned start, UNTIL the planned stop. Each object is decoded again as the
 *    replica reads, with every check again, and each frame must equal the frame verified in step 1 before a
 *    byte of it is sent: the target only ever receives verified bytes, and nothing past the stop point.
 * 3. Check: the SQL thread must stop exactly at the stop position and the executed GTID position must be what
 *    it was plus exactly the replayed transactions (fail closed, executed-check.ts); then the replica
 *    configuration is removed.
 */
import { createHash } from 'node:crypto';
import { ArchiverError } from '../errors.ts';
import { BatchKeys } from '../keys/batch-keys.ts';
import { type Logger, silentLogger } from '../logger.ts';
import type { Gap } from '../store/continuity.ts';
import type { ManifestEntry } from '../store/manifest.ts';
import type { ApplyTarget } from './apply.ts';
import { type FileScanResult, type ReplayBoundaries, replayBoundaries } from './boundaries.ts';
import type { RestorePlan } from './plan.ts';
import type { DumpFramer } from './replication-events.ts';
import { ReplicationSource, replicationCredentials } from './replication-source.ts';
import { checkApplied, preflight, removeReplica, startReplica, stopAt, waitApplied } from './replication-target.ts';
import { openTarget } from './target-connection.ts';
import { type DecodeContext, decodeEntry } from './restore-file.ts';
import { throwIfInterrupted, untilInterrupted } from './interrupt.ts';
import { stopInterrupted } from './replication-interrupt.ts';
import { type RestoreOptions, emptyBoundaries, prepareRestore, scanFor, scanGoal } from './restore-run.ts';

export interface ReplicationApplyOptions extends Omit<RestoreOptions, 'out' | 'apply'> {
  apply: ApplyTarget;
  /** Address this process listens on for the target's replica (it must reach it); default 127.0.0.1. */
  listenHost?: string;
  /** slave_parallel_threads while applying (the server's own value is put back afterwards); default 4. */
  parallelThreads?: number;
}

export interface ReplicationApplySummary {
  source: string;
  applyMode: 'replication';
  files: { name: string; sequence: number; bytes: number }[];
  bytes: number;
  gaps: Gap[];
  appliedTo: string | null;
  replayFiles: string[];
  startPosition: number | null;
  stopPosition: number | null;
  targetReached: string;
  /** The last replayed transaction's timestamp and the GTID set up to it, as a file restore reports them. */
  recoveredUntil: string | null;
  recoveredGtidSet: string | null;
  /** The target's executed GTID position after the apply (gtid_binlog_pos, or gtid_slave_pos without a binlog). */
  executedGtids: string | null;
  events: number;
  verifyMs: number;
  applyMs: number;
  durationMs: number;
}

/** What step 1 learned of one file: its frames' digests, where its last event that is not Rotate/Stop ends. */
interface Verified {
  digests: Buffer[];
  lastEventEnd: number;
  serverId: number;
  checksum: boolean;
}

async function verifyAll(ctx: DecodeContext, plan: RestorePlan, entries: ManifestEntry[]): Promise<{ bounds: ReplayBoundaries; verified: Verified[] }> {
  const verified: Verified[] = [];
  const scans: FileScanResult[] = [];
  let next = 0;
  // Two at a time, as a file restore does: each decode spreads its frames over the worker pool.
  const worker = async (): Promise<void> => {
    for (let i = next++; i < plan.files.length; i = next++) {
      const scan = scanFor(plan, i);
      const digests: Buffer[] = [];
      const { info } = await decodeEntry(ctx, plan.files[i]!, scan, (chunk) => { digests.push(createHash('sha256').update(chunk).digest()); return Promise.resolve(); });
      scans[i] = scan.finish();
      if (info.magic !== 'plain') {
        throw new ArchiverError('EUSAGE', `${plan.files[i]!.binlog.name} is an encrypted MariaDB binlog: the target could not read it over replication`, { hint: 'use --apply-mode session' });
      }
      // The replica stops after the last event it is sent; the closing Rotate/Stop of the last file is not sent.
      const lastEventEnd = info.endsWithRotate || info.endsWithStop ? info.lastEventPosition : info.endPosition;
      verified[i] = { digests, lastEventEnd, serverId: info.serverId, checksum: info.checksumAlg === 'crc32' };
    }
  };
  await Promise.all([worker(), worker()]);
  const bounds = plan.files.length === 0 ? emptyBoundaries(plan) : replayBoundaries(scanGoal(plan), scans, plan.files.at(-1) === entries.at(-1));
  return { bounds, verified };
}

/** Step 2: decodes the range again, frame by frame equal to step 1's, into the replica's dump stream. */
async function serveRange(ctx: DecodeContext, plan: RestorePlan, bounds: ReplayBoundaries, verified: Verified[], framer: DumpFramer): Promise<void> {
  for (let i = bounds.firstFile; i <= bounds.lastFile; i++) {
    const entry = plan.files[i]!;
    const last = i === bounds.lastFile;
    await framer.beginFile({ name: entry.binlog.name, start: i === bounds.firstFile ? bounds.startPosition : 4, stop: last ? bounds.stopPosition : null, last });
    const digests = verified[i]!.digests;
    let frame = 0;
    await decodeEntry(ctx, entry, scanFor(plan, i), async (chunk) => {
      const expected = digests[frame++];
      if (expected === undefined || !createHash('sha256').update(chunk).digest().equals(expected)) {
        throw new ArchiverError('EVERIFY', `${entry.binlog.name} decoded to other bytes than when it was verified (frame ${frame - 1})`, { hint: 'the store changed the object during the restore; nothing past the previous frame was sent' });
      }
      await framer.push(chunk);
    });
    if (frame !== digests.length) throw new ArchiverError('EVERIFY', `${entry.binlog.name} decoded to fewer frames than when it was verified`);
    framer.endFile();
  }
}

function summaryOf(source: string, plan: RestorePlan, bounds: ReplayBoundaries): ReplicationApplySummary {
  return {
    source, applyMode: 'replication', gaps: plan.gaps, appliedTo: null,
    files: plan.files.map((e) => ({ name: e.binlog.name, sequence: e.binlog.sequence, bytes: e.binlog.size })),
    bytes: plan.files.reduce((n, e) => n + e.binlog.size, 0),
    replayFiles: bounds.apply ? plan.files.slice(bounds.firstFile, bounds.lastFile + 1).map((e) => e.binlog.name) : [],
    startPosition: bounds.apply ? bounds.startPosition : null, stopPosition: bounds.apply ? bounds.stopPosition : null,
    targetReached: bounds.reached,
    recoveredUntil: bounds.recovered?.until ?? null,
    recoveredGtidSet: bounds.recovered === null || bounds.recovered.gtids === '' ? null : bounds.recovered.gtids,
    executedGtids: null, events: 0, verifyMs: 0, applyMs: 0, durationMs: 0,
  };
}

export async function runReplicationApply(options: ReplicationApplyOptions): Promise<ReplicationApplySummary> {
  const started = Date.now();
  const logger = (options.logger ?? silentLogger).child({ store: options.store.url });
  const { source, entries, plan } = await prepareRestore(options);
  if (plan.files.length > 0 && plan.files[0]!.source.flavor !== 'mariadb') {
    throw new ArchiverError('EUSAGE', '--apply-mode replication applies MariaDB binlogs; these are MySQL binlogs', { hint: 'use --apply-mode session' });
  }
  const keys = new BatchKeys({ keyUrl: options.keyUrl, ...(options.keyProvider === undefined ? {} : { provider: options.keyProvider }) });
  try {
    const ctx: DecodeContext = { store: options.store, keys, ...(options.signal === undefined ? {} : { signal: options.signal }) };
    const { bounds, verified } = await verifyAll(ctx, plan, entries);
    const summary = summaryOf(source, plan, bounds);
    summary.verifyMs = Date.now() - started;
    logger.log('info', 'Verified the binlogs to apply', { files: plan.files.length, ms: summary.verifyMs, targetReached: bounds.reached });
    if (bounds.apply) await applyThroughReplication(options, { plan, bounds, verified, ctx, summary, logger });
    summary.durationMs = Date.now() - started;
    return summary;
  } finally {
    keys.dispose();
  }
}

interface ApplyContext {
  plan: RestorePlan;
  bounds: ReplayBoundaries;
  verified: Verified[];
  ctx: DecodeContext;
  summary: ReplicationApplySummary;
  logger: Logger;
}

async function applyThroughReplication(options: ReplicationApplyOptions, a: ApplyContext): Promise<void> {
  const applyStarted = Date.now();
  const { plan, bounds, verified } = a;
  const lastName = plan.files[bounds.lastFile]!.binlog.name;
  const until = { file: lastName, position: bounds.stopPosition ?? verified[bounds.lastFile]!.lastEventEnd };
  const first = { file: plan.files[bounds.firstFile]!.binlog.name, position: bounds.startPosition };
  const conn = await openTarget(options.apply);
  let framer: DumpFramer | null = null;
  try {
    const state = await preflight(conn, new Set(verified.map((v) => v.serverId)));
    const host = options.listenHost ?? '127.0.0.1';
    const credentials = replicationCredentials();
    const replicationSource = new ReplicationSource({
      host, serverId: verified[bounds.firstFile]!.serverId, checksum: verified[bounds.firstFile]!.checksum, ...credentials, expect: first, logger: a.logger,
      serve: async (f) => { framer = f; await serveRange(a.ctx, plan, bounds, verified, f); },
    });
    const port = await replicationSource.listen();
    try {
      throwIfInterrupted(options.signal);
      await startReplica(conn, state, { host, port, ...credentials, ...first, untilFile: until.file, untilPosition: until.position, parallelThreads: options.parallelThreads ?? 4 }, a.logger);
      try {
        // SIGTERM while the target applies: its replica is stopped where it is, then removed (finally below).
        await untilInterrupted(waitApplied(conn, replicationSource.streamed, until, a.logger), options.signal).catch(async (err: unknown) => {
          throw await stopInterrupted(conn, err, state.logBin);
        });
        await stopAt(conn, until);
        const sent: DumpFramer | null = framer;
        if (sent === null) throw new ArchiverError('EINTERNAL', 'the replica stopped at the target without reading from binlog-archiver');
        if (bounds.replayed === null) throw new ArchiverError('EINTERNAL', 'the replay range has no record of its transactions');
        a.summary.executedGtids = await checkApplied(conn, state, bounds.replayed.gtids, `${options.apply.host}:${options.apply.port}`);
        a.summary.events = (sent as DumpFramer).events;
      } finally {
        await removeReplica(conn, state, a.logger);
      }
    } finally {
      await replicationSource.close();
    }
    a.summary.appliedTo = `${options.apply.host}:${options.apply.port}`;
    a.summary.applyMs = Date.now() - applyStarted;
    a.logger.log('info', 'Applied restore through replication', { server: a.summary.appliedTo, ms: a.summary.applyMs, executedGtids: a.summary.executedGtids });
  } finally {
    await conn.end().catch(() => undefined);
  }
}
