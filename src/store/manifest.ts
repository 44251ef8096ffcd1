/**
 * The authoritative manifest: one JSON entry per archived binlog, stored beside the objects and written only
 * after the object is complete and verified, plus a per-source index derived from the entries for fast
 * restore planning. An entry is never overwritten: the same binlog name with other content is a conflict.
 */
import { ArchiverError } from '../errors.ts';
import type { ArchiveFormat } from './layout.ts';
import { MANIFEST_PREFIX, assertSourceName, indexKey, manifestKey } from './layout.ts';
import { type ObjectStore, once, readAll } from './object-store.ts';

export const ENTRY_SCHEMA = 'binlog-archiver.dev/manifest-entry/v1';
export const INDEX_SCHEMA = 'binlog-archiver.dev/source-index/v1';

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

function parseEntry(raw: Buffer, where: string): ManifestEntry {
  let entry: ManifestEntry;
  try {
    entry = JSON.parse(raw.toString('utf8')) as ManifestEntry;
  } catch (err) {
    throw new ArchiverError('EFORMAT', `manifest entry ${where} is not valid JSON`, { cause: err });
  }
  const schema: unknown = (entry as { schema?: unknown }).schema;
  if (schema !== ENTRY_SCHEMA) throw new ArchiverError('EFORMAT', `manifest entry ${where} has schema ${JSON.stringify(schema)}, expected ${ENTRY_SCHEMA}`);
  return entry;
}

export async function readEntry(store: ObjectStore, source: string, sequence: number, name: string): Promise<ManifestEntry | undefined> {
  const key = manifestKey(source, sequence, name);
  if ((await store.head(key)) === undefined) return undefined;
  return parseEntry(await readAll(store, key), store.describe(key));
}

/** Writes the entry; never overwrites (the store's put refuses an existing key). */
export async function writeEntry(store: ObjectStore, entry: ManifestEntry): Promise<string> {
  const key = manifestKey(entry.source.name, entry.binlog.sequence, entry.binlog.name);
  await store.put(key, once(Buffer.from(`${JSON.stringify(entry, null, 2)}\n`)));
  return key;
}

/** Every source with at least one entry, from the manifest listing. */
export async function listSources(store: ObjectStore): Promise<string[]> {
  const sources = new Set<string>();
  for await (const info of store.list(MANIFEST_PREFIX)) {
    const source = info.key.slice(MANIFEST_PREFIX.length).split('/')[0];
    if (source !== undefined && source !== '') sources.add(source);
  }
  return [...sources].sort();
}

/** All entries of one source, in sequence order, read from the entries themselves (the source of truth). */
export async function readEntries(store: ObjectStore, source: string): Promise<ManifestEntry[]> {
  assertSourceName(source);
  const entries: ManifestEntry[] = [];
  for await (const info of store.list(`${MANIFEST_PREFIX}${source}/`)) {
    if (!info.key.endsWith('.json')) continue;
    entries.push(parseEntry(await readAll(store, info.key), store.describe(info.key)));
  }
  return entries.sort((a, b) => a.binlog.sequence - b.binlog.sequence);
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
