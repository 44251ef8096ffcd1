import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { listBinlogFiles, parseBinlogIndex, parseBinlogName, parseSequence, readBinlogIndex } from '../../src/binlog/index.ts';
import { withTempDir } from './helpers.ts';

describe('binlog names', () => {
  test('parseSequence / parseBinlogName', () => {
    assert.equal(parseSequence('mysql-bin.000042'), 42);
    assert.equal(parseSequence('./binlog.000001'), 1);
    assert.equal(parseSequence('/var/lib/mysql/relay-bin.1234567'), 1234567, 'more than 6 digits after 999999');
    assert.deepEqual(parseBinlogName('/data/my.host-bin.000007'), { name: 'my.host-bin.000007', base: 'my.host-bin', sequence: 7 });
    assert.equal(parseSequence('mysql-bin.index'), null);
    assert.equal(parseSequence('mysql-bin.00042'), null, 'fewer than 6 digits');
    assert.equal(parseSequence('mysql-bin.000042.gz'), null);
    assert.equal(parseSequence('.000042'), null, 'no base');
  });
});

describe('index files', () => {
  test('relative and absolute entries, CRLF, blank lines, order kept', () => {
    const text = './binlog.000002\r\n./binlog.000003\n\n/var/log/mysql/binlog.000004\n';
    const entries = parseBinlogIndex(text, '/var/lib/mysql');
    assert.deepEqual(
      entries.map((e) => [e.name, e.sequence, e.path, e.indexed]),
      [
        ['binlog.000002', 2, '/var/lib/mysql/binlog.000002', './binlog.000002'],
        ['binlog.000003', 3, '/var/lib/mysql/binlog.000003', './binlog.000003'],
        ['binlog.000004', 4, '/var/log/mysql/binlog.000004', '/var/log/mysql/binlog.000004'],
      ],
    );
    assert.deepEqual(parseBinlogIndex('', '/x'), []);
  });

  test('rejects lines that are not binlog names, and duplicates', () => {
    assert.throws(() => parseBinlogIndex('./binlog.000001\nbinlog.index\n', '/d', 'binlog.index'), (err: unknown) => {
      assert.ok(err instanceof ArchiverError);
      assert.equal(err.code, 'EBADINPUT');
      assert.match(err.message, /binlog\.index line 2 \("binlog\.index"\)/);
      return true;
    });
    assert.throws(() => parseBinlogIndex('./b.000001\n./b.000001\n', '/d'), /lists \.\/b\.000001 twice \(line 2\)/);
  });

  test('readBinlogIndex resolves relative entries against the index directory or a given datadir', async () => {
    await withTempDir(async (dir) => {
      const index = join(dir, 'mysql-bin.index');
      await writeFile(index, './mysql-bin.000001\n./mysql-bin.000002\n');
      const entries = await readBinlogIndex(index);
      assert.deepEqual(entries.map((e) => e.path), [join(dir, 'mysql-bin.000001'), join(dir, 'mysql-bin.000002')]);
      const moved = await readBinlogIndex(index, '/var/lib/mysql');
      assert.equal(moved[0]?.path, '/var/lib/mysql/mysql-bin.000001');
    });
  });
});

describe('directory listing without an index', () => {
  test('sorted by sequence (not by name), other files and directories ignored, optional base filter', async () => {
    await withTempDir(async (dir) => {
      for (const n of ['binlog.000010', 'binlog.000009', 'binlog.1000000', 'binlog.index', 'relay-bin.000003', 'binlog.000011.tmp', 'ibdata1']) {
        await writeFile(join(dir, n), '');
      }
      await mkdir(join(dir, 'binlog.000012'));
      await symlink(join(dir, 'binlog.000009'), join(dir, 'binlog.000013'));
      const all = await listBinlogFiles(dir);
      assert.deepEqual(
        all.map((e) => e.name),
        ['binlog.000009', 'binlog.000010', 'binlog.000013', 'binlog.1000000', 'relay-bin.000003'],
      );
      const only = await listBinlogFiles(dir, 'relay-bin');
      assert.deepEqual(only.map((e) => [e.base, e.sequence, e.path]), [['relay-bin', 3, join(dir, 'relay-bin.000003')]]);
    });
  });
});
