/**
 * The archive run's index update (src/store/index-update.ts): the same index a rebuild from every entry gives,
 * reading only the entries the stored index does not list yet.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { updateIndex } from '../../src/store/index-update.ts';
import { indexKey } from '../../src/store/layout.ts';
import { type SourceIndex, rebuildIndex } from '../../src/store/manifest.ts';
import type { ObjectStore } from '../../src/store/object-store.ts';
import { openStore } from '../../src/store/open-store.ts';
import { KINGBUS, binlogDir, newKeyUrl, tempDir } from '../support/archive.ts';

const NOW = new Date('2026-12-04T12:00:00Z');

/** The store, and how many manifest entries were read through it. */
function counting(store: ObjectStore): { store: ObjectStore; reads: () => number } {
  let reads = 0;
  const wrapped = new Proxy(store, {
    get(target, name) {
      if (name === 'get') return (key: string) => ((reads += key.startsWith('manifest/') ? 1 : 0), target.get(key));
      const value: unknown = Reflect.get(target, name, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store: wrapped, reads: () => reads };
}

async function archived(): Promise<{ storeDir: string; store: ObjectStore; full: SourceIndex; indexFile: string }> {
  const { dir } = binlogDir(KINGBUS, 'mysql-bin');
  const work = tempDir();
  const storeDir = path.join(work, 'store');
  const store = openStore(`file://${storeDir}`);
  await runArchive({ binlogDir: dir, store, keyUrl: newKeyUrl(work), source: 'db1' });
  const indexFile = path.join(storeDir, indexKey('db1'));
  const full = await rebuildIndex(store, 'db1', NOW);
  assert.equal(full.entries.length, 3);
  return { storeDir, store, full, indexFile };
}

const edit = (file: string, change: (index: SourceIndex) => void): void => {
  const index = JSON.parse(fs.readFileSync(file, 'utf8')) as SourceIndex;
  change(index);
  fs.writeFileSync(file, JSON.stringify(index));
};

describe('updateIndex', () => {
  it('reads no entry when the index lists them all, and only the new ones otherwise', async () => {
    const { store, full, indexFile } = await archived();
    const c = counting(store);
    assert.deepEqual(await updateIndex(c.store, 'db1', NOW), full);
    assert.equal(c.reads(), 0);
    // An index written before the third entry: that one is read, and the result is the rebuilt index.
    edit(indexFile, (i) => { i.entries.pop(); });
    assert.deepEqual(await updateIndex(c.store, 'db1', NOW), full);
    assert.equal(c.reads(), 1);
    assert.deepEqual(JSON.parse(fs.readFileSync(indexFile, 'utf8')), JSON.parse(JSON.stringify(full)), 'and it is what the store holds');
  });

  it('drops the records of entries that are gone', async () => {
    const { storeDir, store, full } = await archived();
    fs.rmSync(path.join(storeDir, full.entries[0]!.entryKey));
    const updated = await updateIndex(store, 'db1', NOW);
    assert.deepEqual(updated.entries, full.entries.slice(1));
  });

  it('rebuilds a missing, malformed or hand-edited-to-nonsense index from every entry', async () => {
    const { store, full, indexFile } = await archived();
    for (const bad of [null, 'not json', JSON.stringify({ ...full, schema: 'binlog-archiver.dev/source-index/v0' }), JSON.stringify({ ...full, entries: [{ name: '../x' }] })]) {
      if (bad === null) fs.rmSync(indexFile);
      else fs.writeFileSync(indexFile, bad);
      const c = counting(store);
      assert.deepEqual(await updateIndex(c.store, 'db1', NOW), full);
      assert.equal(c.reads(), 3, 'every entry read');
    }
  });

  it('a malformed new entry is EFORMAT, and the index is left as it was', async () => {
    const { storeDir, store, full, indexFile } = await archived();
    edit(indexFile, (i) => { i.entries.pop(); });
    const before = fs.readFileSync(indexFile);
    fs.writeFileSync(path.join(storeDir, full.entries[2]!.entryKey), '{"schema": 1}');
    await assert.rejects(updateIndex(store, 'db1', NOW), (err: unknown) => err instanceof ArchiverError && err.code === 'EFORMAT');
    assert.ok(fs.readFileSync(indexFile).equals(before));
  });
});
