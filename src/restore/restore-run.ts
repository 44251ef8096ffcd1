/**
 * Restore: plan the binlogs needed, check every object is there before downloading anything, then download,
 * verify (authenticated decryption, decompression, SHA-256 against the manifest) and write each binlog
 * byte-identical to the original under --out, then the replay script. Files are written under a temporary
 * name and renamed only when verified; replay.sh is written last, so a failed restore never looks complete.
 */
import fs from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { ArchiverError } from '../errors.ts';
import { type HashPlacement, holdDecodeBuffers, sizeSharedPool } from '../format/index.ts';
import { BatchKeys } from '../keys/batch-keys.ts';
import type { KeyProvider } from '../keys/key-provider.ts';
import { type Logger, silentLogger } from '../logger.ts';
import { type ManifestEntry, listSources, readEntries } from '../store/manifest.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { Gap } from '../store/continuity.ts';
import { type RestorePlan, planRestore } from './plan.ts';
import { assertInRetainedRange } from './retained-check.ts';
import { readRetainedRange } from '../store/retained-range.ts';
import { type Applied, FileBoundaryScan, type ScanGoal } from './boundaries.ts';
import { type ReplayBoundaries, planEnd, replayBoundaries } from './replay-range.ts';
import { type ReplaySpec, replayCommand, replayScript } from './replay-script.ts';
import { type RestoredFile, createStaging, outputError, restoreFile, writeViaStaging } from './restore-file.ts';
import type { RestoreTarget, StartPosition } from './target.ts';
import { type ApplyTarget, applyReplay } from './apply.ts';
import { checkSessionApplied, sessionBaseline, sessionInterrupted } from './session-check.ts';

export interface RestoreOptions {
  store: ObjectStore;
  keyUrl: string;
  keyProvider?: KeyProvider;
  out: string;
  source?: string;
  fromGtid?: string;
  fromPosition?: StartPosition;
  target: RestoreTarget;
  acceptGaps?: boolean;
  /** Also replay into this server, in one session, after the files are written and verified. */
  apply?: ApplyTarget;
  /** Apply even to a server whose executed GTIDs cannot show the result (log_bin OFF, gtid_mode OFF): unchecked. */
  allowUnverifiedApply?: boolean;
  logger?: Logger;
  clock?: () => Date;
  /** Aborting it stops the restore between chunks; its cleanup runs and it fails with the abort reason (interrupt.ts). */
  signal?: AbortSignal;
}

export interface RestoreSummary {
  source: string;
  out: string;
  files: { name: string; sequence: number; bytes: number; sha256: string; status: 'restored' | 'present' }[];
  bytes: number;
  gaps: Gap[];
  replayScript: string | null;
  replayCommand: string[] | null;
  /** host:port the replay was applied to, when asked. */
  appliedTo: string | null;
  /** What the server's executed GTIDs showed after the apply (or why they could not be checked). */
  applyCheck: string | null;
  startPosition: number | null;
  stopPosition: number | null;
  /** How the restored bytes show the target is reached (or why nothing is to be replayed). */
  targetReached: string | null;
  /** Time of the last transaction the replay applies, and the server's executed GTIDs after it (null: nothing replayed). */
  recoveredUntil: string | null;
  recoveredGtidSet: string | null;
  durationMs: number;
}

async function chooseSource(store: ObjectStore, source: string | undefined): Promise<string> {
  if (source !== undefined) return source;
  const sources = await listSources(store);
  if (sources.length === 1 && sources[0] !== undefined) return sources[0];
  if (sources.length === 0) throw new ArchiverError('ENOTFOUND', `${store.url} holds no archived binlogs`, { hint: 'check --store' });
  throw new ArchiverError('EUSAGE', `${store.url} holds binlogs of several sources (${sources.join(', ')})`, { hint: 'choose one with --source' });
}

/**
 * The decode-ahead window of a file restore: each decode keeps a few frames on the worker pool (4 MiB each, plus
 * their ciphertext), so the next frames are downloaded, authenticated and decompressed while the current one is
 * written and inspected: at most files × (frames + 2) plaintext buffers (the one being written and the one the
 * SHA-256, on a pool worker, may still read count too) and the ciphertext of the frames in flight. One file at a
 * time, on one worker fewer than the cores (at least one, at most two). Measured on 2 cores (docs/PERFORMANCE.md
 * §8.1): the main thread (the binlog reader, the boundary scan) is the bottleneck and one worker keeps up with it
 * (GCM, zstd and the SHA-256 cost it about what the reader costs the main thread); a second file decoding at
 * once or a second worker was no faster, and cost 15-30 MiB (series of small binlogs) and 14-16 MiB of peak RSS.
 */
const DECODE_WINDOW = { files: 1, frames: 3, workers: Math.max(1, Math.min(2, availableParallelism() - 1)) };

