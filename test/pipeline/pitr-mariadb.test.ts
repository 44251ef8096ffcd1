// test-resources: env-mariadb
/**
 * Point-in-time proof on the real MariaDB of the test environment: record table checksums at several moments
 * of a random workload, archive, then for each moment restore with --until and replay the generated
 * replay.sh into a fresh MariaDB instance: the checksums must match exactly. Also a byte-identical round
 * trip of every binlog the server wrote.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { stopProcess } from '../../testenv/proc.ts';
import { launchMariadb, type Launched, type MariadbTools } from '../../testenv/servers/mariadb.ts';
import { ensureTools } from '../../testenv/tools.ts';
import { allocatePort } from '../../testenv/ports.ts';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { runRestore } from '../../src/restore/restore-run.ts';
import { openStore } from '../../src/store/open-store.ts';
import { newKeyUrl, sha256, tempDir } from '../support/archive.ts';
import { type MysqlClient, mysqlClient } from '../support/mysql.ts';
import { REPO_ROOT, need, skipUnlessIn } from '../support/testenv.ts';
import { WORKLOAD_SCHEMA, checksums, workloadRound } from '../support/workload.ts';

const run = promisify(execFile);

describe('point-in-time recovery on real MariaDB', { skip: skipUnlessIn('mysql') }, () => {
  let client: MysqlClient;
  let mysql: ReturnType<typeof need<'mysql'>>;
  const replicas: Launched[] = [];
  before(() => {
    mysql = need('mysql');
    client = mysqlClient(mysql);
  });
  after(async () => {
    for (const r of replicas) await stopProcess(r.proc.pid, r.proc.exe);
  });

  it('restores every recorded moment exactly, replayed into a fresh instance', { timeout: 300_000 }, async () => {
    const db = `pitr_${randomBytes(3).toString('hex')}`;
    await client.query('FLUSH BINARY LOGS');
    const base = (await client.query('SELECT @@gtid_binlog_pos')).trim();
    await client.query(WORKLOAD_SCHEMA(db));
    const moments: { until: string; gtid: string; sums: string }[] = [];
    for (let round = 0; round < 4; round++) {
      await workloadRound(client, db, round);
      if (round === 1) await client.query('FLUSH BINARY LOGS');
      moments.push({ until: new Date().toISOString(), gtid: (await client.query('SELECT @@gtid_binlog_pos')).trim(), sums: await checksums((sql) => client.query(sql), db) });
      // Binlog timestamps have one-second resolution: keep the next round's events in a later second.
      await sleep(1100);
    }
    await workloadRound(client, db, 99);
    await client.query('FLUSH BINARY LOGS');
    const work = tempDir();
    const key = newKeyUrl(work);
    const store = openStore(`file://${path.join(work, 'store')}`);
    const source = `mariadb-${randomBytes(3).toString('hex')}`;
    const archived = await runArchive({ binlogDir: mysql.binlogDir, store, keyUrl: key, source });
    assert.ok(archived.archived >= 3, `archived ${archived.archived}`);
    assert.deepEqual(archived.gaps, []);
    const distinct = new Set(moments.map((m) => m.sums));
    assert.equal(distinct.size, moments.length, 'the workload must change the tables between moments');
    // The base backup's own position as the target: nothing may be replayed (it used to apply one more transaction).
    const none = await runRestore({ store, keyUrl: key, out: path.join(work, 'restore-none'), source, fromGtid: base, target: { kind: 'gtid', text: base } });
    assert.equal(none.replayScript, null);
    const targets = moments.flatMap((moment, i) => [
      { name: `time-${i}`, sums: moment.sums, target: { kind: 'time' as const, until: new Date(moment.until) } },
      ...(i % 2 === 1 ? [{ name: `gtid-${i}`, sums: moment.sums, target: { kind: 'gtid' as const, text: moment.gtid } }] : []),
    ]);
    const osUser = os.userInfo().username;
    for (const [i, t] of targets.entries()) {
      const out = path.join(work, `restore-${t.name}`);
      const restored = await runRestore({ store, keyUrl: key, out, source, fromGtid: base, target: t.target });
      assert.ok(restored.replayScript !== null);
      const dir = tempDir('blarc-replica-');
      const replica = await launchMariadb({
        name: `replica-${t.name}`, dir, port: await allocatePort('replica'), binlog: false, serverId: 100 + i,
        tools: (await ensureTools(new Set(['mysql']))) as MariadbTools,
      });
      replicas.push(replica);
      await run(restored.replayScript, [], { env: { ...process.env, MYSQL_CLIENT: `mariadb --no-defaults --socket=${replica.socket} --user=${osUser}` }, maxBuffer: 64 * 1024 * 1024 });
      assert.equal(await checksums((sql) => replica.sql(sql), db), t.sums, `${t.name} (${restored.targetReached ?? ''})`);
      if (t.target.kind === 'gtid') assert.equal(restored.recoveredGtidSet, t.target.text);
      await stopProcess(replica.proc.pid, replica.proc.exe);
    }
  });

  it('applies a restore to a server in one session with credentials from files (restore --apply-*)', { timeout: 120_000 }, async () => {
    const db = `apply_${randomBytes(3).toString('hex')}`;
    await client.query('FLUSH BINARY LOGS');
    const base = (await client.query('SELECT @@gtid_binlog_pos')).trim();
    await client.query(WORKLOAD_SCHEMA(db));
    await workloadRound(client, db, 1);
    await workloadRound(client, db, 2);
    const expected = await checksums((sql) => client.query(sql), db);
    await client.query('FLUSH BINARY LOGS');
    const work = tempDir();
    const key = newKeyUrl(work);
    const storeUrl = `file://${path.join(work, 'store')}`;
    const source = `apply-${randomBytes(3).toString('hex')}`;
    await runArchive({ binlogDir: mysql.binlogDir, store: openStore(storeUrl), keyUrl: key, source });
    const replica = await launchMariadb({
      // A binlog, so that the restore can check the GTIDs the server executed (session-check.ts).
      name: 'apply-target', dir: tempDir('blarc-replica-'), port: await allocatePort('replica'), binlog: true, serverId: 200,
      tools: (await ensureTools(new Set(['mysql']))) as MariadbTools,
    });
    replicas.push(replica);
    const password = randomBytes(12).toString('hex');
    await replica.sql(`CREATE USER 'restorer'@'127.0.0.1' IDENTIFIED BY '${password}'; GRANT ALL PRIVILEGES ON *.* TO 'restorer'@'127.0.0.1'`);
    fs.writeFileSync(path.join(work, 'user'), 'restorer\n', { mode: 0o600 });
    fs.writeFileSync(path.join(work, 'password'), `${password}\n`, { mode: 0o600 });
    const port = Number((await replica.sql('SELECT @@port')).trim());
    const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'binlog-archiver.js'), 'restore', '--store', storeUrl, '--key', key, '--source', source,
      '--out', path.join(work, 'out'), '--from-gtid', base, '--apply-host', '127.0.0.1', '--apply-port', String(port),
      '--apply-user-file', path.join(work, 'user'), '--apply-password-file', path.join(work, 'password'), '--json', '-q'], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { appliedTo: string }).appliedTo, `127.0.0.1:${port}`);
    assert.ok(!result.stdout.includes(password) && !result.stderr.includes(password), 'the password leaked into the output');
    assert.equal(await checksums((sql) => replica.sql(sql), db), expected);
    await stopProcess(replica.proc.pid, replica.proc.exe);
  });

  it('round-trips every closed binlog the server wrote, byte-identical', async () => {
    await client.query('FLUSH BINARY LOGS');
    const work = tempDir();
    const key = newKeyUrl(work);
    const store = openStore(`file://${path.join(work, 'store')}`);
    const source = `mariadb-rt-${randomBytes(3).toString('hex')}`;
    const archived = await runArchive({ binlogDir: mysql.binlogDir, store, keyUrl: key, source });
    assert.ok(archived.archived >= 2);
    const out = path.join(work, 'out');
    const restored = await runRestore({ store, keyUrl: key, out, source, target: { kind: 'latest' } });
    assert.equal(restored.files.length, archived.archived);
    for (const f of restored.files) assert.equal(sha256(path.join(out, f.name)), sha256(path.join(mysql.binlogDir, f.name)), f.name);
    assert.ok(fs.existsSync(path.join(out, 'replay.sh')));
  });
});
