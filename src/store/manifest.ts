/**
 * The authoritative manifest: one JSON entry per archived binlog, stored beside the objects and written only
 * after the object is complete and verified, plus a per-source index derived from the entries for fast
 * restore planning. An entry is never overwritten: the same binlog name with other content is a conflict.
 */
import { ArchiverError } from '../errors.ts';
import { mapOrdered } from '../format/parallel.ts';
import type { ArchiveFormat } from './layout.ts';
import { MANIFEST_PREFIX, assertSourceName, indexKey, isSourceName, manifestKey } from './layout.ts';
import { ENTRY_SCHEMA, INDEX_SCHEMA, parseManifestEntry } from './manifest-schema.ts';
import { type ObjectStore, once, readAll } from './object-store.ts';
import { isBelowRange, readRetainedRange } from './retained-range.ts';

export { ENTRY_SCHEMA, INDEX_SCHEMA };

export interface ManifestEntry {
  schema: typeof ENTRY_SCHEMA;
  correlationId: string;
  batchId: string;
  archivedAt: string;
  source: {
    name: string;
    serverId: number | null;
    /** MySQL server_uuid or MariaDB domain-server, when the binlog shows it. */
    serverUuid: string | null;
    flavor: 'mysql' | 'mariadb';
    version: string | null;
  };
  binlog: {
    name: string;
    sequence: number;
    size: number;
    sha256: string;
    /**
     * SHA-256 of the size and the first and last 64 KiB (src/store/binlog-edges.ts): how a later run recognises
     * the file as this binlog without reading it all. Absent in entries written before it.
     */
    edgesSha256?: string;
    firstEventTime: string | null;
    lastEventTime: string | null;
    firstPosition: number;
    lastPosition: number;
    endPosition: number;
    previousGtids: string | null;
    gtidsAdded: string;
    firstGtid: string | null;
    lastGtid: string | null;
    checksumAlg: string | null;
    /** Set when MySQL itself encrypted the file (binlog_encryption=ON): archived as is. */
    mysqlEncryptionKeyId: string | null;
    transactionCompressed: boolean;
  };
  object: {
    key: string;
    size: number;
    sha256: string;
    format: ArchiveFormat;
    formatVersion: number;
    sidecarKey: string | null;
    /**
     * How the frames were compressed (gcm objects written since the per-segment choice; absent in older
     * entries, openssl-aes-256-cbc objects and adopted objects): the level, and how many of the frames were
     * stored instead because that level would have gained less than 1/32 on them (src/format/zstd-adapt.js).
     */
    compression?: ObjectCompression;
  };
  key: {
    provider: string;
    keyId: string;
    /** Version of the master key that wrapped the DEK, where the provider versions keys (Vault Transit). */
    keyVersion: string | null;
    /** base64 of the wrapped DEK (null for openssl-aes-256-cbc, which uses the passphrase directly). */
    wrappedDek: string | null;
    context: Record<string, string>;
  };
}

export interface ObjectCompression {
  level: number;
  frames: number;
  storedFrames: number;
  /** Frames compressed at `level` with zstd's hashLog 13 (src/format/zstd-adapt.js); absent in older entries. */
  smallTableFrames?: number;
}

export type IndexRecord = Pick<ManifestEntry['binlog'], 'name' | 'sequence' | 'size' | 'sha256' | 'firstEventTime' | 'lastEventTime' | 'previousGtids' | 'gtidsAdded' | 'lastGtid'> & {
  entryKey: string;
  objectKey: string;
  flavor: 'mysql' | 'mariadb';
};

export interface SourceIndex {
  schema: typeof INDEX_SCHEMA;
  source: string;
  updatedAt: string;
  entries: IndexRecord[];
}

export async function readEntry(store: ObjectStore, source: string, sequence: number, name: string): Promise<ManifestEntry | undefined> {
  const key = manifestKey(source, sequence, name);
  if ((await store.head(key)) === undefined) return undefined;
  return parseManifestEntry(await readAll(store, key), { key, where: store.describe(key), source });
}

/** Writes the entry; never overwrites (the store's put refuses an existing key). */
export async function writeEntry(store: ObjectStore, entry: ManifestEntry): Promise<string> {
  const key = manifestKey(entry.source.name, entry.binlog.sequence, entry.binlog.name);
  await store.put(key, once(Buffer.from(`${JSON.stringify(entry, null, 2)}\n`)));
  return key;
}

/**
 * Every source with at least one entry, from the manifest listing. A directory there that is not a source name
 * was not written by binlog-archiver: refused, not skipped, so nothing in the store goes unexamined.
 */