/** Downloads, authenticates and writes every planned file (in order, DECODE_WINDOW ahead), scanning each for replay boundaries. */
async function restoreFiles(options: RestoreOptions, plan: RestorePlan, staging: string, logger: Logger): Promise<RestoredFile[]> {
  const keys = new BatchKeys({ keyUrl: options.keyUrl, ...(options.keyProvider === undefined ? {} : { provider: options.keyProvider }) });
  const results: RestoredFile[] = [];
  sizeSharedPool(DECODE_WINDOW.workers);
  // The decode buffers go from one file to the next instead of to the garbage collector.
  const letGo = holdDecodeBuffers();
  try {
    let next = 0;
    // One file failing stops the others before they put a file in place: a failed restore leaves no binlog behind.
    const failure = new AbortController();
    const signal = options.signal === undefined ? failure.signal : AbortSignal.any([options.signal, failure.signal]);
    const ctx = { store: options.store, keys, out: options.out, staging, maxInFlight: DECODE_WINDOW.frames, signal, learned: { plaintextHash: 'adaptive' as HashPlacement } };
    const worker = async (): Promise<void> => {
      for (let i = next++; i < plan.files.length; i = next++) {
        const entry = plan.files[i]!;
        try {
          results[i] = await restoreFile(ctx, entry, scanFor(plan, i));
        } catch (err) {
          next = plan.files.length; // the other decodes stop too
          if (!failure.signal.aborted) failure.abort(err);
          throw err;
        }
        logger.log('info', 'Restored binlog', { correlationId: entry.correlationId, binlog: entry.binlog.name, bytes: entry.binlog.size });
      }
    };
    // Every decode has ended before the caller removes the staging directory: nothing writes into it afterwards.
    const settled = await Promise.allSettled(Array.from({ length: DECODE_WINDOW.files }, worker));
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  } finally {
    letGo();
    keys.dispose();
  }
  return results;
}

function describe(plan: RestorePlan): string {
  const t = plan.target;
  const target = t.kind === 'time' ? `until ${t.until.toISOString()}` : t.kind === 'gtid' ? `until GTID ${plan.targetGtids?.format() ?? t.text}` : t.kind === 'position' ? `until ${t.file}:${t.position}` : 'to the end of the archive';
  const start = plan.fromPosition !== null ? `from ${plan.fromPosition.file}:${plan.fromPosition.position}` : plan.from === null ? 'from the first archived binlog' : `from GTID ${plan.from.format()}`;
  return `${start} ${target}`;
}

async function mkdirOut(out: string): Promise<void> {
  try {
    await fs.promises.mkdir(out, { recursive: true });
  } catch (err) {
    throw outputError(err, out);
  }
}

export interface PreparedRestore {
  source: string;
  entries: ManifestEntry[];
  plan: RestorePlan;
}

/** Plans from the manifest and checks every planned object is there, before anything is downloaded or written. */
export async function prepareRestore(options: Omit<RestoreOptions, 'out' | 'apply'>): Promise<PreparedRestore> {
  const source = await chooseSource(options.store, options.source);
  const entries = await readEntries(options.store, source);
  assertInRetainedRange({ range: await readRetainedRange(options.store, source), entries, ...options });
  const plan = planRestore({
    entries, source, target: options.target, acceptGaps: options.acceptGaps ?? false,
    ...(options.fromGtid === undefined ? {} : { fromGtid: options.fromGtid }),
    ...(options.fromPosition === undefined ? {} : { fromPosition: options.fromPosition }),
  });
  // Every object must be there before anything is written: a missing one is a gap, named.
  for (const entry of plan.files) {
    if ((await options.store.head(entry.object.key)) === undefined) {
      throw new ArchiverError('EGAP', `the archive has a gap: ${entry.binlog.name} (sequence ${entry.binlog.sequence}) is in the manifest but its object ${options.store.describe(entry.object.key)} is missing`, {
        hint: 'nothing was restored; recover the object, or restore to a point before this binlog',
      });
    }
  }
  return { source, entries, plan };
}

export function scanGoal(plan: RestorePlan): ScanGoal {
  return { flavor: plan.files[0]?.source.flavor ?? 'mysql', from: plan.from, target: plan.target, targetGtids: plan.targetGtids };
}

/** The boundary scan of planned file `i`: the start position applies to the first file, a position target to the last. */
export function scanFor(plan: RestorePlan, i: number): FileBoundaryScan {
  return new FileBoundaryScan(scanGoal(plan), plan.files[i]!.binlog.name, {
    ...(i === 0 && plan.fromPosition !== null ? { fromPosition: plan.fromPosition.position } : {}),
    ...(plan.target.kind === 'position' && i === plan.files.length - 1 ? { untilPosition: plan.target.position } : {}),
  });
}

export function emptyBoundaries(plan: RestorePlan): ReplayBoundaries {
  return { apply: false, firstFile: 0, lastFile: -1, startPosition: 4, stopPosition: null, reached: plan.emptyReason ?? 'nothing to replay', recovered: null, replayed: null };
}

