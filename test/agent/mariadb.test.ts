// test-resources: env-mariadb, cpu:shared
/**
 * The agent process against real MariaDB servers: the test environment's (classification agrees with SHOW BINARY
 * LOGS, a long-poll wakes on FLUSH BINARY LOGS, the RPO bound rotates after a write) and a scratch instance of
 * its own (PURGE BINARY LOGS, expire-logs read from the server, a least-privileged account, no rotation when idle).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stopProcess } from '../../testenv/proc.ts';
import { allocatePort } from '../../testenv/ports.ts';
import { launchMariadb, type Launched, type MariadbTools } from '../../testenv/servers/mariadb.ts';
import { ensureTools } from '../../testenv/tools.ts';
import type { AgentState } from '../../src/agent/contract.ts';
import { type MysqlClient, mysqlClient } from '../support/mysql.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';
import { agentTempDir, getState, startAgentProcess, stopAll, waitForState } from './helpers.ts';

after(stopAll);

interface LogFile { name: string; size: number }

function parseBinaryLogs(rows: string): LogFile[] {
  return rows.trim().split('\n').filter((l) => l !== '').map((l) => {
    const [name, size] = l.split('\t');
    return { name: name as string, size: Number(size) };
  });
}

/** The agent's view and SHOW BINARY LOGS agree: same names in order, all but the last closed, closed sizes equal. */
function agrees(state: AgentState, logs: LogFile[]): boolean {
  if (state.binlogs.length !== logs.length || state.active !== logs.at(-1)?.name) return false;
  return state.binlogs.every((b, i) => b.name === logs[i]?.name && b.closed === (i < logs.length - 1) && (!b.closed || b.size === logs[i]?.size));
}

