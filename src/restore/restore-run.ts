/**
 * Restore: plan the binlogs needed, check every object is there before downloading anything, then download,
 * verify (authenticated decryption, decompression, SHA-256 against the manifest) and write each binlog
 * byte-identical to the original under --out, then the replay script. Files are written under a temporary
 * name and renamed only when verified; replay.sh is written last, so a failed restore never looks complete.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ArchiverError } from '../errors.ts';
import { BatchKeys } from '../keys/batch-keys.ts';
import type { KeyProvider } from '../keys/key-provider.ts';
import { type Logger, silentLogger } from '../logger.ts';
import { sha256File } from '../pipeline/file-hash.ts';
import { type ManifestEntry, listSources, readEntries } from '../store/manifest.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { Gap } from '../store/continuity.ts';
import { planRestore } from './plan.ts';
import { startPosition, stopPosition } from './positions.ts';
import { replayCommand, replayScript } from './replay-script.ts';
import { openStoredObject } from './stored-object.ts';
import type { RestoreTarget, StartPosition } from './target.ts';
import { type ApplyTarget, applyReplay } from './apply.ts';

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
  logger?: Logger;
  clock?: () => Date;
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
  startPosition: number | null;
  stopPosition: number | null;
  durationMs: number;
}

async function chooseSource(store: ObjectStore, source: string | undefined): Promise<string> {
  if (source !== undefined) return source;
  const sources = await listSources(store);
  if (sources.length === 1 && sources[0] !== undefined) return sources[0];
  if (sources.length === 0) throw new ArchiverError('ENOTFOUND', `${store.url} holds no archived binlogs`, { hint: 'check --store' });
  throw new ArchiverError('EUSAGE', `${store.url} holds binlogs of several sources (${sources.join(', ')})`, { hint: 'choose one with --source' });
}

function outputError(err: unknown, file: string): ArchiverError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new ArchiverError('ENOSPACE', `no space left on the --out volume while writing ${file}`, { cause: err, hint: 'free space or choose another --out, then run the restore again' });
  }
  return err instanceof ArchiverError ? err : new ArchiverError('EBADINPUT', `cannot write ${file}: ${(err as Error).message}`, { cause: err });
}

async function restoreFile(options: RestoreOptions, keys: BatchKeys, entry: ManifestEntry): Promise<'restored' | 'present'> {
  const final = path.join(options.out, entry.binlog.name);
  if (fs.existsSync(final)) {
    if ((await sha256File(final)) === entry.binlog.sha256) return 'present';
    throw new ArchiverError('ECONFLICT', `${final} exists with other content than the archived ${entry.binlog.name}`, { hint: 'restore into an empty --out directory' });
  }
  const partial = path.join(options.out, `.${entry.binlog.name}.partial`);
  const decoded = await openStoredObject({
    store: options.store,
    ref: { key: entry.object.key, format: entry.object.format, sidecarKey: entry.object.sidecarKey,
      identity: { source: entry.source.name, binlogFile: entry.binlog.name, sequence: entry.binlog.sequence, correlationId: entry.correlationId, batchId: entry.batchId } },
    keys,
  });
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(partial, 'w', 0o640);
    for await (const chunk of decoded) {
      await handle.write(chunk);
      // Hand the buffer back to the decoder for reuse: keeps restore memory flat (docs/PERFORMANCE.md).
      decoded.release?.(chunk);
    }
    const result = await decoded.result;
    if (result.plaintextSha256 !== entry.binlog.sha256 || result.plaintextLength !== entry.binlog.size) {
      throw new ArchiverError('EVERIFY', `${options.store.describe(entry.object.key)} decodes to other bytes than the manifest records for ${entry.binlog.name} (sha256 ${result.plaintextSha256}, expected ${entry.binlog.sha256})`);
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.promises.rename(partial, final);
    return 'restored';
  } catch (err) {
    throw outputError(err, partial);
  } finally {
    await handle?.close().catch(() => undefined);
    await fs.promises.rm(partial, { force: true });
  }
}

export async function runRestore(options: RestoreOptions): Promise<RestoreSummary> {
  const started = Date.now();
  const clock = options.clock ?? (() => new Date());
  const logger = (options.logger ?? silentLogger).child({ store: options.store.url });
  const source = await chooseSource(options.store, options.source);
  const entries = await readEntries(options.store, source);
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
  try {
    await fs.promises.mkdir(options.out, { recursive: true });
  } catch (err) {
    throw outputError(err, options.out);
  }
  const summary: RestoreSummary = { source, out: options.out, files: [], bytes: 0, gaps: plan.gaps, replayScript: null, replayCommand: null, appliedTo: null, startPosition: null, stopPosition: null, durationMs: 0 };
  const keys = new BatchKeys({ keyUrl: options.keyUrl, ...(options.keyProvider === undefined ? {} : { provider: options.keyProvider }) });
  try {
    // Two files at a time: each decode already spreads its frames over the worker pool.
    const queue = [...plan.files];
    const results = new Map<string, 'restored' | 'present'>();
    const worker = async (): Promise<void> => {
      for (let entry = queue.shift(); entry !== undefined; entry = queue.shift()) {
        results.set(entry.binlog.name, await restoreFile(options, keys, entry));
        logger.log('info', 'Restored binlog', { correlationId: entry.correlationId, binlog: entry.binlog.name, bytes: entry.binlog.size });
      }
    };
    await Promise.all([worker(), worker()]);
    for (const entry of plan.files) {
      summary.files.push({ name: entry.binlog.name, sequence: entry.binlog.sequence, bytes: entry.binlog.size, sha256: entry.binlog.sha256, status: results.get(entry.binlog.name) ?? 'restored' });
      summary.bytes += entry.binlog.size;
    }
  } finally {
    keys.dispose();
  }
  const first = plan.files[0];
  const last = plan.files.at(-1);
  if (first !== undefined && last !== undefined) {
    const flavor = first.source.flavor;
    summary.startPosition = plan.fromPosition?.position ?? (await startPosition(path.join(options.out, first.binlog.name), first, plan.from));
    summary.stopPosition = await stopPosition(path.join(options.out, last.binlog.name), last, plan.target, plan.targetGtids);
    const t = plan.target;
    const target = t.kind === 'time' ? `until ${t.until.toISOString()}` : t.kind === 'gtid' ? `until GTID ${t.text}` : t.kind === 'position' ? `until ${t.file}:${t.position}` : 'to the end of the archive';
    const start = plan.fromPosition !== null ? `from ${plan.fromPosition.file}:${plan.fromPosition.position}` : plan.from === null ? 'from the first archived binlog' : `from GTID ${plan.from.format()}`;
    const spec = {
      flavor, source, files: plan.files.map((e) => e.binlog.name), startPosition: summary.startPosition, stopPosition: summary.stopPosition,
      excludeGtids: flavor === 'mysql' && plan.from !== null ? plan.from.format() : null,
      description: `${start} ${target}`,
      generatedAt: clock().toISOString(),
    };
    const script = path.join(options.out, 'replay.sh');
    try {
      await fs.promises.writeFile(`${script}.tmp`, replayScript(spec), { mode: 0o755 });
      await fs.promises.rename(`${script}.tmp`, script);
    } catch (err) {
      await fs.promises.rm(`${script}.tmp`, { force: true });
      throw outputError(err, script);
    }
    summary.replayScript = script;
    summary.replayCommand = replayCommand(spec);
    if (options.apply !== undefined) {
      await applyReplay({ flavor, command: summary.replayCommand, dir: options.out, target: options.apply });
      summary.appliedTo = `${options.apply.host}:${options.apply.port}`;
      logger.log('info', 'Applied restore to server', { source, server: summary.appliedTo, files: plan.files.length });
    }
  }
  summary.durationMs = Date.now() - started;
  logger.log('info', 'Restore finished', { source, files: summary.files.length, bytes: summary.bytes });
  return summary;
}
