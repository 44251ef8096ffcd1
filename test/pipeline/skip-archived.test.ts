/**
 * An archive run meets every binlog the server keeps; those archived before are recognised by their size and the
 * SHA-256 of their first and last 64 KiB (the entry's edgesSha256), not by hashing each whole file again. Entries
 * written before edgesSha256 existed are still checked against the whole file, and a different binlog under an
 * archived name is still a conflict.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { txcBinlog } from '../../bench/txc-binlog.ts';
import { ArchiverError } from '../../src/errors.ts';
import { createLogger } from '../../src/logger.ts';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { runVerify } from '../../src/restore/verify-run.ts';
import { manifestKey } from '../../src/store/layout.ts';
import { openStore } from '../../src/store/open-store.ts';
import { KINGBUS, binlogDir, newKeyUrl, tempDir } from '../support/archive.ts';

/** The definition (docs/FORMAT.md 13), written out independently of src/store/binlog-edges.ts. */
function edgesOf(file: string): string {
  const b = fs.readFileSync(file);
  const n = Math.min(b.length, 65536);
  const size = Buffer.alloc(8);
  size.writeBigUInt64BE(BigInt(b.length));
  return createHash('sha256').update(size).update(b.subarray(0, n)).update(b.subarray(b.length - n)).digest('hex');
}

const conflict = (err: unknown): boolean => err instanceof ArchiverError && err.code === 'ECONFLICT' && /already archived with different content/.test(err.message);

describe('archiving again', () => {
  it('recognises archived binlogs by size and edges; entries without edges by the whole file; other content is a conflict', { timeout: 120_000 }, async () => {
    const work = tempDir();
    // Two closed binlogs of ~1 MiB: far more than the 128 KiB of edges.
    const big = txcBinlog({ mib: 1, shape: 'small', out: path.join(work, 'src.000001') });
    const { dir, names } = binlogDir([big, big], 'mysql-bin');
    const storeDir = path.join(work, 'store');
    const store = openStore(`file://${storeDir}`);
    const keyUrl = newKeyUrl(work);
    const run = () => runArchive({ binlogDir: dir, store, keyUrl, source: 'db1' });
    assert.equal((await run()).archived, 2);
    const entryFile = (i: number): string => path.join(storeDir, manifestKey('db1', i + 1, names[i]!));
    const file = (i: number): string => path.join(dir, names[i]!);
    for (const i of [0, 1]) {
      const entry = JSON.parse(fs.readFileSync(entryFile(i), 'utf8')) as { binlog: { size: number; edgesSha256: string } };
      assert.ok(entry.binlog.size > 4 * 65536);
      assert.equal(entry.binlog.edgesSha256, edgesOf(file(i)));
    }
    const flip = (i: number, at: (size: number) => number): void => {
      const b = fs.readFileSync(file(i));
      const k = at(b.length);
      b[k] = b[k]! ^ 0x01;
      fs.writeFileSync(file(i), b);
    };

    // A byte between the edges: the same size and edges, so the file is taken as the archived binlog without
    // being read whole (the archive keeps what was archived and verified then).
    flip(0, (n) => n >> 1);
    const again = await run();
    assert.deepEqual([again.archived, again.skipped], [0, 2]);

    // An entry written before edgesSha256: the whole file is hashed, and the same change is a conflict.
    const older = JSON.parse(fs.readFileSync(entryFile(0), 'utf8')) as { binlog: Record<string, unknown> };
    delete older.binlog.edgesSha256;
    fs.writeFileSync(entryFile(0), JSON.stringify(older));
    await assert.rejects(run(), conflict);
    flip(0, (n) => n >> 1);
    assert.deepEqual(await run().then((s) => [s.archived, s.skipped]), [0, 2], 'the original bytes again: recognised by the whole file');

    // A change in either edge of a binlog with edges is a conflict, as is another size.
    for (const at of [() => 200, (n: number) => n - 100]) {
      flip(1, at);
      await assert.rejects(run(), conflict);
      flip(1, at);
    }
    fs.appendFileSync(file(1), Buffer.alloc(10));
    await assert.rejects(run(), conflict);
    fs.truncateSync(file(1), fs.statSync(file(1)).size - 10);
    assert.equal((await run()).skipped, 2);

    // verify checks the recorded edges against the archived binlog. (The same binlog twice is a GTID gap: EGAP.)
    const checked = async () => (await runVerify({ store, keyUrl })).problems.filter((p) => p.code !== 'EGAP');
    assert.deepEqual(await checked(), []);
    const edited = JSON.parse(fs.readFileSync(entryFile(1), 'utf8')) as { binlog: { edgesSha256: string } };
    edited.binlog.edgesSha256 = edited.binlog.edgesSha256.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    fs.writeFileSync(entryFile(1), JSON.stringify(edited));
    const problems = await checked();
    assert.deepEqual(problems.map((p) => [p.binlog, p.code]), [[names[1], 'EVERIFY']]);
    assert.match(problems[0]!.message, /edgesSha256/);
  });
});

