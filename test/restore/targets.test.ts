/**
 * Restore never goes past its target, and proves from the restored bytes that it reached it: the target is checked
 * before every transaction (the first one included) for GTID, time and position targets; positions must be
 * transaction boundaries; a manifest that disagrees with the bytes fails the restore instead of stopping short.
 * Expected offsets come from reading the fixture binlogs directly, not from the restore code.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { readBinlogTransactions } from '../../src/binlog/index.ts';
import { KINGBUS, binlogDir, newKeyUrl, tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';

const U = '214eb71f-96ec-11e8-ab4f-fa163e72d4ae';

interface Summary {
  files: { name: string }[];
  replayScript: string | null;
  replayCommand: string[] | null;
  startPosition: number | null;
  stopPosition: number | null;
  targetReached: string | null;
  recoveredUntil: string | null;
  recoveredGtidSet: string | null;
}

/** Offset where transaction `gno` of the kingbus fixtures starts, and the file (renamed as binlogDir names it). */
async function transactionStart(gno: number): Promise<{ file: string; start: number; end: number }> {
  for (const [i, file] of KINGBUS.entries()) {
    for await (const t of readBinlogTransactions(file)) {
      if (t.gtid === `${U}:${gno}`) return { file: `mysql-bin.${String(i + 1).padStart(6, '0')}`, start: t.startPosition, end: t.endPosition };
    }
  }
  throw new Error(`no transaction ${gno}`);
}