export async function listSources(store: ObjectStore): Promise<string[]> {
  const sources = new Set<string>();
  for await (const info of store.list(MANIFEST_PREFIX)) {
    const rest = info.key.slice(MANIFEST_PREFIX.length);
    const slash = rest.indexOf('/');
    if (slash < 0) continue;
    const source = rest.slice(0, slash);
    if (!isSourceName(source)) {
      throw new ArchiverError('EFORMAT', `${store.describe(info.key)} is not under a source name (${JSON.stringify(source)})`, {
        hint: 'binlog-archiver writes manifest/<source>/<sequence>-<binlog>.json only; move the stray key out of manifest/',
      });
    }
    sources.add(source);
  }
  return [...sources].sort();
}

/** A malformed entry: its key and the EFORMAT that names every bad field. */
export interface EntryProblem {
  entryKey: string;
  error: ArchiverError;
}

/**
 * All well-formed entries of one source in sequence order, read from the entries themselves (the source of
 * truth) from the start of its retained range (retained-range.ts), and one problem per malformed entry; for
 * `verify`, which reports them all and checks the rest. Errors reading the store still throw.
 */
/**
 * Manifest entries read at once. Each is a small GET, and every archive run (the index) and every restore plan
 * reads all of a source's entries: one after the other, a source with a month of binlogs every few minutes
 * (~10,000 entries) took minutes on an object store's round trips.
 */
const ENTRY_READS = 16;

export async function readEntriesChecked(store: ObjectStore, source: string): Promise<{ entries: ManifestEntry[]; problems: EntryProblem[] }> {
  assertSourceName(source);
  const entries: ManifestEntry[] = [];
  const problems: EntryProblem[] = [];
  // Entries below the retained range are expired (or being expired by an interrupted expire): not the archive's.
  const range = await readRetainedRange(store, source);
  async function* keys(): AsyncGenerator<string> {
    for await (const info of store.list(`${MANIFEST_PREFIX}${source}/`)) {
      if (info.key.endsWith('.json') && !isBelowRange(info.key, range)) yield info.key;
    }
  }
  const read = async (key: string): Promise<{ key: string; raw: Buffer }> => ({ key, raw: await readAll(store, key) });
  for await (const { key, raw } of mapOrdered(keys(), read, ENTRY_READS)) {
    try {
      entries.push(parseManifestEntry(raw, { key, where: store.describe(key), source }));
    } catch (err) {
      if (!(err instanceof ArchiverError) || err.code !== 'EFORMAT') throw err;
      problems.push({ entryKey: key, error: err });
    }
  }
  return { entries: entries.sort((a, b) => a.binlog.sequence - b.binlog.sequence), problems };
}

/**
 * All entries of one source, in sequence order; throws EFORMAT if any entry of the source is malformed. Whole
 * source, not only the entries a plan would pick: planning reads every entry (chain continuity, GTID and time
 * targets), and one dropped entry would turn into a gap that --accept-gaps skips silently.
 */
export async function readEntries(store: ObjectStore, source: string): Promise<ManifestEntry[]> {
  const { entries, problems } = await readEntriesChecked(store, source);
  const [first] = problems;
  if (first === undefined) return entries;
  if (problems.length === 1) throw first.error;
  throw new ArchiverError('EFORMAT', `${problems.length} manifest entries of source ${source} are malformed; the first: ${first.error.message}`, {
    cause: first.error, ...(first.error.hint === undefined ? {} : { hint: first.error.hint }),
  });
}

export function indexRecord(entry: ManifestEntry): IndexRecord {
  const b = entry.binlog;
  return {
    name: b.name, sequence: b.sequence, size: b.size, sha256: b.sha256, firstEventTime: b.firstEventTime, lastEventTime: b.lastEventTime,
    previousGtids: b.previousGtids, gtidsAdded: b.gtidsAdded, lastGtid: b.lastGtid, flavor: entry.source.flavor,
    entryKey: manifestKey(entry.source.name, b.sequence, b.name), objectKey: entry.object.key,
  };
}

/** Rebuilds the per-source index from the entries, so it can never drift from them. */
export async function rebuildIndex(store: ObjectStore, source: string, now: Date): Promise<SourceIndex> {
  const index: SourceIndex = { schema: INDEX_SCHEMA, source, updatedAt: now.toISOString(), entries: (await readEntries(store, source)).map(indexRecord) };
  await store.replace(indexKey(source), Buffer.from(`${JSON.stringify(index, null, 2)}\n`));
  return index;
}
