/**
 * `verify`: decode every archived object of every source (or one) and check it against its manifest entry:
 * authenticated decryption, decompression, plaintext SHA-256 and length, object SHA-256 and size. Also reports
 * gaps in each source's chain and objects that no entry names. Every planning field of an entry (times, GTIDs,
 * positions, server) is re-derived from the decoded binlog and must equal the entry's: restore plans with them.
 * With `since`, only objects archived from then on are decoded; gaps and orphans are always checked.
 * Problems are collected, not thrown, so one run lists them all; the caller exits non-zero if there is any.
 */
import { ArchiverError } from '../errors.ts';
import { BatchKeys } from '../keys/batch-keys.ts';
import type { KeyProvider } from '../keys/key-provider.ts';
import { type Logger, silentLogger } from '../logger.ts';
import { type Gap, findGaps } from '../store/continuity.ts';
import { indexRecord, listSources, readEntriesChecked } from '../store/manifest.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { type RetainedRange, isBelowRange, readRetainedRange, sequenceOfKey } from '../store/retained-range.ts';
import { planningDigestMismatch, planningMismatches } from './planning-fields.ts';
import { verifyStoredObject } from './stored-object.ts';

export interface VerifyProblem {
  source: string;
  binlog: string | null;
  objectKey: string;
  code: string;
  message: string;
}

export interface VerifySummary {
  store: string;
  sources: { source: string; binlogs: number; bytes: number; gaps: Gap[] }[];
  verified: number;
  bytes: number;
  problems: VerifyProblem[];
  orphans: string[];
  /** With `since`: entries archived before it, whose objects were not decoded again (the chain is still checked). */
  skipped: number;
  since: string | null;
  durationMs: number;
}

export interface VerifyOptions {
  store: ObjectStore;
  keyUrl: string;
  keyProvider?: KeyProvider;
  source?: string;
  /** Decode only the objects archived at or after this time (scope `recent` of scheduled verification). */
  since?: Date;
  logger?: Logger;
}

export async function runVerify(options: VerifyOptions): Promise<VerifySummary> {
  const started = Date.now();
  const logger = (options.logger ?? silentLogger).child({ store: options.store.url });
  const { store } = options;
  const sources = options.source === undefined ? await listSources(store) : [options.source];
  if (sources.length === 0) throw new ArchiverError('ENOTFOUND', `${store.url} holds no archived binlogs`, { hint: 'check --store' });
  const summary: VerifySummary = { store: store.url, sources: [], verified: 0, bytes: 0, problems: [], orphans: [],
    skipped: 0, since: options.since?.toISOString() ?? null, durationMs: 0 };
  const sinceMs = options.since?.getTime();
  const keys = new BatchKeys({ keyUrl: options.keyUrl, ...(options.keyProvider === undefined ? {} : { provider: options.keyProvider }) });
  const named = new Set<string>();
  const ranges = new Map<string, RetainedRange | undefined>();
  try {
    for (const source of sources) {
      const { entries, problems: malformed } = await readEntriesChecked(store, source);
      for (const { error } of malformed) summary.problems.push({ source, binlog: null, objectKey: '', code: error.code, message: error.message });
      const gaps = findGaps(entries.map(indexRecord));
      const range = await readRetainedRange(store, source);
      ranges.set(source, range);
      const first = entries[0];
      if (range !== undefined && first?.binlog.sequence !== range.firstSequence) {
        // A hole at the start of the kept range: expire never deletes at or above the marker.
        gaps.push({ kind: 'missing-sequence', after: `(expired below ${range.firstBinlog})`, before: first?.binlog.name ?? '(nothing)',
          detail: `the retained range starts at ${range.firstBinlog} (sequence ${range.firstSequence}), but the first manifest entry is ${first === undefined ? 'missing' : `${first.binlog.name} (sequence ${first.binlog.sequence})`}` });
      }
      summary.sources.push({ source, binlogs: entries.length, bytes: entries.reduce((n, e) => n + e.binlog.size, 0), gaps });
      for (const gap of gaps) {
        summary.problems.push({ source, binlog: gap.before, objectKey: '', code: 'EGAP', message: gap.detail });
      }
      for (const entry of entries) {
        named.add(entry.object.key);
        if (entry.object.sidecarKey !== null) named.add(entry.object.sidecarKey);
        if (sinceMs !== undefined && Date.parse(entry.archivedAt) < sinceMs) {
          summary.skipped += 1;
          continue;
        }
        const problem = (code: string, message: string): void => {
          summary.problems.push({ source, binlog: entry.binlog.name, objectKey: entry.object.key, code, message });
          logger.log('error', 'Archived binlog failed verification', { correlationId: entry.correlationId, binlog: entry.binlog.name, code, error: message });
        };
        try {
          const result = await verifyStoredObject({
            store, keys,
            ref: { key: entry.object.key, format: entry.object.format, sidecarKey: entry.object.sidecarKey,
              identity: { source, binlogFile: entry.binlog.name, sequence: entry.binlog.sequence, correlationId: entry.correlationId, batchId: entry.batchId } },
          });
          const drift = planningMismatches(entry, result.planning);
          const unbound = planningDigestMismatch(entry, result.planningSha256);
          if (unbound !== null) drift.push(unbound);
          if (result.plaintextSha256 !== entry.binlog.sha256 || result.plaintextLength !== entry.binlog.size) {
            problem('EVERIFY', `decodes to ${result.plaintextLength} bytes with sha256 ${result.plaintextSha256}; the manifest records ${entry.binlog.size} bytes with sha256 ${entry.binlog.sha256}`);
          } else if (result.objectSha256 !== entry.object.sha256 || result.objectLength !== entry.object.size) {
            problem('EVERIFY', `object bytes differ from the manifest (sha256 ${result.objectSha256}, expected ${entry.object.sha256})`);
          } else if (entry.binlog.edgesSha256 !== undefined && entry.binlog.edgesSha256 !== result.edgesSha256) {
            // What a later archive run recognises the binlog by: a wrong one would make it skip another binlog.
            problem('EVERIFY', `the manifest entry's edgesSha256 ${entry.binlog.edgesSha256} differs from the archived binlog's ${result.edgesSha256}`);
          } else if (drift.length > 0) {
            problem('EVERIFY', `the manifest entry's planning fields differ from the archived binlog: ${drift.join('; ')}`);
          } else {
            summary.verified += 1;
            summary.bytes += entry.binlog.size;
          }
        } catch (err) {
          problem((err as ArchiverError).code ?? 'EINTERNAL', (err as Error).message);
        }
      }
    }
  } finally {
    keys.dispose();
  }
  // Objects no entry names: an interrupted run's (the next archive run adopts them) or debris. Either way the
  // archive is not what the manifest says, so the CLI fails on them.
  for await (const info of store.list(options.source === undefined ? 'binlogs/' : `binlogs/${options.source}/`)) {
    // Below a source's retained range: expired, or left for a rerun by an interrupted expire.
    if (!named.has(info.key) && !isBelowRange(info.key, ranges.get(sequenceOfKey(info.key)?.source ?? ''))) summary.orphans.push(info.key);
  }
  summary.durationMs = Date.now() - started;
  return summary;
}
