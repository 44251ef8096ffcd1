/**
 * `expire`: per source, plan what the recovery window keeps (expire-plan.ts), prove the first kept binlog still
 * decodes to what its entry says, then, crash-consistently:
 *   1. move the retained-range marker forward (retained-range.ts): from here on every reader ignores what is
 *      below it, so the store already looks like the finished run;
 *   2. read the restore leases again (a restore that started meanwhile wins: nothing is deleted);
 *   3. rebuild the index from the entries in the range;
 *   4. delete what is below the marker oldest-first, per binlog the object(s) then the entry.
 * A run killed anywhere leaves a consistent store (`verify` passes), and the next run deletes the rest, because
 * step 4 deletes everything below the marker, whoever left it. Objects the store retains (Object Lock, GCS
 * retention or holds) are reported with their date and deleted by a later run.
 */
import { ArchiverError } from '../errors.ts';
import { BatchKeys } from '../keys/batch-keys.ts';
import type { KeyProvider } from '../keys/key-provider.ts';
import { type Logger, silentLogger } from '../logger.ts';
import { verifyStoredObject } from '../restore/stored-object.ts';
import type { Gap } from '../store/continuity.ts';
import { type ManifestEntry, listSources, readEntries, rebuildIndex } from '../store/manifest.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { readLeases } from '../store/restore-lease.ts';
import { type RetainedRange, readRetainedRange, sequenceOfKey, writeRetainedRange } from '../store/retained-range.ts';
import { readAnchors } from './anchor.ts';
import { type ExpirePlan, planExpire } from './expire-plan.ts';

export interface ExpireOptions {
  store: ObjectStore;
  keyUrl: string;
  keyProvider?: KeyProvider;
  source?: string;
  windowMs: number;
  /** The window as the user wrote it (recorded in the marker). */
  windowText: string;
  now: Date;
  dryRun?: boolean;
  logger?: Logger;
  /** Called before each delete with the count so far (tests inject failures here). */
  beforeDelete?: (key: string, deleted: number) => void;
}

export interface RetainedObject {
  key: string;
  until: string | null;
  reason: string;
}

export interface SourceExpiry {
  source: string;
  basis: ExpirePlan['basis'];
  anchorKey: string | null;
  windowStart: string;
  /** The retained window after this run: first kept binlog and its first event (the earliest recoverable point). */
  retainedFrom: string | null;
  firstRecoverableTime: string | null;
  /** Binlogs expired by this run's plan, and what was deleted below the marker (objects, entries, bytes). */
  expiredBinlogs: string[];
  deletedObjects: number;
  deletedBytes: number;
  retained: RetainedObject[];
  keptGaps: Gap[];
  notes: string[];
}

export interface ExpireSummary {
  store: string;
  now: string;
  recoveryWindow: string;
  dryRun: boolean;
  sources: SourceExpiry[];
  deletedObjects: number;
  deletedBytes: number;
  durationMs: number;
}

/** Every archive object and entry of `source` below `firstSequence`, oldest first, objects before their entry. */
async function keysBelow(store: ObjectStore, source: string, firstSequence: number): Promise<{ key: string; size: number; sequence: number }[]> {
  const found: { key: string; size: number; sequence: number }[] = [];
  for (const prefix of [`binlogs/${source}/`, `manifest/${source}/`]) {
    for await (const info of store.list(prefix)) {
      const at = sequenceOfKey(info.key);
      if (at !== undefined && at.source === source && at.sequence < firstSequence) found.push({ ...info, sequence: at.sequence });
    }
  }
  const rank = (key: string): number => (key.startsWith('manifest/') ? 1 : 0);
  return found.sort((a, b) => a.sequence - b.sequence || rank(a.key) - rank(b.key) || (a.key < b.key ? -1 : 1));
}

/** The first kept binlog must still decode to what its entry says before anything older goes. */
async function proveReadable(store: ObjectStore, keys: BatchKeys, entry: ManifestEntry): Promise<void> {
  const result = await verifyStoredObject({
    store, keys,
    ref: { key: entry.object.key, format: entry.object.format, sidecarKey: entry.object.sidecarKey,
      identity: { source: entry.source.name, binlogFile: entry.binlog.name, sequence: entry.binlog.sequence, correlationId: entry.correlationId, batchId: entry.batchId } },
  });
  if (result.plaintextSha256 !== entry.binlog.sha256 || result.plaintextLength !== entry.binlog.size) {
    throw new ArchiverError('EVERIFY', `${store.describe(entry.object.key)}, the first binlog the recovery window keeps, does not decode to what its manifest entry records; nothing was expired`, {
      hint: 'run `binlog-archiver verify` and repair the archive before expiring',
    });
  }
}