describe('agent on the test environment\'s MariaDB', { skip: skipUnlessIn('mysql') }, () => {
  let mysql: ReturnType<typeof need<'mysql'>>;
  let client: MysqlClient;
  let credentials: string[];
  const db = `agent_${randomBytes(3).toString('hex')}`;
  before(async () => {
    mysql = need('mysql');
    client = mysqlClient(mysql);
    const dir = agentTempDir('blarc-agent-creds-');
    const userFile = path.join(dir, 'username');
    fs.writeFileSync(userFile, `${mysql.user}\n`, { mode: 0o600 });
    credentials = ['--mysql-host', mysql.host, '--mysql-port', String(mysql.port), '--mysql-user-file', userFile, '--mysql-password-file', mysql.passwordFile];
    await client.query(`CREATE DATABASE ${db}; CREATE TABLE ${db}.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))`);
  });
  after(async () => {
    await client.query(`DROP DATABASE IF EXISTS ${db}`);
  });

  it('classifies closed and active binlogs exactly as SHOW BINARY LOGS lists them', async () => {
    const agent = await startAgentProcess(['--binlog-dir', mysql.binlogDir]);
    // Other test files may rotate this server meanwhile: agree on a moment when SHOW BINARY LOGS is stable.
    const deadline = Date.now() + 20_000;
    let matched = false;
    let last = '';
    while (!matched && Date.now() < deadline) {
      const before = parseBinaryLogs(await client.query('SHOW BINARY LOGS'));
      const state = await getState(agent.url);
      const afterwards = parseBinaryLogs(await client.query('SHOW BINARY LOGS'));
      matched = JSON.stringify(before.map((l) => l.name)) === JSON.stringify(afterwards.map((l) => l.name)) && agrees(state, before);
      last = `server: ${JSON.stringify(before.slice(-3))}, agent: ${JSON.stringify(state.binlogs.slice(-3))}`;
      if (!matched) await new Promise((r) => setTimeout(r, 300));
    }
    assert.ok(matched, `the agent never agreed with SHOW BINARY LOGS; last: ${last}`);
    assert.equal(await agent.stop(), 0);
  });

  it('wakes a long-poll on FLUSH BINARY LOGS and reports the new active binlog', async () => {
    const agent = await startAgentProcess(['--binlog-dir', mysql.binlogDir]);
    const s0 = await getState(agent.url);
    const poll = getState(agent.url, `?after=${s0.generation}&waitSeconds=30`);
    const t = Date.now();
    await client.query('FLUSH BINARY LOGS');
    const woke = await poll;
    const elapsed = Date.now() - t;
    assert.ok(elapsed < 5_000, `woke after ${elapsed} ms`);
    assert.ok(woke.generation > s0.generation);
    const logs = parseBinaryLogs(await client.query('SHOW BINARY LOGS'));
    const now = await waitForState(agent.url, (s) => s.active === logs.at(-1)?.name);
    assert.equal(now.binlogs.find((b) => b.name === s0.active)?.closed, true, `${String(s0.active)} is closed after the flush`);
    assert.equal(await agent.stop(), 0);
  });

  it('reads binlog_expire_logs_seconds from the server when not given', async () => {
    const expected = Number((await client.query('SELECT @@global.binlog_expire_logs_seconds')).trim());
    const agent = await startAgentProcess(['--binlog-dir', mysql.binlogDir, ...credentials]);
    const s = await waitForState(agent.url, (x) => x.expireLogsSeconds !== null);
    assert.equal(s.expireLogsSeconds, expected);
    // --expire-logs-seconds wins over the server.
    const fixed = await startAgentProcess(['--binlog-dir', mysql.binlogDir, '--expire-logs-seconds', '86400', ...credentials]);
    assert.equal((await getState(fixed.url)).expireLogsSeconds, 86400);
    assert.equal(await agent.stop(), 0);
    assert.equal(await fixed.stop(), 0);
    assert.ok(!agent.stderr().includes(fs.readFileSync(mysql.passwordFile, 'utf8').trim()), 'the password is never logged');
  });

  it('rotates the binlog once a write is older than --rotate-interval, and the state follows', async () => {
    const agent = await startAgentProcess(['--binlog-dir', mysql.binlogDir, '--rotate-interval', '3s', ...credentials]);
    const before = parseBinaryLogs(await client.query('SHOW BINARY LOGS'));
    const s0 = await getState(agent.url);
    const written = Date.now();
    await client.query(`INSERT INTO ${db}.t (v) VALUES ('rpo')`);
    const activeAtWrite = parseBinaryLogs(await client.query('SHOW BINARY LOGS')).at(-1)?.name;
    const rotated = await agent.waitForLog((l) => l.msg === 'Rotated binlog' && l.binlog === activeAtWrite, 20_000);
    // Event times have one-second resolution, so the rotation comes at least two seconds after the write.
    const at = Date.parse(String(rotated.time));
    assert.ok(at - written >= 2_000 && at - written < 15_000, `rotated ${at - written} ms after the write`);
    const afterLogs = parseBinaryLogs(await client.query('SHOW BINARY LOGS'));
    assert.ok(afterLogs.length > before.length, `SHOW BINARY LOGS grew from ${before.length} to ${afterLogs.length}`);
    const s1 = await waitForState(agent.url, (s) => s.binlogs.find((b) => b.name === activeAtWrite)?.closed === true);
    assert.ok(s1.generation > s0.generation);
    assert.equal(await agent.stop(), 0);
  });
});

