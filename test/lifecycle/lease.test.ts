/** Restore leases on a file:// store: renewed while held, released after, validated when read. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { underRestoreLease } from '../../src/cli/restore-lease.ts';
import { silentLogger } from '../../src/logger.ts';
import { once } from '../../src/store/object-store.ts';
import { openStore } from '../../src/store/open-store.ts';
import { acquireLease, readLeases, withLease } from '../../src/store/restore-lease.ts';
import { tempDir } from '../support/archive.ts';

describe('restore leases', () => {
  it('are renewed every third of their time to live while held, and deleted when released', async () => {
    const store = openStore(`file://${path.join(tempDir('blarc-lease-'), 'store')}`);
    const seen: string[] = [];
    await withLease(store, 'db1', { holder: 'test', ttlMs: 3000 }, async () => {
      const [first] = await readLeases(store, 'db1');
      assert.ok(first !== undefined);
      seen.push(first.expiresAt);
      await sleep(2300);
      const [later] = await readLeases(store, 'db1');
      assert.ok(later !== undefined && later.renewals >= 1, JSON.stringify(later));
      assert.ok(Date.parse(later.expiresAt) > Date.parse(first.expiresAt));
    });
    assert.deepEqual(await readLeases(store, 'db1'), []);
    assert.equal(seen.length, 1);
  });

  it('are released when the restore fails, and two restores of one source hold two leases', async () => {
    const store = openStore(`file://${path.join(tempDir('blarc-lease-'), 'store')}`);
    const other = await acquireLease(store, 'db1', { holder: 'another restore' });
    await assert.rejects(withLease(store, 'db1', { holder: 'failing' }, async () => {
      assert.equal((await readLeases(store, 'db1')).length, 2);
      throw new Error('restore failed');
    }), /restore failed/);
    assert.deepEqual((await readLeases(store, 'db1')).map((l) => l.holder), ['another restore']);
    await other.release();
    assert.deepEqual(await readLeases(store, 'db1'), []);
  });
});

describe('the restore command\'s lease', () => {
  it('holds a lease on the one source while the restore runs (the source named, or the only one in the store)', async () => {
    const store = openStore(`file://${path.join(tempDir('blarc-lease-'), 'store')}`);
    await store.put('manifest/db1/0000000001-mysql-bin.000001.json', once(Buffer.from('{}')));
    for (const source of ['db1', undefined]) {
      const during = await underRestoreLease(store, source, silentLogger, async () => (await readLeases(store, 'db1')).map((l) => l.holder));
      assert.equal(during.length, 1);
      assert.match(during[0]!, /^restore on .* \(pid \d+\)$/);
      assert.deepEqual(await readLeases(store, 'db1'), []);
    }
    // Several sources and no --source: the restore refuses that itself; no lease is taken.
    await store.put('manifest/db2/0000000001-mysql-bin.000001.json', once(Buffer.from('{}')));
    assert.equal(await underRestoreLease(store, undefined, silentLogger, async () => (await readLeases(store, 'db1')).length + (await readLeases(store, 'db2')).length), 0);
  });
});