function markerFor(plan: ExpirePlan, keepFrom: ManifestEntry, options: ExpireOptions): RetainedRange {
  return {
    schema: 'binlog-archiver.dev/retained-range/v1', source: plan.source, firstSequence: keepFrom.binlog.sequence, firstBinlog: keepFrom.binlog.name,
    firstRecoverableTime: keepFrom.binlog.firstEventTime, recoveryWindow: options.windowText, windowStart: plan.windowStart, anchorKey: plan.anchorKey,
    updatedAt: options.now.toISOString(),
  };
}

async function expireSource(options: ExpireOptions, keys: BatchKeys, source: string, logger: Logger): Promise<SourceExpiry> {
  const { store } = options;
  const [entries, anchors, leases, range] = await Promise.all([
    readEntries(store, source), readAnchors(store, source), readLeases(store, source), readRetainedRange(store, source),
  ]);
  const plan = planExpire({ source, entries, anchors, leases, now: options.now, windowMs: options.windowMs });
  const keepFrom = plan.keepFrom;
  const out: SourceExpiry = {
    source, basis: plan.basis, anchorKey: plan.anchorKey, windowStart: plan.windowStart, retainedFrom: keepFrom?.binlog.name ?? null,
    firstRecoverableTime: keepFrom?.binlog.firstEventTime ?? null, expiredBinlogs: plan.expire.map((e) => e.binlog.name),
    deletedObjects: 0, deletedBytes: 0, retained: [], keptGaps: plan.keptGaps, notes: plan.notes,
  };
  if (keepFrom === null || plan.leases.length > 0) return out;
  const first = Math.max(keepFrom.binlog.sequence, range?.firstSequence ?? 0);
  const below = await keysBelow(store, source, first);
  if (options.dryRun === true) {
    out.deletedObjects = below.length;
    out.deletedBytes = below.reduce((n, k) => n + k.size, 0);
    return out;
  }
  if (below.length === 0) return out;
  await proveReadable(store, keys, keepFrom);
  if (range === undefined || first > range.firstSequence) {
    await writeRetainedRange(store, markerFor(plan, keepFrom, options));
    logger.log('info', 'Retained range moved', { source, retainedFrom: keepFrom.binlog.name, firstSequence: first });
  }
  const late = (await readLeases(store, source)).filter((l) => Date.parse(l.expiresAt) > options.now.getTime());
  if (late.length > 0) {
    out.notes.push(`a restore took a lease meanwhile (${late.map((l) => l.id).join(', ')}): nothing was deleted; the next run deletes what is below ${keepFrom.binlog.name}`);
    return out;
  }
  await rebuildIndex(store, source, options.now);
  for (const item of below) {
    options.beforeDelete?.(item.key, out.deletedObjects);
    const result = await store.delete(item.key);
    if (result.outcome === 'retained') {
      out.retained.push({ key: item.key, until: result.until, reason: result.reason });
      continue;
    }
    if (result.outcome === 'deleted') {
      out.deletedObjects += 1;
      out.deletedBytes += item.size;
    }
  }
  logger.log('info', 'Expired binlogs', { source, deletedObjects: out.deletedObjects, deletedBytes: out.deletedBytes, retained: out.retained.length });
  return out;
}

export async function runExpire(options: ExpireOptions): Promise<ExpireSummary> {
  const started = Date.now();
  const logger = (options.logger ?? silentLogger).child({ store: options.store.url });
  const sources = options.source === undefined ? await listSources(options.store) : [options.source];
  if (sources.length === 0) throw new ArchiverError('ENOTFOUND', `${options.store.url} holds no archived binlogs`, { hint: 'check --store' });
  const summary: ExpireSummary = {
    store: options.store.url, now: options.now.toISOString(), recoveryWindow: options.windowText, dryRun: options.dryRun === true, sources: [],
    deletedObjects: 0, deletedBytes: 0, durationMs: 0,
  };
  const keys = new BatchKeys({ keyUrl: options.keyUrl, ...(options.keyProvider === undefined ? {} : { provider: options.keyProvider }) });
  try {
    for (const source of sources) {
      const s = await expireSource(options, keys, source, logger);
      summary.sources.push(s);
      summary.deletedObjects += s.deletedObjects;
      summary.deletedBytes += s.deletedBytes;
    }
  } finally {
    keys.dispose();
  }
  summary.durationMs = Date.now() - started;
  return summary;
}
