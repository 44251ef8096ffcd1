/**
 * `restore --plan-only`: the plan a restore would follow (files, bytes, the archive's window, gaps, replay range) with
 * the boundaries proven from the first and last binlogs' bytes, and nothing written anywhere. Refusals are those a
 * restore would give, before anything is downloaded to disk: a target outside the archive names the window.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { readBinlogTransactions } from '../../src/binlog/index.ts';
import { runPlan } from '../../src/restore/plan-run.ts';
import { runRestore } from '../../src/restore/restore-run.ts';
import { openStore } from '../../src/store/open-store.ts';
import { KINGBUS, binlogDir, listFiles, newKeyUrl, tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';

const U = '214eb71f-96ec-11e8-ab4f-fa163e72d4ae';

describe('restore --plan-only', () => {
  let storeUrl = '';
  let key = '';
  before(async () => {
    const { dir } = binlogDir(KINGBUS, 'mysql-bin');
    const work = tempDir();
    key = newKeyUrl(work);
    storeUrl = `file://${path.join(work, 'store')}`;
    const archived = await runCli(['archive', '--binlog-dir', dir, '--store', storeUrl, '--key', key, '-q']);
    assert.equal(archived.code, 0, archived.stderr);
  });

  it('gives the same replay range as the restore, and writes nothing', async () => {
    const store = openStore(storeUrl);
    const before = listFiles(new URL(storeUrl).pathname);
    const cwd = tempDir();
    for (const target of [{ kind: 'gtid' as const, text: `${U}:1-11805` }, { kind: 'time' as const, until: new Date('2018-10-17T08:09:51Z') }, { kind: 'latest' as const }]) {
      const plan = await runPlan({ store, keyUrl: key, fromGtid: `${U}:1-11795`, target });
      const out = path.join(cwd, `out-${target.kind}`);
      const restored = await runRestore({ store, keyUrl: key, out, fromGtid: `${U}:1-11795`, target });
      assert.deepEqual([plan.startPosition, plan.stopPosition, plan.targetReached], [restored.startPosition, restored.stopPosition, restored.targetReached], target.kind);
      assert.deepEqual(plan.replayFiles, restored.replayCommand?.filter((a) => a.startsWith('mysql-bin.')));
      assert.equal(plan.bytes, restored.bytes);
    }
    assert.deepEqual(listFiles(new URL(storeUrl).pathname), before);
    const plan = await runPlan({ store, keyUrl: key, target: { kind: 'latest' } });
    assert.deepEqual([plan.firstBinlog, plan.lastBinlog, plan.window], ['mysql-bin.000001', 'mysql-bin.000003', { from: '2018-10-17T08:09:49.000Z', until: '2018-10-17T08:09:52.000Z' }]);
  });

  it('refuses a position inside a transaction and a time past the archive, naming what to use', async () => {
    const store = openStore(storeUrl);
    let inside = 0;
    for await (const t of readBinlogTransactions(KINGBUS[1]!)) if (inside === 0 && t.endPosition - t.startPosition > 2) inside = t.startPosition + 1;
    await assert.rejects(runPlan({ store, keyUrl: key, target: { kind: 'position', file: 'mysql-bin.000002', position: inside } }),
      (err: Error & { code?: string; hint?: string }) => err.code === 'EUSAGE' && /is inside transaction \S+:11801 of mysql-bin\.000002/.test(err.message) && /use \d+ or \d+/.test(err.hint ?? ''));
    await assert.rejects(runPlan({ store, keyUrl: key, target: { kind: 'time', until: new Date('2018-10-18T00:00:00Z') } }),
      (err: Error & { code?: string }) => err.code === 'ETARGET' && /holds mysql-bin\.000001 \.\. mysql-bin\.000003, events from 2018-10-17T08:09:49\.000Z to 2018-10-17T08:09:52\.000Z/.test(err.message));
    assert.equal(fs.existsSync(path.join(process.cwd(), 'replay.sh')), false);
  });

  it('the CLI prints the plan and leaves it, or the refusal, in --summary-file (the termination message)', async () => {
    const work = tempDir();
    const summary = path.join(work, 'summary.json');
    const ok = await runCli(['restore', '--store', storeUrl, '--key', key, '--plan-only', '--until-gtid', `${U}:1-11805`, '--summary-file', summary, '--json', '-q']);
    assert.equal(ok.code, 0, ok.stderr);
    const printed = JSON.parse(ok.stdout) as { ok: boolean; plan: { replayFiles: string[]; stopPosition: number } };
    const report = JSON.parse(fs.readFileSync(summary, 'utf8')) as { ok: boolean; kind: string; replayFiles: string[]; stopPosition: number };
    assert.deepEqual([report.ok, report.kind, report.replayFiles, report.stopPosition], [true, 'plan', printed.plan.replayFiles, printed.plan.stopPosition]);
    assert.deepEqual(fs.readdirSync(work), ['summary.json']);
    const past = await runCli(['restore', '--store', storeUrl, '--key', key, '--plan-only', '--until', '2030-01-01T00:00:00Z', '--summary-file', summary, '-q']);
    assert.equal(past.code, 1);
    const refusal = JSON.parse(fs.readFileSync(summary, 'utf8')) as { ok: boolean; kind: string; error: { code: string; message: string } };
    assert.deepEqual([refusal.ok, refusal.kind, refusal.error.code], [false, 'plan', 'ETARGET']);
    assert.match(refusal.error.message, /events from 2018-10-17T08:09:49\.000Z to 2018-10-17T08:09:52\.000Z/);
    const both = await runCli(['restore', '--store', storeUrl, '--key', key, '--plan-only', '--out', work]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--plan-only writes and applies nothing/);
  });
});
