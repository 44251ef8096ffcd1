/**
 * The ObjectStore contract, run against every backend (file-contract.test.ts, s3-contract.test.ts): what the
 * pipeline relies on, whatever the store.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { type ObjectStore, once, readAll } from '../../src/store/object-store.ts';
import { MiB, deterministicBody, sha256OfDeterministic } from './helpers.ts';

export interface ContractTarget {
  store: ObjectStore;
  /** A body at least this large takes the store's "large object" path (multipart on S3). */
  largeSize: number;
  /** Debris a failed put left behind (staging files, incomplete multipart uploads): must stay empty. */
  leftovers(): Promise<string[]>;
  /** Backend-specific proof that a large put really took the large-object path (stored, or aborted mid-way). */
  largePath?(key: string, outcome: 'stored' | 'aborted'): Promise<void>;
  close(): Promise<void>;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function keysOf(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.list(prefix)) keys.push(info.key);
  return keys.sort();
}

function isCode(code: string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof ArchiverError, `expected an ArchiverError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

export function storeContract(name: string, open: () => Promise<ContractTarget>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let t: ContractTarget;
    before(async () => {
      t = await open();
    });
    after(async () => {
      await t?.close();
    });

    it('puts, heads, gets and lists an object, reporting its size and SHA-256', async () => {
      const data = Buffer.from('binlog bytes\n'.repeat(1000));
      const res = await t.store.put('c/put/one.bin', once(data));
      assert.deepEqual(res.size, data.length);
      assert.equal(res.sha256, sha(data));
      assert.deepEqual(await t.store.head('c/put/one.bin'), { key: 'c/put/one.bin', size: data.length });
      assert.equal(sha(await readAll(t.store, 'c/put/one.bin')), sha(data));
      assert.ok(t.store.describe('c/put/one.bin').endsWith('/c/put/one.bin'));
    });

    it('stores an empty body', async () => {
      const res = await t.store.put('c/empty', (async function* () {})());
      assert.equal(res.size, 0);
      assert.deepEqual(await t.store.head('c/empty'), { key: 'c/empty', size: 0 });
      assert.equal((await readAll(t.store, 'c/empty')).length, 0);
    });

    it('stores a large object (the multipart path on S3) byte for byte', async () => {
      const size = t.largeSize + 12_345;
      const res = await t.store.put('c/large/obj', deterministicBody('contract-large', size));
      assert.equal(res.size, size);
      assert.equal(res.sha256, sha256OfDeterministic('contract-large', size));
      assert.equal(sha(await readAll(t.store, 'c/large/obj')), res.sha256);
      await t.largePath?.('c/large/obj', 'stored');
      assert.deepEqual(await t.leftovers(), []);
    });

    it('lists a prefix as a directory: everything below it, nothing beside it', async () => {
      for (const k of ['c/list/a', 'c/list/sub/b', 'c/list/sub/c', 'c/listing/x']) await t.store.put(k, once(Buffer.from(k)));
      assert.deepEqual(await keysOf(t.store, 'c/list/'), ['c/list/a', 'c/list/sub/b', 'c/list/sub/c']);
      assert.deepEqual(await keysOf(t.store, 'c/list'), ['c/list/a', 'c/list/sub/b', 'c/list/sub/c']);
      assert.deepEqual(await keysOf(t.store, 'c/list/sub/'), ['c/list/sub/b', 'c/list/sub/c']);
      assert.deepEqual(await keysOf(t.store, 'c/nothing/'), []);
      const sizes = new Map<string, number>();
      for await (const info of t.store.list('c/list/')) sizes.set(info.key, info.size);
      assert.equal(sizes.get('c/list/sub/b'), 'c/list/sub/b'.length);
    });

    it('never overwrites: put on an existing key is ECONFLICT, the body is not read, the old bytes stay', async () => {
      await t.store.put('c/conflict', once(Buffer.from('first')));
      let started = false;
      const second = (async function* () {
        started = true;
        await Promise.resolve();
        yield Buffer.from('second');
      })();
      await assert.rejects(t.store.put('c/conflict', second), isCode('ECONFLICT'));
      assert.equal(started, false);
      assert.equal((await readAll(t.store, 'c/conflict')).toString(), 'first');
    });

    it('replaces derived documents atomically', async () => {
      await t.store.replace('c/index.json', Buffer.from('{"v":1}'));
      await t.store.replace('c/index.json', Buffer.from('{"v":2}'));
      assert.equal((await readAll(t.store, 'c/index.json')).toString(), '{"v":2}');
      assert.deepEqual(await t.store.head('c/index.json'), { key: 'c/index.json', size: 7 });
    });

    for (const [label, size, failAt] of [['small', 3 * MiB, 2 * MiB], ['large', 0, 0]] as const) {
      it(`makes nothing visible when the body throws mid-way (${label} body), and rethrows the body's error`, async () => {
        const total = size === 0 ? t.largeSize + 3 * MiB : size;
        const at = failAt === 0 ? t.largeSize + MiB : failAt;
        const key = `c/broken-${label}`;
        await assert.rejects(t.store.put(key, deterministicBody('broken', total, { failAt: at })), /body failed on purpose/);
        assert.equal(await t.store.head(key), undefined);
        assert.deepEqual((await keysOf(t.store, 'c/')).filter((k) => k.startsWith(key)), []);
        await assert.rejects(readAll(t.store, key), isCode('ENOTFOUND'));
        assert.deepEqual(await t.leftovers(), []);
        if (label === 'large') await t.largePath?.(key, 'aborted');
        // The key is still free afterwards.
        await t.store.put(key, once(Buffer.from('ok')));
        assert.equal((await readAll(t.store, key)).toString(), 'ok');
      });
    }

    it('deletes one object (small, large, replaced), leaving its neighbours; a missing key is absent, twice too', async () => {
      for (const k of ['c/del/a', 'c/del/b', 'c/del/sub/c']) await t.store.put(k, once(Buffer.from(k)));
      await t.store.put('c/del/large', deterministicBody('contract-del', t.largeSize + 1));
      await t.store.replace('c/del/index.json', Buffer.from('{}'));
      assert.deepEqual(await t.store.delete('c/del/a'), { outcome: 'deleted' });
      assert.deepEqual(await t.store.delete('c/del/large'), { outcome: 'deleted' });
      assert.deepEqual(await t.store.delete('c/del/index.json'), { outcome: 'deleted' });
      assert.equal(await t.store.head('c/del/a'), undefined);
      await assert.rejects(readAll(t.store, 'c/del/large'), isCode('ENOTFOUND'));
      assert.deepEqual(await keysOf(t.store, 'c/del/'), ['c/del/b', 'c/del/sub/c']);
      assert.deepEqual(await t.store.delete('c/del/a'), { outcome: 'absent' });
      assert.deepEqual(await t.store.delete('c/del/never'), { outcome: 'absent' });
      // A deleted key is free again: put writes it anew, never seeing the old bytes.
      await t.store.put('c/del/a', once(Buffer.from('second life')));
      assert.equal((await readAll(t.store, 'c/del/a')).toString(), 'second life');
    });

    it('reports a missing object: head undefined, get ENOTFOUND', async () => {
      assert.equal(await t.store.head('c/missing'), undefined);
      await assert.rejects(readAll(t.store, 'c/missing'), isCode('ENOTFOUND'));
    });

    it('rejects keys that could escape the store or alias another key, before touching anything', async () => {
      for (const bad of ['', '/abs', 'a//b', 'a/../b', '..', '.', 'a/./b', 'trailing/', 'nul\0byte']) {
        await assert.rejects(t.store.put(bad, once(Buffer.from('x'))), /invalid object key/, JSON.stringify(bad));
        await assert.rejects(t.store.head(bad), /invalid object key/, JSON.stringify(bad));
        await assert.rejects(readAll(t.store, bad), /invalid object key/, JSON.stringify(bad));
        await assert.rejects(t.store.replace(bad, Buffer.from('x')), /invalid object key/, JSON.stringify(bad));
        await assert.rejects(t.store.delete(bad), /invalid object key/, JSON.stringify(bad));
      }
      assert.deepEqual(await keysOf(t.store, 'a/'), []);
    });
  });
}