describe('a run over many binlogs the server keeps', () => {
  it('looks their entries up ahead, several at once, and still archives in order and stops at the first failure', { timeout: 120_000 }, async () => {
    const { dir, names } = binlogDir(Array(24).fill(KINGBUS[0]!) as string[], 'mysql-bin');
    const work = tempDir();
    const base = openStore(`file://${path.join(work, 'store')}`);
    const keyUrl = newKeyUrl(work);
    const entryOf = (i: number): string => path.join(work, 'store', manifestKey('db1', i + 1, names[i]!));
    // The 21st is not a binlog: the first run archives the 20 before it and nothing after it.
    const bad = path.join(dir, names[20]!);
    const good = fs.readFileSync(bad);
    fs.writeFileSync(bad, Buffer.alloc(good.length, 7));
    await assert.rejects(runArchive({ binlogDir: dir, store: base, keyUrl, source: 'db1' }), (err: unknown) => err instanceof ArchiverError && err.code === 'ENOTBINLOG');
    assert.deepEqual(names.map((_, i) => fs.existsSync(entryOf(i))), names.map((_, i) => i < 20));
    fs.writeFileSync(bad, good);
    // Again, with entry lookups that take 10 ms each: 20 skipped, 4 archived, in order.
    let running = 0;
    let most = 0;
    const heads = new Map<string, number>();
    const slowly = async <T>(key: string, work: () => Promise<T>): Promise<T> => {
      heads.set(key, (heads.get(key) ?? 0) + 1);
      running++;
      most = Math.max(most, running);
      try {
        await new Promise((resolve) => setTimeout(resolve, 10));
        return await work();
      } finally {
        running--;
      }
    };
    const store = new Proxy(base, {
      get(target, name) {
        if (name === 'head') return (key: string) => (key.startsWith('manifest/') ? slowly(key, () => target.head(key)) : target.head(key));
        const value: unknown = Reflect.get(target, name, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const summary = await runArchive({ binlogDir: dir, store, keyUrl, source: 'db1' });
    assert.deepEqual(summary.binlogs.map((b) => [b.binlog, b.status]), names.map((n, i) => [n, i < 20 ? 'skipped' : 'archived']));
    assert.ok(most > 1 && most <= 17, `${most} entry lookups at once`);
    // An entry found ahead is not looked up again; an absent one is, just before its binlog is archived.
    assert.deepEqual(names.map((n, i) => heads.get(manifestKey('db1', i + 1, n))), names.map((_, i) => (i < 20 ? 1 : 2)));
  });

  it('a lookup that fails ahead fails its own binlog, in order, logged with its correlation id', { timeout: 60_000 }, async () => {
    const { dir, names } = binlogDir(Array(6).fill(KINGBUS[0]!) as string[], 'mysql-bin');
    const work = tempDir();
    const storeDir = path.join(work, 'store');
    const store = openStore(`file://${storeDir}`);
    const keyUrl = newKeyUrl(work);
    assert.equal((await runArchive({ binlogDir: dir, store, keyUrl, source: 'db1' })).archived, 6);
    // The fifth entry is damaged; the sixth binlog's entry is removed (it would be archived again).
    fs.writeFileSync(path.join(storeDir, manifestKey('db1', 5, names[4]!)), '{"not": "an entry"}');
    fs.rmSync(path.join(storeDir, manifestKey('db1', 6, names[5]!)));
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ write: (line) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    await assert.rejects(runArchive({ binlogDir: dir, store, keyUrl, source: 'db1', logger }), (err: unknown) => err instanceof ArchiverError && err.code === 'EFORMAT');
    const failed = lines.filter((l) => l.level === 'error');
    assert.deepEqual(failed.map((l) => l.binlog), [names[4]], 'the fifth binlog failed, by name');
    assert.equal(typeof failed[0]!.correlationId, 'string');
    assert.equal(fs.existsSync(path.join(storeDir, manifestKey('db1', 6, names[5]!))), false, 'nothing after it was archived');
  });
});
