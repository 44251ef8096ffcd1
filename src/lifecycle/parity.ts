/**
 * `parity`: does our archive hold the same binlogs as a legacy pipeline's? For every binlog both hold within the
 * overlapping range (by sequence number), the legacy object is decoded as a stream and its plaintext SHA-256
 * compared with ours. Ours is also decoded, not taken from the manifest entry: the entry is plain JSON anyone
 * with write access to the store can edit, whereas decoding authenticates the plaintext digest (GCM trailer or
 * the openssl sidecar's HMAC, under --key). The decoded digest must also equal the entry's, or ours is reported
 * unreadable. Problems are collected per binlog, by name, so one run lists them all.
 */
import { parseSequence } from '../binlog/index.ts';
import { ArchiverError, isRetryable } from '../errors.ts';
import { BatchKeys } from '../keys/batch-keys.ts';
import type { KeyProvider } from '../keys/key-provider.ts';
import { type Logger, silentLogger } from '../logger.ts';
import { openStoredObject } from '../restore/stored-object.ts';
import { type ManifestEntry, listSources, readEntries } from '../store/manifest.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { LegacyCorrupt, legacyDigest } from './legacy-decode.ts';
import type { IgnoredObject, LegacyFormat, LegacyLocation, LegacyObject } from './legacy-location.ts';
import { type BinlogVerdict, type CycleResult, rotationCycles } from './parity-cycles.ts';
import { type Bounds, type Range, overlapOf, rangeOf } from './parity-range.ts';

export interface ParityOptions {
  store: ObjectStore;
  keyUrl: string;
  keyProvider?: KeyProvider;
  /** Needed when the store holds more than one source. */
  source?: string;
  legacy: LegacyLocation;
  format: LegacyFormat;
  /** The legacy passphrase (openssl-aes-256-cbc); the caller zeroes it. */
  passphrase?: Uint8Array;
  /**
   * Compare only the binlogs of the newest this-many rotation cycles the legacy pipeline has reached (cycles it
   * has not reached yet are skipped): the check after each archive run, whose cost does not grow with the archive.
   */
  recentCycles?: number;
  logger?: Logger;
}

export interface ParitySummary {
  ok: boolean;
  store: string;
  source: string;
  legacy: string;
  format: LegacyFormat;
  archive: Range | null;
  legacyRange: Range | null;
  overlap: Bounds | null;
  matched: string[];
  differing: { binlog: string; legacyObject: string; legacySha256: string; legacyLength: number; archiveSha256: string; archiveLength: number }[];
  missingInLegacy: string[];
  missingInArchive: string[];
  corruptLegacy: { binlog: string; object: string; kind: string; reason: string }[];
  unreadableArchive: { binlog: string; code: string; message: string }[];
  /** Ours newer than the legacy pipeline's newest (it has not got there yet): not compared, not a failure. */
  newerThanLegacy: string[];
  /** Ours older than the legacy pipeline's oldest (it expired them, or started later): not compared, not a failure. */
  olderThanLegacy: string[];
  ignoredLegacyObjects: IgnoredObject[];
  cycles: CycleResult[];
  consecutiveMatchingCycles: number;
  legacyBytes: number;
  plaintextBytes: number;
  durationMs: number;
}

async function pickSource(store: ObjectStore, source: string | undefined): Promise<string> {
  if (source !== undefined) return source;
  const sources = await listSources(store);
  if (sources.length === 1) return sources[0] as string;
  if (sources.length === 0) throw new ArchiverError('ENOTFOUND', `${store.url} holds no archived binlogs`, { hint: 'check --store' });
  throw new ArchiverError('EUSAGE', `${store.url} holds ${sources.length} sources (${sources.join(', ')}): name the one the legacy pipeline archives`, { hint: 'pass --source NAME' });
}

