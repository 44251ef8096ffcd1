// test-resources: env-mariadb
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type MysqlClient, mysqlClient } from '../support/mysql.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';

const run = promisify(execFile);

describe('MariaDB (private instance with binary logging)', { skip: skipUnlessIn('mysql') }, () => {
  let mysql: ReturnType<typeof need<'mysql'>>;
  let client: MysqlClient;
  before(() => {
    mysql = need('mysql');
    client = mysqlClient(mysql);
  });

  it('runs with ROW binlogs, GTID strict mode and log_slave_updates', async () => {
    const vars = Object.fromEntries((await client.query(
      "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin','binlog_format','log_slave_updates','gtid_strict_mode','max_binlog_size')",
    )).trim().split('\n').map((line) => line.split('\t') as [string, string]));
    assert.deepEqual(vars, { binlog_format: 'ROW', gtid_strict_mode: 'ON', log_bin: 'ON', log_slave_updates: 'ON', max_binlog_size: '1048576' });
  });

  it('writes that rotate at least two binlogs, which mariadb-binlog reads back with their GTIDs', async () => {
    const before = (await client.query('SHOW BINARY LOGS')).trim().split('\n').map((l) => l.split('\t')[0]);
    await client.query('CREATE DATABASE IF NOT EXISTS smoke; CREATE TABLE IF NOT EXISTS smoke.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(2000))');
    // ~2.5 MiB of row events: max_binlog_size is 1 MiB, so the server rotates at least twice.
    for (let i = 0; i < 10; i++) {
      await client.query(`INSERT INTO smoke.t (v) SELECT REPEAT(MD5(RAND()), 60) FROM smoke.seq_1_to_128`);
    }
    const after = (await client.query('SHOW BINARY LOGS')).trim().split('\n').map((l) => l.split('\t')[0] ?? '');
    const rotated = after.filter((name) => !before.includes(name));
    assert.ok(rotated.length >= 2, `expected at least two new binlogs, got ${rotated.join(', ')}`);
    const closed = after.slice(0, -1).filter((name) => rotated.includes(name));
    assert.ok(closed.length >= 1);
    const gtidPos = (await client.query('SELECT @@gtid_binlog_pos')).trim();
    assert.match(gtidPos, /^0-1-\d+$/);
    const file = path.join(mysql.binlogDir, closed[0] ?? '');
    assert.ok(fs.statSync(file).size > 512 * 1024);
    const { stdout } = await run('mariadb-binlog', ['--no-defaults', file], { maxBuffer: 512 * 1024 * 1024 });
    assert.match(stdout, /GTID 0-1-\d+/);
    assert.match(stdout, /Rotate to mysql-bin\.\d{6}/);
    assert.match(stdout, /Table_map: `smoke`.`t`/);
  });
});
