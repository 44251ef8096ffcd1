// test-resources: env-mariadb
/**
 * A time target between a binlog's last transaction and its Rotate event (a quiet server rotated later, as the
 * agent's rotateInterval does): the plan takes the next binlog too, whose first transaction shows the target is
 * reached, and the replay ends with the first binlog. It used to fail with EVERIFY ("without reaching --until").
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, it } from 'node:test';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { runPlan } from '../../src/restore/plan-run.ts';
import { runRestore } from '../../src/restore/restore-run.ts';
import { openStore } from '../../src/store/open-store.ts';
import { newKeyUrl, tempDir } from '../support/archive.ts';
import { type MysqlClient, mysqlClient } from '../support/mysql.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';

describe('a time target between the last transaction of a binlog and its rotation (real MariaDB)', { skip: skipUnlessIn('mysql') }, () => {
  let client: MysqlClient;
  before(() => {
    client = mysqlClient(need('mysql'));
  });

  it('restores up to the end of that binlog, proven by the next one', { timeout: 60_000 }, async () => {
    const db = `rot_${randomBytes(3).toString('hex')}`;
    await client.query('FLUSH BINARY LOGS');
    const base = (await client.query('SELECT @@gtid_binlog_pos')).trim();
    await client.query(`CREATE DATABASE ${db}; CREATE TABLE ${db}.t (id INT PRIMARY KEY); INSERT INTO ${db}.t VALUES (1)`);
    const [quietFile = ''] = (await client.query('SHOW MASTER STATUS')).trim().split('\t');
    const atTarget = (await client.query('SELECT @@gtid_binlog_pos')).trim();
    await sleep(1100);
    const until = new Date();
    await sleep(1100);
    await client.query('FLUSH BINARY LOGS'); // the Rotate is stamped after the target
    await client.query(`INSERT INTO ${db}.t VALUES (2)`);
    await client.query('FLUSH BINARY LOGS');
    const work = tempDir();
    const key = newKeyUrl(work);
    const store = openStore(`file://${path.join(work, 'store')}`);
    const source = `rot-${randomBytes(3).toString('hex')}`;
    await runArchive({ binlogDir: need('mysql').binlogDir, store, keyUrl: key, source });
    const options = { store, keyUrl: key, source, fromGtid: base, target: { kind: 'time' as const, until } };
    const restored = await runRestore({ ...options, out: path.join(work, 'out') });
    assert.deepEqual(restored.replayCommand?.slice(1).filter((a) => !a.startsWith('--')), [quietFile]);
    assert.equal(restored.stopPosition, null, 'the whole quiet binlog is replayed');
    assert.equal(restored.recoveredGtidSet, atTarget);
    const plan = await runPlan(options);
    assert.deepEqual([plan.replayFiles, plan.stopPosition, plan.recoveredGtidSet], [[quietFile], null, atTarget]);
  });
});