/** Our decoded, authenticated plaintext digest of one entry; it must equal the entry's. */
async function archiveDigest(store: ObjectStore, keys: BatchKeys, e: ManifestEntry): Promise<{ sha256: string; length: number }> {
  const decoded = await openStoredObject({
    store, keys,
    ref: { key: e.object.key, format: e.object.format, sidecarKey: e.object.sidecarKey,
      identity: { source: e.source.name, binlogFile: e.binlog.name, sequence: e.binlog.sequence, correlationId: e.correlationId, batchId: e.batchId } },
  });
  for await (const chunk of decoded) decoded.release?.(chunk);
  const r = await decoded.result;
  if (r.plaintextSha256 !== e.binlog.sha256 || r.plaintextLength !== e.binlog.size) {
    throw new ArchiverError('EVERIFY', `decodes to ${r.plaintextLength} bytes with sha256 ${r.plaintextSha256}; its manifest entry says ${e.binlog.size} bytes, ${e.binlog.sha256}`, {
      hint: 'run `binlog-archiver verify` on the archive',
    });
  }
  return { sha256: r.plaintextSha256, length: r.plaintextLength };
}

interface Compared {
  verdict: BinlogVerdict;
  legacyBytes: number;
}

async function compareOne(options: ParityOptions, keys: BatchKeys, entry: ManifestEntry, object: LegacyObject, summary: ParitySummary): Promise<Compared> {
  const binlog = entry.binlog.name;
  const [legacy, ours] = await Promise.allSettled([
    legacyDigest(options.legacy.read(object.name), options.format, options.passphrase),
    archiveDigest(options.store, keys, entry),
  ]);
  // A store or key service that is down fails the run: it says nothing about either archive.
  for (const r of [legacy, ours]) if (r.status === 'rejected' && (isRetryable(r.reason) || (r.reason instanceof ArchiverError && r.reason.code === 'ESTORE'))) throw r.reason;
  if (ours.status === 'rejected') {
    const err = ours.reason as Error;
    summary.unreadableArchive.push({ binlog, code: err instanceof ArchiverError ? err.code : 'EINTERNAL', message: err.message });
    return { verdict: 'unreadable-ours', legacyBytes: 0 };
  }
  if (legacy.status === 'rejected') {
    const err = legacy.reason as Error;
    if (!(err instanceof LegacyCorrupt) && !(err instanceof ArchiverError)) throw err;
    summary.corruptLegacy.push({ binlog, object: options.legacy.describe(object.name), kind: err instanceof LegacyCorrupt ? err.kind : err.code, reason: err.message });
    return { verdict: 'corrupt-legacy', legacyBytes: 0 };
  }
  if (legacy.value.plaintextSha256 !== ours.value.sha256 || legacy.value.plaintextLength !== ours.value.length) {
    summary.differing.push({
      binlog, legacyObject: options.legacy.describe(object.name),
      legacySha256: legacy.value.plaintextSha256, legacyLength: legacy.value.plaintextLength, archiveSha256: ours.value.sha256, archiveLength: ours.value.length,
    });
    return { verdict: 'differs', legacyBytes: legacy.value.objectLength };
  }
  summary.matched.push(binlog);
  summary.plaintextBytes += ours.value.length;
  return { verdict: 'match', legacyBytes: legacy.value.objectLength };
}

/** The binlogs of the newest `count` cycles that have at least one binlog within the legacy pipeline's reach. */
function recentBinlogs(entries: ManifestEntry[], legacyRange: Range | null, count: number): Set<string> {
  const reached = (e: ManifestEntry): boolean => legacyRange !== null && e.binlog.sequence <= legacyRange.lastSequence;
  const { cycles } = rotationCycles(entries.map((e) => ({ batchId: e.batchId, archivedAt: e.archivedAt, binlog: e.binlog.name })), () => 'match');
  const reachedBatches = new Set(entries.filter(reached).map((e) => e.batchId));
  return new Set(cycles.filter((c) => reachedBatches.has(c.batchId)).slice(0, count).flatMap((c) => c.binlogs));
}

