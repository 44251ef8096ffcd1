// test-resources: cpu:shared
/**
 * The agent process against temporary binlog directories: the HTTP contract the controller relies on
 * (classification, generations, long-poll, bounds, bad requests), graceful SIGTERM and startup errors.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { AgentState } from '../../src/agent/contract.ts';
import { startAgent } from '../../src/agent/index.ts';
import { buildAgentSidecar } from '../../src/specs/agent-sidecar.ts';
import { IMAGE, policy } from '../specs/fixtures.ts';
import { createLogger } from '../../src/logger.ts';
import { agentTempDir, binlogName, fakeBinlogDir, get, getState, runAgentExpectingExit, startAgentProcess, stopAll, waitForState, writeIndex } from './helpers.ts';

after(stopAll);

function closedNames(s: AgentState): string[] {
  return s.binlogs.filter((b) => b.closed).map((b) => b.name);
}

describe('agent: state of a binlog directory', () => {
  it('classifies every indexed binlog but the last as closed, with real sizes and mtimes', async () => {
    const dir = agentTempDir('blarc-agent-');
    const names = fakeBinlogDir(dir, 4);
    // A relay log series beside them is not this server's binlogs.
    fs.writeFileSync(path.join(dir, 'relay-bin.000001'), 'x');
    const agent = await startAgentProcess(['--binlog-dir', dir, '--expire-logs-seconds', '604800']);
    const s = await getState(agent.url);
    assert.equal(s.generation, 1);
    assert.equal(s.binlogDir, dir);
    assert.equal(s.active, names[3]);
    assert.equal(s.expireLogsSeconds, 604800);
    assert.equal(s.truncated, false);
    assert.equal(s.total, 4);
    assert.ok(Math.abs(Date.parse(s.now) - Date.now()) < 5_000);
    assert.deepEqual(s.binlogs, names.map((name, i) => ({
      name, sequence: i + 1, size: 100 + i, mtime: fs.statSync(path.join(dir, name)).mtime.toISOString(), closed: i < 3,
    })));
    assert.equal(await agent.stop(), 0);
  });

  it('without an index, the newest binlog by sequence is the active one; an empty directory has none', async () => {
    const dir = agentTempDir('blarc-agent-');
    const agent = await startAgentProcess(['--binlog-dir', dir]);
    const empty = await getState(agent.url);
    assert.deepEqual([empty.active, empty.binlogs, empty.expireLogsSeconds, empty.total], [null, [], null, 0]);
    fs.writeFileSync(path.join(dir, binlogName('binlog', 9)), 'a');
    fs.writeFileSync(path.join(dir, binlogName('binlog', 10)), 'bb');
    const s = await waitForState(agent.url, (x) => x.binlogs.length === 2);
    assert.equal(s.active, 'binlog.000010');
    assert.deepEqual(s.binlogs.map((b) => [b.name, b.sequence, b.size, b.closed]), [['binlog.000009', 9, 1, true], ['binlog.000010', 10, 2, false]]);
    assert.equal(await agent.stop(), 0);
  });

  it('long-poll wakes on a rotation, not on writes to the active binlog; purge and closed-size changes count', async () => {
    const dir = agentTempDir('blarc-agent-');
    const names = fakeBinlogDir(dir, 2);
    const agent = await startAgentProcess(['--binlog-dir', dir]);
    const g1 = (await getState(agent.url)).generation;

    // Answers at once when the caller is behind, or ahead (a restarted agent counts from 1 again).
    let t = Date.now();
    assert.equal((await getState(agent.url, `?after=${g1 - 1}&waitSeconds=30`)).generation, g1);
    assert.equal((await getState(agent.url, `?after=${g1 + 50}&waitSeconds=30`)).generation, g1);
    assert.ok(Date.now() - t < 2_000, `answered in ${Date.now() - t} ms`);

    // The active binlog growing is not a change: the poll runs its full wait and returns the same generation.
    fs.appendFileSync(path.join(dir, names[1] as string), Buffer.alloc(5000));
    t = Date.now();
    const same = await getState(agent.url, `?after=${g1}&waitSeconds=2`);
    assert.equal(same.generation, g1);
    assert.ok(Date.now() - t >= 1_900, `returned after ${Date.now() - t} ms`);
    assert.equal(same.binlogs.find((b) => b.name === names[1])?.size, 101 + 5000, 'the answer still shows the current size');

    // Rotation: a new binlog appears and the index names it.
    const poll = getState(agent.url, `?after=${g1}&waitSeconds=30`);
    await new Promise((r) => setTimeout(r, 300));
    t = Date.now();
    const third = binlogName('mysql-bin', 3);
    fs.writeFileSync(path.join(dir, third), 'new');
    writeIndex(dir, [...names, third]);
    const rotated = await poll;
    assert.ok(Date.now() - t < 5_000, `long-poll woke after ${Date.now() - t} ms`);
    const settled = await waitForState(agent.url, (s) => s.active === third);
    assert.ok(settled.generation > g1);
    assert.ok(rotated.generation > g1);
    assert.deepEqual(closedNames(settled), names);

    // A closed binlog changing size is a change.
    const g2 = settled.generation;
    const poll2 = getState(agent.url, `?after=${g2}&waitSeconds=30`);
    fs.appendFileSync(path.join(dir, names[0] as string), 'tail');
    const grown = await poll2;
    assert.ok(grown.generation > g2);
    assert.equal(grown.binlogs.find((b) => b.name === names[0])?.size, 104);

    // Purge: the file goes and the index no longer names it.
    const g3 = (await waitForState(agent.url, (s) => s.binlogs.find((b) => b.name === names[0])?.size === 104)).generation;
    const poll3 = getState(agent.url, `?after=${g3}&waitSeconds=30`);
    writeIndex(dir, [names[1] as string, third]);
    fs.rmSync(path.join(dir, names[0] as string));
    await poll3;
    const purged = await waitForState(agent.url, (s) => s.total === 2);
    assert.ok(purged.generation > g3);
    assert.deepEqual(purged.binlogs.map((b) => [b.name, b.closed]), [[names[1], true], [third, false]]);
    assert.equal(await agent.stop(), 0);
  });

  it('reports only the newest binlogs of a huge directory, flagged truncated', async () => {
    const dir = agentTempDir('blarc-agent-');
    fakeBinlogDir(dir, 1005, { index: false });
    const agent = await startAgentProcess(['--binlog-dir', dir]);
    const s = await getState(agent.url);
    assert.deepEqual([s.truncated, s.total, s.binlogs.length, s.binlogs[0]?.sequence, s.active], [true, 1005, 1000, 6, 'mysql-bin.001005']);
    assert.equal(await agent.stop(), 0);
  });

  it('finds changes by the periodic rescan alone, without fs.watch', async () => {
    const dir = agentTempDir('blarc-agent-');
    fakeBinlogDir(dir, 1);
    const agent = await startAgent({ binlogDir: dir, host: '127.0.0.1', port: 0, watch: false, rescanIntervalMs: 300, logger: createLogger({ write: () => undefined }) });
    try {
      const g = (await getState(agent.url)).generation;
      const t = Date.now();
      fs.writeFileSync(path.join(dir, 'mysql-bin.000002'), 'x');
      writeIndex(dir, ['mysql-bin.000001', 'mysql-bin.000002']);
      const s = await getState(agent.url, `?after=${g}&waitSeconds=10`);
      assert.equal(s.active, 'mysql-bin.000002');
      assert.ok(Date.now() - t < 2_000, `seen after ${Date.now() - t} ms`);
    } finally {
      await agent.stop();
    }
  });
});

describe('agent: HTTP contract', () => {
  it('answers probes, refuses bad requests with 400 JSON errors, unknown paths 404, other methods 405', async () => {
    const dir = agentTempDir('blarc-agent-');
    fakeBinlogDir(dir, 1);
    const agent = await startAgentProcess(['--binlog-dir', dir]);
    assert.deepEqual(await get(`${agent.url}/healthz`).then((r) => [r.status, r.body]), [200, 'ok']);
    assert.deepEqual(await get(`${agent.url}/readyz`).then((r) => [r.status, r.body]), [200, 'ok']);
    const bad: [string, RegExp][] = [
      ['?after=-1', /after must be an integer from 0/],
      ['?after=abc', /after must be an integer from 0/],
      ['?after=1.5', /after must be an integer/],
      ['?waitSeconds=61', /waitSeconds must be an integer from 0 to 60, got "61"/],
      ['?waitSeconds=', /waitSeconds must be an integer/],
      ['?after=1&after=2', /query parameter after given twice/],
      ['?wait=5', /unknown query parameter "wait" \(allowed: after, waitSeconds\)/],
    ];
    for (const [query, message] of bad) {
      const r = await get(`${agent.url}/v1/state${query}`);
      assert.equal(r.status, 400, query);
      assert.equal(r.headers['content-type'], 'application/json');
      const body = JSON.parse(r.body) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'EBADREQUEST');
      assert.match(body.error.message, message, query);
    }
    const missing = await get(`${agent.url}/v2/state`);
    assert.equal(missing.status, 404);
    assert.equal((JSON.parse(missing.body) as { error: { code: string } }).error.code, 'ENOTFOUND');
    const post = await fetch(`${agent.url}/v1/state`, { method: 'POST' });
    assert.deepEqual([post.status, post.headers.get('allow')], [405, 'GET']);
    await post.body?.cancel();
    assert.equal(await agent.stop(), 0);
  });

  it('holds at most 64 long-polls, refuses the next with 429, frees a slot when a client leaves, answers all on SIGTERM', async () => {
    const dir = agentTempDir('blarc-agent-');
    fakeBinlogDir(dir, 1);
    const agent = await startAgentProcess(['--binlog-dir', dir]);
    const g = (await getState(agent.url)).generation;
    const aborts = Array.from({ length: 64 }, () => new AbortController());
    const waiting = aborts.map((a) => get(`${agent.url}/v1/state?after=${g}&waitSeconds=60`, { signal: a.signal }).catch((err: Error) => err));
    // Give the server time to accept all 64 before the 65th; on a machine so loaded that a second is not enough,
    // ask again until one more is refused (an extra one accepted meanwhile holds a slot for 1 s only).
    await new Promise((r) => setTimeout(r, 1_000));
    const extra = `${agent.url}/v1/state?after=${g}&waitSeconds=1`;
    let refused = await get(extra);
    for (let i = 0; refused.status !== 429 && i < 30; i++) refused = await get(extra);
    assert.equal(refused.status, 429, refused.body);
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal((JSON.parse(refused.body) as { error: { code: string } }).error.code, 'ETOOMANYWAITERS');
    // A plain (non-waiting) request is still served.
    assert.equal((await getState(agent.url)).generation, g);
    aborts[0]?.abort();
    // Its slot is free once the server has seen the client leave: a replacement refused before that asks again.
    let replacement = get(`${agent.url}/v1/state?after=${g}&waitSeconds=60`);
    for (let i = 0; i < 50; i++) {
      const early = await Promise.race([replacement, new Promise<null>((r) => setTimeout(() => r(null), 300))]);
      if (early?.status !== 429) break; // held (still waiting), or answered otherwise: the assertions below say
      replacement = get(`${agent.url}/v1/state?after=${g}&waitSeconds=60`);
    }
    const t = Date.now();
    assert.equal(await agent.stop(), 0);
    assert.ok(Date.now() - t < 6_000, `stopped in ${Date.now() - t} ms`);
    const answers = await Promise.all([...waiting.slice(1), replacement]);
    for (const a of answers) {
      if (a instanceof Error) throw a;
      assert.equal(a.status, 200);
      assert.equal((JSON.parse(a.body) as AgentState).generation, g);
    }
    assert.ok(agent.logs.some((l) => l.msg === 'Agent stopped'));
    for (const line of agent.stderr().trim().split('\n')) assert.doesNotThrow(() => JSON.parse(line), `not a JSON log line: ${line}`);
  });
});

describe('agent: as the operator deploys it', () => {
  it('runs with exactly the arguments buildAgentSidecar gives the MySQL pod (paths mapped to temp files)', async () => {
    const dir = agentTempDir('blarc-agent-');
    fakeBinlogDir(dir, 3);
    const creds = agentTempDir('blarc-agent-creds-');
    fs.writeFileSync(path.join(creds, 'username'), 'agent\n');
    fs.writeFileSync(path.join(creds, 'password'), 'not-used\n');
    const { container } = buildAgentSidecar(policy({
      rpo: { rotateInterval: '5m', credentialsSecret: { name: 'mysql-agent' } }, purgeRisk: { expireLogsSeconds: 604800 },
    }).spec, { image: IMAGE });
    const args = (container.args ?? []).map((a) => a
      .replace(/^\/binlogs\/binlog$/, dir)
      .replace(/^\/var\/run\/binlog-archiver\/mysql\//, `${creds}/`)
      .replace(/^:9471$/, '127.0.0.1:0'));
    assert.equal(args[0], 'agent');
    assert.ok(args.includes(dir) && args.includes(`${creds}/password`), JSON.stringify(args));
    const agent = await startAgentProcess(args.slice(1));
    const s = await getState(agent.url);
    assert.deepEqual([s.active, closedNames(s), s.expireLogsSeconds], ['mysql-bin.000003', ['mysql-bin.000001', 'mysql-bin.000002'], 604800]);
    const started = agent.logs.find((l) => l.msg === 'Agent started');
    assert.deepEqual([started?.rotateIntervalSeconds, started?.mysql], [300, '127.0.0.1:3306']);
    assert.equal(await agent.stop(), 0);
  });
});

describe('agent: startup errors', () => {
  it('exits non-zero with a precise message for a missing directory, bad options, unreadable credentials, a port in use', async () => {
    const dir = agentTempDir('blarc-agent-');
    const missing = await runAgentExpectingExit(['--binlog-dir', path.join(dir, 'nope')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /error EBADINPUT: binlog directory .*nope cannot be read: ENOENT/);

    const badDuration = await runAgentExpectingExit(['--binlog-dir', dir, '--rotate-interval', '5 minutes']);
    assert.equal(badDuration.code, 2);
    assert.match(badDuration.stderr, /error EUSAGE: --rotate-interval "5 minutes" is not a duration/);

    const noCreds = await runAgentExpectingExit(['--binlog-dir', dir, '--rotate-interval', '5m']);
    assert.equal(noCreds.code, 2);
    assert.match(noCreds.stderr, /--rotate-interval needs --mysql-user-file and --mysql-password-file/);

    const user = path.join(dir, 'username');
    fs.writeFileSync(user, 'agent\n');
    const unreadable = await runAgentExpectingExit(['--binlog-dir', dir, '--rotate-interval', '5m', '--mysql-user-file', user,
      '--mysql-password-file', path.join(dir, 'no-password')]);
    assert.equal(unreadable.code, 1);
    assert.match(unreadable.stderr, /error EBADINPUT: cannot read the MySQL password file .*no-password: ENOENT/);

    const badListen = await runAgentExpectingExit(['--binlog-dir', dir, '--listen', 'localhost']);
    assert.equal(badListen.code, 2);
    assert.match(badListen.stderr, /--listen "localhost" is not \[HOST\]:PORT/);

    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const inUse = await runAgentExpectingExit(['--binlog-dir', dir, '--listen', `127.0.0.1:${port}`]);
      assert.equal(inUse.code, 1);
      assert.match(inUse.stderr, new RegExp(`error EBADINPUT: cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`));
    } finally {
      busy.close();
    }
  });
});
