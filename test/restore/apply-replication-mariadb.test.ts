// test-resources: env-mariadb
/**
 * `--apply-mode replication` on real MariaDB: the target's own replica applies the restore from binlog-archiver
 * acting as its replication source. For time, GTID and position targets chosen at random moments of a random
 * workload, a fresh server must end with exactly the tables and the GTID position the source had at that
 * moment, the replica configuration removed and the server's settings put back.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { stopProcess } from '../../testenv/proc.ts';
import type { Launched } from '../../testenv/servers/mariadb.ts';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { runApply } from '../../src/restore/apply-run.ts';
import type { RestoreTarget } from '../../src/restore/target.ts';
import { openStore } from '../../src/store/open-store.ts';
import { newKeyUrl, tempDir } from '../support/archive.ts';
import { freshTarget as sharedTarget } from '../support/apply-target.ts';
import { type MysqlClient, mysqlClient } from '../support/mysql.ts';
import { REPO_ROOT, need, skipUnlessIn } from '../support/testenv.ts';
import type { ArchiverError } from '../../src/errors.ts';
import { type WatchedRun, startWatched } from '../support/watched-cli.ts';
import { WORKLOAD_SCHEMA, checksums, workloadRound } from '../support/workload.ts';

/** Rounds of 60 statements: enough transactions per moment for parallel apply to matter. */
const workloadRound60 = (client: MysqlClient, db: string, round: number): Promise<void> => workloadRound(client, db, round, 60);

interface Moment { until: string; gtid: string; file: string; position: number; sums: string }

