// test-resources: env-mariadb:shared
/** The agent's small parsers: Go durations, --listen addresses, and finding the first write in a binlog. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDuration } from '../../src/agent/duration.ts';
import { firstWrite } from '../../src/agent/first-write.ts';
import { parseListen } from '../../src/agent/listen.ts';
import { ArchiverError } from '../../src/errors.ts';
import { buildBinlog, fixture, gtidBody } from '../binlog/helpers.ts';
import { readBinlogTransactions, type BinlogTransaction } from '../../src/binlog/index.ts';
import { tempDir } from '../support/archive.ts';
import { need } from '../support/testenv.ts';

const dir = tempDir('blarc-agent-units-');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('agent option parsing', () => {
  it('parses Go durations as the CRD validates them', () => {
    assert.equal(parseDuration('5m', '--x'), 300_000);
    assert.equal(parseDuration('1h30m', '--x'), 5_400_000);
    assert.equal(parseDuration('1.5s', '--x'), 1_500);
    assert.equal(parseDuration('250ms', '--x'), 250);
    assert.equal(parseDuration('2h0m10s', '--x'), 7_210_000);
    for (const bad of ['', '5', '-5m', '5 m', 'm', '1d', '5m ']) {
      assert.throws(() => parseDuration(bad, '--rotate-interval'), (e: unknown) => e instanceof ArchiverError && e.code === 'EUSAGE' && /is not a duration/.test(e.message), bad);
    }
    assert.throws(() => parseDuration('0s', '--rotate-interval'), /--rotate-interval "0s" must be greater than zero/);
  });

  it('parses --listen as [HOST]:PORT', () => {
    assert.deepEqual(parseListen(':9471'), { host: '', port: 9471 });
    assert.deepEqual(parseListen('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseListen('[::1]:9471'), { host: '::1', port: 9471 });
    for (const bad of ['9471', 'localhost', ':65536', '::1:9471', ':']) assert.throws(() => parseListen(bad), /is not \[HOST\]:PORT/, bad);
  });
});

describe('first write in the active binlog', () => {
  const UUID = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
  const write = (name: string, bytes: Buffer): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    return file;
  };

  it('a binlog of header events only is empty; the first transaction event gives the time', async () => {
    const header = [{ type: 35, body: Buffer.alloc(8), timestamp: 1_700_000_000 }];
    assert.deepEqual(await firstWrite(write('empty.000001', buildBinlog(header))), { kind: 'empty' });
    const written = buildBinlog([...header, { type: 33, body: gtidBody(UUID, 1, 1_700_000_123_000_000, 100), timestamp: 1_700_000_123 }, { type: 2, body: Buffer.alloc(30), timestamp: 1_700_000_124 }]);
    assert.deepEqual(await firstWrite(write('written.000001', written)), { kind: 'written', atMs: 1_700_000_123_000 });
    // A header still being written is not a write yet (the next scan looks again).
    assert.deepEqual(await firstWrite(write('cut.000001', written.subarray(0, buildBinlog(header).length + 10))), { kind: 'empty' });
  });

  it('encrypted binlogs are unknown, so the size is watched instead', async () => {
    assert.deepEqual(await firstWrite(fixture('encrypted/lightning/binlog.encrypted')), { kind: 'unknown' });
    const mariadbEncrypted = buildBinlog([{ type: 164, body: Buffer.alloc(17) }, { type: 2, body: Buffer.alloc(30) }]);
    assert.deepEqual(await firstWrite(write('enc.000001', mariadbEncrypted)), { kind: 'unknown' });
    assert.deepEqual(await firstWrite(write('junk.000001', Buffer.from('not a binlog at all'))), { kind: 'unknown' });
  });

  it('real MySQL 8 and MariaDB binlogs: written at the header time of their first transaction', async () => {
    const files = ['mysql80/rust_mysql_common/json.binlog.000001', 'mysql80/rust_mysql_common/time_issue.000001'].map(fixture);
    const mariadb = need('mysql').binlogDir;
    files.push(...fs.readdirSync(mariadb).filter((n) => /^mysql-bin\.\d+$/.test(n)).slice(0, 8).map((n) => path.join(mariadb, n)));
    let written = 0;
    for (const file of files) {
      let first: BinlogTransaction | undefined;
      for await (const trx of readBinlogTransactions(file)) {
        first = trx;
        break;
      }
      const found = await firstWrite(file);
      if (first === undefined) {
        assert.deepEqual(found, { kind: 'empty' }, file);
      } else {
        assert.deepEqual(found, { kind: 'written', atMs: first.timestamp * 1000 }, file);
        written += 1;
      }
    }
    assert.ok(written >= 3, `${written} of ${files.length} had transactions`);
  });
});
