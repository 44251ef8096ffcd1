/**
 * One archive run (a batch): discover the closed binlogs, archive each in sequence order under one data key,
 * then rebuild the source's index and report gaps. The first failure aborts the run: later binlogs are not
 * archived out of order past a failed one, and the error reaches the caller.
 */
import { inspectBinlog } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';
import { BatchKeys } from '../keys/batch-keys.ts';
import { isBatchKeyFailure } from '../keys/key-failure.ts';
import { type Gap, findGaps } from '../store/continuity.ts';
import { mapOrdered } from '../format/parallel.ts';
import { readEntry, rebuildIndex } from '../store/manifest.ts';
import { readRetainedRange } from '../store/retained-range.ts';
import type { ObjectStore, StoreRequestStats } from '../store/object-store.ts';
import { type ArchiveOptions, resolveArchiveOptions } from './archive-options.ts';
import { type BinlogOutcome, type LookedUp, archiveBinlog } from './archive-binlog.ts';
import { type Candidate, discoverBinlogs } from './discover.ts';
import { newBatchId, newCorrelationId } from './ids.ts';

export interface BinlogRow {
  binlog: string;
  sequence: number;
  correlationId: string;
  status: BinlogOutcome['status'];
  resumed: boolean;
  upload: BinlogOutcome['upload'];
  bytes: number;
  objectKey: string;
  objectBytes: number;
  lastEventTime: string | null;
  lastGtid: string | null;
}

export interface ArchiveSummary {
  source: string | null;
  batchId: string;
  store: string;
  binlogs: BinlogRow[];
  archived: number;
  skipped: number;
  adopted: number;
  bytes: number;
  objectBytes: number;
  activeBinlog: string | null;
  lastArchived: string | null;
  gaps: Gap[];
  durationMs: number;
  /** Requests the store sent and retried in this run (null for stores without a server, such as file://). */
  storeRequests: StoreRequestStats | null;
}

/** What the store sent since `before` (a store may outlive one run). */
function requestsSince(store: ObjectStore, before: StoreRequestStats | undefined): StoreRequestStats | null {
  const now = store.requestStats?.();
  if (now === undefined) return null;
  const retries = Object.fromEntries(Object.entries(now.retries)
    .map(([reason, n]): [string, number] => [reason, n - (before?.retries[reason] ?? 0)]).filter(([, n]) => n > 0));
  return { requests: now.requests - (before?.requests ?? 0), retries };
}

/**
 * A failed run still reports what its store retried before giving up (the operator counts retries from the run
 * report): the stats go into the error's context, under `storeRequests`.
 */
function withRequestStats(err: unknown, stats: StoreRequestStats | null): unknown {
  if (err instanceof ArchiverError && stats !== null) err.context.storeRequests = stats;
  return err;
}

/** `<flavor>-<server_id>` of the first plain binlog, for runs without --source. */
async function defaultSource(candidates: Candidate[]): Promise<string> {
  for (const c of candidates) {
    const info = await inspectBinlog(c.path);
    if (info.magic === 'plain') return `${info.flavor}-${info.serverId}`;
  }
  throw new ArchiverError('EUSAGE', 'cannot name the source server: no binlog here shows its server id (they are all MySQL-encrypted)', {
    hint: 'pass --source NAME',
  });
}

/**
 * Manifest entries looked up ahead of the run. A server keeps many closed binlogs (thousands with a month of
 * binlog_expire_logs_seconds and frequent rotation), nearly all archived by earlier runs: one entry lookup (HEAD
 * and GET) after the other made every run wait that many object-store round trips before the one new binlog.
 */
const LOOK_AHEAD = 16;

interface LookAhead {
  /** The candidates in order, each with its manifest entry as looked up (LOOK_AHEAD ahead of the consumer). */
  results: AsyncGenerator<{ candidate: Candidate; lookedUp: LookedUp }>;
  /** Resolves once no lookup is running: a run that stops early sends no request after it returns. */
  settle(): Promise<void>;
}