describe('restore targets: never past the target, reached in the bytes', () => {
  let store = '';
  let key = '';
  let work = '';
  before(async () => {
    const { dir } = binlogDir(KINGBUS, 'mysql-bin');
    work = tempDir();
    key = newKeyUrl(work);
    store = `file://${path.join(work, 'store')}`;
    const archived = await runCli(['archive', '--binlog-dir', dir, '--store', store, '--key', key, '-q']);
    assert.equal(archived.code, 0, archived.stderr);
  });

  const restore = async (args: string[]): Promise<{ code: number; stderr: string; summary: Summary | null; out: string }> => {
    const out = tempDir('blarc-out-');
    const r = await runCli(['restore', '--store', store, '--key', key, '--out', out, '--json', '-q', ...args]);
    return { code: r.code, stderr: r.stderr, summary: r.code === 0 ? (JSON.parse(r.stdout) as Summary) : null, out };
  };

  it('a GTID target the start point already holds replays nothing (it used to apply the next transaction)', async () => {
    const r = await restore(['--from-gtid', `${U}:1-11800`, '--until-gtid', `${U}:1-11800`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.summary?.replayCommand, null);
    assert.match(r.summary?.targetReached ?? '', /already holds/);
    assert.equal(fs.existsSync(path.join(r.out, 'replay.sh')), false);
  });

  it('a GTID target inside a file stops before the next transaction; one reached at a file end drops the next file', async () => {
    const next = await transactionStart(11806);
    const inside = await restore(['--from-gtid', `${U}:1-11800`, '--until-gtid', `${U}:1-11805`]);
    assert.equal(inside.code, 0, inside.stderr);
    assert.deepEqual(inside.summary?.replayCommand?.slice(-2), [`--exclude-gtids=${U}:1-11800`, next.file]);
    assert.equal(inside.summary?.stopPosition, next.start);
    assert.equal(inside.summary?.startPosition, (await transactionStart(11801)).start);
    assert.deepEqual([inside.summary?.recoveredGtidSet, inside.summary?.recoveredUntil], [`${U}:1-11805`, '2018-10-17T08:09:52.000Z']);
    const atEnd = await restore(['--from-gtid', `${U}:1-11790`, '--until-gtid', `${U}:1-11800`]);
    assert.equal(atEnd.code, 0, atEnd.stderr);
    assert.equal(atEnd.summary?.replayCommand?.at(-1), 'mysql-bin.000001');
    assert.equal(atEnd.summary?.stopPosition, null);
    assert.equal(atEnd.summary?.startPosition, (await transactionStart(11791)).start);
    assert.match(atEnd.summary?.targetReached ?? '', /reached at the end of mysql-bin\.000001/);
  });

  it('a time target is checked before the first transaction to apply, too', async () => {
    const first = await transactionStart(11805); // the first transaction stamped 08:09:52
    const late = await restore(['--from-file', first.file, '--from-position', String(first.start), '--until', '2018-10-17T08:09:51Z']);
    assert.equal(late.code, 0, late.stderr);
    assert.equal(late.summary?.replayCommand, null);
    assert.match(late.summary?.targetReached ?? '', /already reaches the target/);
    const within = await restore(['--until', '2018-10-17T08:09:51Z']);
    assert.equal(within.code, 0, within.stderr);
    assert.equal(within.summary?.stopPosition, first.start);
    assert.equal(within.summary?.replayCommand?.at(-1), first.file);
    assert.match(within.summary?.targetReached ?? '', /stamped 2018-10-17T08:09:52/);
    assert.deepEqual([within.summary?.recoveredGtidSet, within.summary?.recoveredUntil], [`${U}:1-11804`, '2018-10-17T08:09:50.000Z']);
    assert.equal(late.summary?.recoveredGtidSet, null);
  });

  it('positions must be transaction boundaries; a target at the start point replays nothing', async () => {
    const t = await transactionStart(11802);
    const inside = await restore(['--from-file', t.file, '--from-position', String(t.start + 1)]);
    assert.equal(inside.code, 2, inside.stderr);
    assert.match(inside.stderr, new RegExp(`--from-position ${t.start + 1} is inside (transaction ${U}:11802|an event) of mysql-bin\\.000002`));
    assert.equal(fs.existsSync(path.join(inside.out, 'replay.sh')), false);
    const until = await restore(['--until-file', t.file, '--until-position', String(t.end - 1)]);
    assert.equal(until.code, 2, until.stderr);
    assert.match(until.stderr, /--until-position \d+ is inside/);
    const same = await restore(['--from-file', t.file, '--from-position', String(t.start), '--until-file', t.file, '--until-position', String(t.start)]);
    assert.equal(same.code, 0, same.stderr);
    assert.equal(same.summary?.replayCommand, null);
  });

  it('a manifest whose lastEventTime was moved later cannot make restore stop one file early', async () => {
    const copy = path.join(tempDir(), 'store');
    fs.cpSync(new URL(store).pathname, copy, { recursive: true });
    const manifestDir = path.join(copy, 'manifest');
    const entryFile = (fs.readdirSync(manifestDir, { recursive: true }) as string[]).find((f) => f.endsWith('mysql-bin.000001.json'));
    assert.ok(entryFile !== undefined);
    const full = path.join(manifestDir, entryFile);
    const entry = JSON.parse(fs.readFileSync(full, 'utf8')) as { binlog: { lastEventTime: string } };
    entry.binlog.lastEventTime = '2018-10-17T08:09:52.000Z';
    fs.writeFileSync(full, JSON.stringify(entry));
    const out = tempDir('blarc-out-');
    const r = await runCli(['restore', '--store', `file://${copy}`, '--key', key, '--out', out, '--until', '2018-10-17T08:09:51Z']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /EVERIFY|lastEventTime/);
    assert.equal(fs.existsSync(path.join(out, 'replay.sh')), false);
  });

  it('replay.sh fails when the binlog tool fails (pipefail), and when the client fails', async () => {
    const r = await restore([]);
    assert.equal(r.code, 0, r.stderr);
    const script = path.join(r.out, 'replay.sh');
    const failingTool = spawnSync(script, [], { env: { ...process.env, BINLOG_TOOL: 'false', MYSQL_CLIENT: 'cat' }, encoding: 'utf8' });
    assert.notEqual(failingTool.status, 0);
    const failingClient = spawnSync(script, [], { env: { ...process.env, BINLOG_TOOL: 'echo', MYSQL_CLIENT: 'false' }, encoding: 'utf8' });
    assert.notEqual(failingClient.status, 0);
    const ok = spawnSync(script, [], { env: { ...process.env, BINLOG_TOOL: 'echo', MYSQL_CLIENT: 'cat' }, encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /--no-defaults mysql-bin\.000001 mysql-bin\.000002 mysql-bin\.000003/);
  });

  it('never writes through a symlink planted in --out', async () => {
    const out = tempDir('blarc-out-');
    const victims = ['a', 'b', 'c'].map((n) => {
      const v = path.join(work, `victim-${n}-${path.basename(out)}`);
      fs.writeFileSync(v, 'precious');
      return v;
    });
    fs.symlinkSync(victims[0]!, path.join(out, '.mysql-bin.000001.partial'));
    fs.symlinkSync(victims[1]!, path.join(out, 'replay.sh'));
    const ok = await runCli(['restore', '--store', store, '--key', key, '--out', out, '-q']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(fs.lstatSync(path.join(out, 'replay.sh')).isFile(), true);
    fs.symlinkSync(victims[2]!, path.join(out, 'mysql-bin.000009'));
    const out2 = tempDir('blarc-out-');
    fs.symlinkSync(victims[2]!, path.join(out2, 'mysql-bin.000002'));
    const refused = await runCli(['restore', '--store', store, '--key', key, '--out', out2, '-q']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /mysql-bin\.000002 exists and is not a regular file \(a symbolic link\)/);
    for (const v of victims) assert.equal(fs.readFileSync(v, 'utf8'), 'precious');
    assert.deepEqual(fs.readdirSync(out2).filter((f) => f.startsWith('.blarc-restore-')), []);
  });
});