describe('apply through the target\'s replication applier (real MariaDB)', { skip: skipUnlessIn('mysql') }, () => {
  let client: MysqlClient;
  let mysql: ReturnType<typeof need<'mysql'>>;
  const servers: Launched[] = [];
  before(() => {
    mysql = need('mysql');
    client = mysqlClient(mysql);
  });
  after(async () => {
    for (const s of servers) await stopProcess(s.proc.pid, s.proc.exe);
  });

  const freshTarget = (name: string, work: string): ReturnType<typeof sharedTarget> => sharedTarget(name, work, servers);

  it('reaches time, GTID and position targets exactly, and leaves no replica configuration behind', { timeout: 600_000 }, async () => {
    const db = `repl_${randomBytes(3).toString('hex')}`;
    await client.query('FLUSH BINARY LOGS');
    const base = (await client.query('SELECT @@gtid_binlog_pos')).trim();
    await client.query(WORKLOAD_SCHEMA(db));
    const moments: Moment[] = [];
    for (let round = 0; round < 4; round++) {
      await workloadRound60(client, db, round);
      if (round === 1) await client.query('FLUSH BINARY LOGS');
      const [file = '', position = ''] = (await client.query('SHOW MASTER STATUS')).trim().split('\t');
      moments.push({ until: new Date().toISOString(), gtid: (await client.query('SELECT @@gtid_binlog_pos')).trim(), file, position: Number(position), sums: await checksums((sql) => client.query(sql), db) });
      await sleep(1100);
    }
    await workloadRound60(client, db, 99);
    await client.query('FLUSH BINARY LOGS');
    const work = tempDir();
    const key = newKeyUrl(work);
    const store = openStore(`file://${path.join(work, 'store')}`);
    const source = `repl-${randomBytes(3).toString('hex')}`;
    await runArchive({ binlogDir: mysql.binlogDir, store, keyUrl: key, source });
    const pick = (): number => randomInt(moments.length);
    const cases: { name: string; moment: Moment; target: RestoreTarget }[] = [
      (() => { const m = moments[pick()]!; return { name: 'time', moment: m, target: { kind: 'time' as const, until: new Date(m.until) } }; })(),
      (() => { const m = moments[pick()]!; return { name: 'gtid', moment: m, target: { kind: 'gtid' as const, text: m.gtid } }; })(),
      (() => { const m = moments[pick()]!; return { name: 'position', moment: m, target: { kind: 'position' as const, file: m.file, position: m.position } }; })(),
    ];
    for (const c of cases) {
      const t = await freshTarget(`target-${c.name}`, work);
      const threadsBefore = (await t.server.sql('SELECT @@slave_parallel_threads')).trim();
      const summary = await runApply({ mode: 'replication', store, keyUrl: key, source, fromGtid: base, target: c.target,
        apply: { host: '127.0.0.1', port: t.port, userFile: t.userFile, passwordFile: t.passwordFile } });
      assert.equal(summary.appliedTo, `127.0.0.1:${t.port}`, c.name);
      assert.equal(await checksums((sql) => t.server.sql(sql), db), c.moment.sums, `${c.name}: ${summary.targetReached}`);
      assert.equal((await t.server.sql('SELECT @@gtid_binlog_pos')).trim(), c.moment.gtid, c.name);
      assert.equal(summary.executedGtids, c.moment.gtid, c.name);
      assert.equal(summary.recoveredGtidSet, c.moment.gtid, `${c.name}: recoveredGtidSet, as a file restore reports it`);
      assert.equal((await t.server.sql('SHOW ALL SLAVES STATUS')).trim(), '', `${c.name}: the replica connection must be removed`);
      assert.equal((await t.server.sql('SELECT @@slave_parallel_threads')).trim(), threadsBefore, c.name);
      assert.equal((await t.server.sql('SELECT @@gtid_slave_pos')).trim(), '', `${c.name}: gtid_slave_pos put back`);
      await stopProcess(t.server.proc.pid, t.server.proc.exe);
    }
  });

  it('from the command line: applies with no file written anywhere it runs, and refuses a target with the binlogs\' server id', { timeout: 300_000 }, async () => {
    const db = `replcli_${randomBytes(3).toString('hex')}`;
    await client.query('FLUSH BINARY LOGS');
    const base = (await client.query('SELECT @@gtid_binlog_pos')).trim();
    await client.query(WORKLOAD_SCHEMA(db));
    for (let round = 0; round < 6; round++) await workloadRound60(client, db, round);
    const expected = await checksums((sql) => client.query(sql), db);
    const gtid = (await client.query('SELECT @@gtid_binlog_pos')).trim();
    await client.query('FLUSH BINARY LOGS');
    const work = tempDir();
    const key = newKeyUrl(work);
    const storeUrl = `file://${path.join(work, 'store')}`;
    const source = `replcli-${randomBytes(3).toString('hex')}`;
    await runArchive({ binlogDir: mysql.binlogDir, store: openStore(storeUrl), keyUrl: key, source });
    // While it runs: whatever appears in its working and temporary directory is a file it wrote.
    const cli = (t: { port: number; userFile: string; passwordFile: string }, dir: string): Promise<WatchedRun> => startWatched(['restore', '--store', storeUrl, '--key', key, '--source', source, '--from-gtid', base,
      '--apply-mode', 'replication', '--apply-host', '127.0.0.1', '--apply-port', String(t.port), '--apply-user-file', t.userFile, '--apply-password-file', t.passwordFile, '--json', '-q'], dir, { marker: db }).done;
    const t = await freshTarget('target-cli', work);
    const runDir = tempDir('blarc-run-');
    const ok = await cli(t, runDir);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(ok.seen, [], 'the restore wrote files where it ran');
    const summary = JSON.parse(ok.stdout) as { applyMode: string; appliedTo: string; executedGtids: string };
    assert.equal(summary.applyMode, 'replication');
    assert.equal(summary.executedGtids, gtid);
    assert.equal(await checksums((sql) => t.server.sql(sql), db), expected);
    const password = fs.readFileSync(t.passwordFile, 'utf8').trim();
    assert.ok(!ok.stdout.includes(password) && !ok.stderr.includes(password), 'the password leaked into the output');
    await stopProcess(t.server.proc.pid, t.server.proc.exe);

    const same = await freshTarget('target-same-id', work);
    await same.server.sql('SET GLOBAL server_id = 1');
    const refused = await cli(same, tempDir('blarc-run-'));
    assert.equal(refused.code, 2, refused.stderr);
    assert.match((JSON.parse(refused.stdout) as { error: { message: string } }).error.message, /server_id 1 is the server id of the archived binlogs/);
    assert.equal((await same.server.sql(`SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '${db}'`)).trim(), '0', 'nothing was applied');
    assert.equal((await same.server.sql('SHOW ALL SLAVES STATUS')).trim(), '');
  });

  it('MySQL binlogs in replication mode: a MariaDB target is refused before anything changes, and auto chooses a session', { timeout: 120_000 }, async () => {
    const work = tempDir();
    const binlogDir = path.join(work, 'binlogs');
    fs.mkdirSync(binlogDir);
    const fixture = path.join(REPO_ROOT, 'test', 'fixtures', 'binlogs', 'mysql80', 'rust_mysql_common', 'binlog-invisible-columns.000001');
    fs.copyFileSync(fixture, path.join(binlogDir, 'binlog.000001'));
    fs.writeFileSync(path.join(binlogDir, 'binlog.000002'), '');
    const key = newKeyUrl(work);
    const store = openStore(`file://${path.join(work, 'store')}`);
    const source = `mysqlrepl-${randomBytes(3).toString('hex')}`;
    await runArchive({ binlogDir, store, keyUrl: key, source });
    const t = await freshTarget('target-mysql-binlogs', work);
    const apply = { host: '127.0.0.1', port: t.port, userFile: t.userFile, passwordFile: t.passwordFile };
    await assert.rejects(runApply({ mode: 'replication', store, keyUrl: key, source, apply, target: { kind: 'latest' } }), (err: ArchiverError) => {
      assert.equal(err.code, 'EUSAGE');
      assert.match(err.message, /replication of MySQL binlogs needs a MySQL target; .*MariaDB/);
      assert.equal(err.context.nothingApplied, true);
      return true;
    });
    assert.equal((await t.server.sql('SHOW ALL SLAVES STATUS')).trim(), '', 'no replica connection was made');
    // auto does not try MySQL's replication path (not proven against a MySQL server here): the session's own
    // refusal of this target is what it reports.
    await assert.rejects(runApply({ mode: 'auto', store, keyUrl: key, source, apply, target: { kind: 'latest' } }), /runs .*MariaDB.*, which cannot apply MySQL binlogs/);
    assert.equal((await t.server.sql('SHOW ALL SLAVES STATUS')).trim(), '');
  });
});
