/**
 * The per-source index brought up to date after an archive run, without reading every entry again. A source
 * keeps one entry per archived binlog (tens of thousands over months); rebuilding the index from all of them at
 * every run cost one GET per entry per rotation. Entries are written once and never changed (the store's put
 * never overwrites; only expire deletes them), so a record made from an entry stays true to it: the records of
 * the entries still listed are kept, entries added since the index was written are read, records of entries gone
 * are dropped. A missing or malformed index, an index of another schema, and every `expire` rebuild it from all
 * the entries (rebuildIndex), which also undoes any hand edit of the index.
 */
import { ArchiverError } from '../errors.ts';
import { indexKey } from './layout.ts';
import { type IndexRecord, type SourceIndex, entryKeys, indexRecord, readEntriesAt, rebuildIndex, refuseMalformed } from './manifest.ts';
import { INDEX_SCHEMA, parseSourceIndex } from './manifest-schema.ts';
import { type ObjectStore, readAll } from './object-store.ts';

/** The stored index, or undefined when there is none or it cannot be used as a base (malformed: rebuilt). */
async function storedIndex(store: ObjectStore, source: string): Promise<SourceIndex | undefined> {
  const key = indexKey(source);
  if ((await store.head(key)) === undefined) return undefined;
  try {
    const index = parseSourceIndex(await readAll(store, key), { key, where: store.describe(key), source });
    return index.schema === INDEX_SCHEMA ? index : undefined;
  } catch (err) {
    if (err instanceof ArchiverError && err.code === 'EFORMAT') return undefined;
    throw err;
  }
}

/** Updates (or rebuilds) the index of `source` from its entries as listed now; throws EFORMAT for a malformed new entry. */
export async function updateIndex(store: ObjectStore, source: string, now: Date): Promise<SourceIndex> {
  const current = await storedIndex(store, source);
  if (current === undefined) return rebuildIndex(store, source, now);
  const known = new Map(current.entries.map((r) => [r.entryKey, r]));
  const listed: string[] = [];
  for await (const key of entryKeys(store, source)) listed.push(key);
  async function* unknown(): AsyncGenerator<string> {
    await Promise.resolve();
    for (const key of listed) if (!known.has(key)) yield key;
  }
  const added = await readEntriesAt(store, source, unknown());
  refuseMalformed(source, added.problems);
  const records = new Map<string, IndexRecord>();
  for (const key of listed) {
    const kept = known.get(key);
    if (kept !== undefined) records.set(key, kept);
  }
  for (const entry of added.entries) {
    const record = indexRecord(entry);
    records.set(record.entryKey, record);
  }
  const index: SourceIndex = { schema: INDEX_SCHEMA, source, updatedAt: now.toISOString(), entries: [...records.values()].sort((a, b) => a.sequence - b.sequence) };
  await store.replace(indexKey(source), Buffer.from(`${JSON.stringify(index, null, 2)}\n`));
  return index;
}