describe('agent on a scratch MariaDB', { skip: skipUnlessIn('mysql') }, () => {
  let server: Launched;
  let port: number;
  let creds: string[];
  const password = randomBytes(12).toString('hex');
  before(async () => {
    const dir = agentTempDir('blarc-agent-mariadb-');
    port = await allocatePort('agent-scratch');
    server = await launchMariadb({
      name: 'agent-scratch', dir, port, binlog: true, serverId: 71,
      tools: (await ensureTools(new Set(['mysql']))) as MariadbTools,
    });
    // The least the agent needs: RELOAD for FLUSH BINARY LOGS; reading global variables needs no privilege.
    await server.sql(`CREATE USER 'agent'@'127.0.0.1' IDENTIFIED BY '${password}'; GRANT RELOAD ON *.* TO 'agent'@'127.0.0.1';
      SET GLOBAL binlog_expire_logs_seconds = 604800; CREATE DATABASE s; CREATE TABLE s.t (id INT AUTO_INCREMENT PRIMARY KEY)`);
    const credDir = agentTempDir('blarc-agent-creds-');
    fs.writeFileSync(path.join(credDir, 'username'), 'agent', { mode: 0o600 });
    // As a Secret made with `kubectl create secret --from-file` often has it: a trailing newline.
    fs.writeFileSync(path.join(credDir, 'password'), `${password}\n`, { mode: 0o600 });
    creds = ['--mysql-port', String(port), '--mysql-user-file', path.join(credDir, 'username'), '--mysql-password-file', path.join(credDir, 'password')];
  });
  after(async () => {
    if (server !== undefined) await stopProcess(server.proc.pid, server.proc.exe);
  });

  it('reads expire-logs from the server, never rotates an idle server, rotates after a write with only RELOAD', async () => {
    for (let i = 0; i < 3; i++) await server.sql('INSERT INTO s.t VALUES (); FLUSH BINARY LOGS');
    const agent = await startAgentProcess(['--binlog-dir', server.binlogDir, '--rotate-interval', '2s', ...creds]);
    const s0 = await waitForState(agent.url, (s) => s.expireLogsSeconds !== null);
    assert.equal(s0.expireLogsSeconds, 604800);
    const count = parseBinaryLogs(await server.sql('SHOW BINARY LOGS')).length;
    await new Promise((r) => setTimeout(r, 4_500));
    assert.equal(parseBinaryLogs(await server.sql('SHOW BINARY LOGS')).length, count, 'an idle server is not rotated');
    assert.ok(!agent.logs.some((l) => l.msg === 'Rotated binlog'));
    assert.equal((await getState(agent.url)).generation, s0.generation);
    await server.sql('INSERT INTO s.t VALUES ()');
    await agent.waitForLog((l) => l.msg === 'Rotated binlog', 15_000);
    const logs = parseBinaryLogs(await server.sql('SHOW BINARY LOGS'));
    assert.equal(logs.length, count + 1);
    const s1 = await waitForState(agent.url, (s) => agrees(s, logs));
    assert.ok(s1.generation > s0.generation);
    assert.ok(!agent.logs.some((l) => l.msg === 'FLUSH BINARY LOGS failed; will retry'), agent.stderr());
    assert.equal(await agent.stop(), 0);
  });

  it('reflects PURGE BINARY LOGS: the purged files leave the state and the generation moves', async () => {
    for (let i = 0; i < 2; i++) await server.sql('INSERT INTO s.t VALUES (); FLUSH BINARY LOGS');
    const agent = await startAgentProcess(['--binlog-dir', server.binlogDir]);
    const logs = parseBinaryLogs(await server.sql('SHOW BINARY LOGS'));
    assert.ok(logs.length >= 4);
    const s0 = await waitForState(agent.url, (s) => agrees(s, logs));
    const keepFrom = logs.at(-2)?.name as string;
    const poll = getState(agent.url, `?after=${s0.generation}&waitSeconds=30`);
    await server.sql(`PURGE BINARY LOGS TO '${keepFrom}'`);
    const woke = await poll;
    assert.ok(woke.generation > s0.generation);
    const remaining = parseBinaryLogs(await server.sql('SHOW BINARY LOGS'));
    assert.deepEqual(remaining.map((l) => l.name), logs.slice(-2).map((l) => l.name));
    const s1 = await waitForState(agent.url, (s) => agrees(s, remaining));
    assert.deepEqual(s1.binlogs.map((b) => [b.name, b.closed]), [[keepFrom, true], [logs.at(-1)?.name, false]]);
    assert.equal(s1.total, 2);
    assert.equal(await agent.stop(), 0);
  });
});