function lookAhead(store: ObjectStore, source: string, candidates: Candidate[]): LookAhead {
  const running = new Set<Promise<unknown>>();
  async function* items(): AsyncGenerator<Candidate> {
    await Promise.resolve();
    yield* candidates;
  }
  const lookUp = (candidate: Candidate): Promise<{ candidate: Candidate; lookedUp: LookedUp }> => {
    const done = readEntry(store, source, candidate.sequence, candidate.name).then(
      (entry) => ({ candidate, lookedUp: { entry } }),
      (error: unknown) => ({ candidate, lookedUp: { error } }),
    );
    running.add(done);
    void done.finally(() => running.delete(done));
    return done;
  };
  return { results: mapOrdered(items(), lookUp, LOOK_AHEAD), settle: async () => void (await Promise.allSettled([...running])) };
}

export async function runArchive(input: ArchiveOptions): Promise<ArchiveSummary> {
  const options = resolveArchiveOptions(input);
  const started = Date.now();
  const requestsBefore = options.store.requestStats?.();
  const now = options.clock();
  const batchId = newBatchId(now);
  const discovery = await discoverBinlogs(options.binlogDir, options.binlogBasename === undefined ? {} : { basename: options.binlogBasename });
  const logger = options.logger.child({ batchId, store: options.store.url });
  logger.log('info', 'Discovered binlogs', { closed: discovery.closed.length, active: discovery.active?.name ?? null, indexFile: discovery.indexFile });
  const summary: ArchiveSummary = {
    source: options.source ?? null, batchId, store: options.store.url, binlogs: [], archived: 0, skipped: 0, adopted: 0, bytes: 0, objectBytes: 0,
    activeBinlog: discovery.active?.name ?? null, lastArchived: null, gaps: [], durationMs: 0, storeRequests: null,
  };
  if (discovery.closed.length === 0) {
    summary.durationMs = Date.now() - started;
    summary.storeRequests = requestsSince(options.store, requestsBefore);
    return summary;
  }
  const source = options.source ?? (await defaultSource(discovery.closed));
  summary.source = source;
  const keys = new BatchKeys({ keyUrl: options.keyUrl, ...(options.keyProvider === undefined ? {} : { provider: options.keyProvider }) });
  let ahead: LookAhead | undefined;
  try {
    // Binlogs the server still has but retention already expired stay expired (archiving them again would
    // resurrect what the next expire deletes).
    const range = await readRetainedRange(options.store, source);
    const expired = discovery.closed.filter((c) => range !== undefined && c.sequence < range.firstSequence);
    if (expired.length > 0) logger.log('info', 'Skipped binlogs below the retained range', { binlogs: expired.map((c) => c.name), retainedFrom: range?.firstBinlog });
    ahead = lookAhead(options.store, source, discovery.closed.filter((c) => !expired.includes(c)));
    for await (const { candidate, lookedUp } of ahead.results) {
      const { status, entry, resumed, upload } = await archiveBinlog({ options: { ...options, logger }, keys, batchId, source }, candidate, newCorrelationId(), lookedUp);
      summary.binlogs.push({
        binlog: entry.binlog.name, sequence: entry.binlog.sequence, correlationId: entry.correlationId, status, resumed, upload, bytes: entry.binlog.size,
        objectKey: entry.object.key, objectBytes: entry.object.size, lastEventTime: entry.binlog.lastEventTime, lastGtid: entry.binlog.lastGtid,
      });
      summary[status] += 1;
      summary.bytes += entry.binlog.size;
      summary.objectBytes += status === 'skipped' ? 0 : entry.object.size;
      summary.lastArchived = entry.binlog.name;
    }
    const index = await rebuildIndex(options.store, source, options.clock());
    summary.gaps = findGaps(index.entries);
  } catch (err) {
    await ahead?.settle();
    if (isBatchKeyFailure(err)) logger.log('error', 'Key provider failed', { code: err.code, error: err.message });
    throw withRequestStats(err, requestsSince(options.store, requestsBefore));
  } finally {
    keys.dispose();
  }
  for (const gap of summary.gaps) logger.log('warn', 'Binlog gap detected', { source, ...gap });
  summary.durationMs = Date.now() - started;
  summary.storeRequests = requestsSince(options.store, requestsBefore);
  logger.log('info', 'Archive run finished', {
    source, archived: summary.archived, skipped: summary.skipped, adopted: summary.adopted, bytes: summary.bytes, storeRequests: summary.storeRequests,
  });
  return summary;
}