export async function runRestore(options: RestoreOptions): Promise<RestoreSummary> {
  const started = Date.now();
  const clock = options.clock ?? (() => new Date());
  const logger = (options.logger ?? silentLogger).child({ store: options.store.url });
  const { source, entries, plan } = await prepareRestore(options);
  await mkdirOut(options.out);
  const summary: RestoreSummary = { source, out: options.out, files: [], bytes: 0, gaps: plan.gaps, replayScript: null, replayCommand: null, appliedTo: null, applyCheck: null, startPosition: null, stopPosition: null, targetReached: null, recoveredUntil: null, recoveredGtidSet: null, durationMs: 0 };
  const bounds = await writeRestore(options, plan, entries, summary, logger, clock);
  if (options.apply !== undefined && summary.replayCommand !== null && bounds.replayed !== null) await applySession(options, options.apply, plan, bounds.replayed, summary, logger);
  summary.durationMs = Date.now() - started;
  logger.log('info', 'Restore finished', { source, files: summary.files.length, bytes: summary.bytes, targetReached: summary.targetReached });
  return summary;
}

/** Writes every planned binlog (verified) and replay.sh through a private staging directory; returns the replay range. */
async function writeRestore(options: RestoreOptions, plan: RestorePlan, entries: ManifestEntry[], summary: RestoreSummary, logger: Logger, clock: () => Date): Promise<ReplayBoundaries> {
  const staging = await createStaging(options.out).catch((err: unknown) => { throw outputError(err, options.out); });
  try {
    const restored = await restoreFiles(options, plan, staging, logger);
    plan.files.forEach((entry, i) => {
      summary.files.push({ name: entry.binlog.name, sequence: entry.binlog.sequence, bytes: entry.binlog.size, sha256: entry.binlog.sha256, status: restored[i]?.status ?? 'restored' });
      summary.bytes += entry.binlog.size;
    });
    const bounds = plan.files.length === 0 ? emptyBoundaries(plan) : replayBoundaries(scanGoal(plan), restored.map((r) => r.scan), planEnd(plan.files, entries));
    summary.targetReached = bounds.reached;
    summary.recoveredUntil = bounds.recovered?.until ?? null;
    summary.recoveredGtidSet = bounds.recovered === null || bounds.recovered.gtids === '' ? null : bounds.recovered.gtids;
    if (bounds.apply) await writeReplay(options, plan, bounds, staging, summary, clock);
    return bounds;
  } finally {
    await fs.promises.rm(staging, { recursive: true, force: true });
  }
}

/** Replays into the server in one session, between the checks of what it executed (fail closed); an interruption says where the server stands. */
async function applySession(options: RestoreOptions, target: ApplyTarget, plan: RestorePlan, replayed: Applied, summary: RestoreSummary, logger: Logger): Promise<void> {
  const flavor = plan.files[0]!.source.flavor;
  const baseline = await sessionBaseline(target, flavor, replayed, options.allowUnverifiedApply ?? false, plan.from);
  await applyReplay({ flavor, command: summary.replayCommand!, dir: options.out, target, ...(options.signal === undefined ? {} : { signal: options.signal }) }).catch(async (err: unknown) => {
    throw await sessionInterrupted(target, baseline, err);
  });
  summary.appliedTo = `${target.host}:${target.port}`;
  summary.applyCheck = (await checkSessionApplied(target, flavor, baseline, replayed)).check;
  logger.log('info', 'Applied restore to server', { source: summary.source, server: summary.appliedTo, applyCheck: summary.applyCheck });
}

/** The replay of a restore's range: which files, from where to where, as replay.sh and the streamed apply run it. */
export function replaySpecOf(plan: RestorePlan, bounds: ReplayBoundaries, source: string, clock: () => Date): ReplaySpec {
  const files = plan.files.slice(bounds.firstFile, bounds.lastFile + 1);
  const flavor = files[0]!.source.flavor;
  return {
    flavor, source, files: files.map((e) => e.binlog.name), startPosition: bounds.startPosition, stopPosition: bounds.stopPosition,
    excludeGtids: flavor === 'mysql' && plan.from !== null ? plan.from.format() : null,
    description: `${describe(plan)}; ${bounds.reached}`,
    generatedAt: clock().toISOString(),
  };
}

async function writeReplay(options: RestoreOptions, plan: RestorePlan, bounds: ReplayBoundaries, staging: string, summary: RestoreSummary, clock: () => Date): Promise<void> {
  const spec = replaySpecOf(plan, bounds, summary.source, clock);
  const script = path.join(options.out, 'replay.sh');
  await writeViaStaging(staging, script, replayScript(spec), 0o755);
  summary.startPosition = bounds.startPosition;
  summary.stopPosition = bounds.stopPosition;
  summary.replayScript = script;
  summary.replayCommand = replayCommand(spec);
}
