/**
 * Two archive runs for one source at once (issue 9 item 14): the run that loses the race for a name either
 * finds the winner's entry for the same content (the binlog counts as skipped) or says that another run is at
 * work, with a hint, and writes nothing. The store ends up complete and verifiable either way.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { runVerify } from '../../src/restore/verify-run.ts';
import type { ObjectStore } from '../../src/store/object-store.ts';
import { openStore } from '../../src/store/open-store.ts';
import { KINGBUS, binlogDir, listFiles, newKeyUrl, tempDir } from '../support/archive.ts';

/** `store`, whose put of a key for which `gate` answers a promise waits for it first. */
function gated(store: ObjectStore, gate: (key: string) => Promise<unknown> | undefined): ObjectStore {
  return {
    url: store.url,
    describe: (key) => store.describe(key),
    get: (key) => store.get(key),
    head: (key) => store.head(key),
    list: (prefix) => store.list(prefix),
    replace: (key, data) => store.replace(key, data),
    delete: (key) => store.delete(key),
    put: async (key, body, options) => {
      await gate(key);
      return store.put(key, body, options);
    },
  };
}

function setup() {
  const { dir } = binlogDir(KINGBUS, 'mysql-bin');
  const work = tempDir();
  const storeDir = path.join(work, 'store');
  return { dir, storeDir, store: openStore(`file://${storeDir}`), keyUrl: newKeyUrl(work) };
}

describe('two archive runs for one source at once', () => {
  it('the loser of an object finds the winner\'s entry for the same content and skips the binlog', async () => {
    const { dir, store, keyUrl } = setup();
    let other: Promise<unknown> | undefined;
    // Run A reaches its first object write only once run B has archived everything.
    const a = gated(store, (key) => (key.startsWith('binlogs/') ? (other ??= runArchive({ binlogDir: dir, store, keyUrl, source: 'db1' })) : undefined));
    const summary = await runArchive({ binlogDir: dir, store: a, keyUrl, source: 'db1' });
    assert.deepEqual(summary.binlogs.map((b) => b.status), ['skipped', 'skipped', 'skipped']);
    const verified = await runVerify({ store, keyUrl, source: 'db1' });
    assert.deepEqual(verified.problems, []);
    assert.equal(verified.verified, 3);
  });

  it('the loser that meets the winner between object and entry says another run is at work and writes nothing', async () => {
    const { dir, storeDir, store, keyUrl } = setup();
    let releaseB!: () => void;
    const bMayWriteEntries = new Promise<void>((resolve) => { releaseB = resolve; });
    let bObjectStored!: () => void;
    const bHasObject = new Promise<void>((resolve) => { bObjectStored = resolve; });
    // B stores its first object, then waits before writing any manifest entry until A has given up.
    const b = gated(store, (key) => {
      if (key.startsWith('manifest/')) {
        bObjectStored();
        return bMayWriteEntries;
      }
      return undefined;
    });
    let runB: Promise<{ archived: number }> | undefined;
    let before: string[] = [];
    // A has checked the store and encoded its first binlog; before it stores the object, B stores its own.
    const a = gated(store, (key) => {
      if (!key.startsWith('binlogs/') || runB !== undefined) return undefined;
      runB = runArchive({ binlogDir: dir, store: b, keyUrl, source: 'db1' });
      return bHasObject.then(() => {
        before = listFiles(storeDir);
      });
    });
    await assert.rejects(runArchive({ binlogDir: dir, store: a, keyUrl, source: 'db1' }), (err: unknown) => {
      assert.ok(err instanceof ArchiverError, String(err));
      assert.equal(err.code, 'ECONFLICT');
      assert.match(err.message, /another archive run for source db1 is archiving mysql-bin\.000001 at the same time/);
      assert.match(err.hint ?? '', /another archive run for source db1 is at work; retry later/);
      return true;
    });
    assert.deepEqual(listFiles(storeDir), before, 'the losing run wrote nothing');
    releaseB();
    assert.ok(runB !== undefined);
    const summary = await runB;
    assert.equal(summary.archived, 3);
    const verified = await runVerify({ store, keyUrl, source: 'db1' });
    assert.deepEqual(verified.problems, []);
  });
});