export async function runParity(options: ParityOptions): Promise<ParitySummary> {
  const started = Date.now();
  const { store, legacy } = options;
  const source = await pickSource(store, options.source);
  const logger = (options.logger ?? silentLogger).child({ store: store.url, source, legacy: legacy.url });
  const entries = await readEntries(store, source);
  const listing = await legacy.list();
  const legacyByBinlog = new Map(listing.objects.map((o) => [o.binlog, o]));
  const archive = rangeOf(entries.map((e) => e.binlog.name));
  const legacyRange = rangeOf(listing.objects.map((o) => o.binlog));
  const overlap = overlapOf(archive, legacyRange);
  const summary: ParitySummary = {
    ok: false, store: store.url, source, legacy: legacy.url, format: options.format, archive, legacyRange, overlap,
    matched: [], differing: [], missingInLegacy: [], missingInArchive: [], corruptLegacy: [], unreadableArchive: [], newerThanLegacy: [], olderThanLegacy: [],
    ignoredLegacyObjects: listing.ignored, cycles: [], consecutiveMatchingCycles: 0, legacyBytes: 0, plaintextBytes: 0, durationMs: 0,
  };
  const only = options.recentCycles === undefined ? undefined : recentBinlogs(entries, legacyRange, options.recentCycles);
  const inScope = (name: string): boolean => only === undefined || only.has(name);
  const seq = (name: string): number => parseSequence(name) ?? -1;
  const verdicts = new Map<string, BinlogVerdict>();
  const keys = new BatchKeys({ keyUrl: options.keyUrl, ...(options.keyProvider === undefined ? {} : { provider: options.keyProvider }) });
  try {
    for (const entry of entries) {
      const name = entry.binlog.name;
      if (!inScope(name)) continue;
      // Outside the legacy range is outside the overlap (every one of ours is inside our own range).
      if (legacyRange === null || seq(name) > legacyRange.lastSequence) {
        summary.newerThanLegacy.push(name);
        verdicts.set(name, 'newer-than-legacy');
        continue;
      }
      if (seq(name) < legacyRange.firstSequence) {
        summary.olderThanLegacy.push(name);
        verdicts.set(name, 'older-than-legacy');
        continue;
      }
      const object = legacyByBinlog.get(name);
      if (object === undefined) {
        summary.missingInLegacy.push(name);
        verdicts.set(name, 'missing-legacy');
        continue;
      }
      const { verdict, legacyBytes } = await compareOne(options, keys, entry, object, summary);
      summary.legacyBytes += legacyBytes;
      verdicts.set(name, verdict);
      if (verdict !== 'match') logger.log('warn', 'Binlog does not match the legacy pipeline', { binlog: name, verdict });
    }
  } finally {
    keys.dispose();
  }
  const ours = new Set(entries.map((e) => e.binlog.name));
  if (overlap !== null) {
    for (const o of listing.objects) {
      const s = seq(o.binlog);
      if (!ours.has(o.binlog) && inScope(o.binlog) && s >= overlap.firstSequence && s <= overlap.lastSequence) summary.missingInArchive.push(o.binlog);
    }
  }
  const cycleEntries = entries.filter((e) => verdicts.has(e.binlog.name)).map((e) => ({ batchId: e.batchId, archivedAt: e.archivedAt, binlog: e.binlog.name }));
  const { cycles, consecutiveMatching } = rotationCycles(cycleEntries, (b) => verdicts.get(b) ?? 'newer-than-legacy');
  summary.cycles = cycles;
  summary.consecutiveMatchingCycles = consecutiveMatching;
  summary.ok = overlap !== null && summary.differing.length + summary.missingInLegacy.length + summary.missingInArchive.length +
    summary.corruptLegacy.length + summary.unreadableArchive.length === 0;
  summary.durationMs = Date.now() - started;
  return summary;
}
