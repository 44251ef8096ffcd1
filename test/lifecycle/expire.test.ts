/**
 * Retention on real MariaDB binlogs one second apart (test/support/binlog-series.ts), on file:// stores: what
 * `expire` keeps with and without a backup anchor, --dry-run, leases, gaps, interrupted runs (an injected
 * failure after every possible number of deletes, and SIGKILL of the CLI), restores inside and before the
 * retained window, and hostile documents and options.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { runExpire } from '../../src/lifecycle/expire-run.ts';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { runRestore } from '../../src/restore/restore-run.ts';
import { runVerify } from '../../src/restore/verify-run.ts';
import { type ManifestEntry, readEntries } from '../../src/store/manifest.ts';
import { type ObjectStore, once } from '../../src/store/object-store.ts';
import { openStore } from '../../src/store/open-store.ts';
import { acquireLease } from '../../src/store/restore-lease.ts';
import { readRetainedRange } from '../../src/store/retained-range.ts';
import { newKeyUrl, sha256, tempDir } from '../support/archive.ts';
import { type BinlogSeries, makeBinlogSeries } from '../support/binlog-series.ts';
import { BIN, runCli } from '../support/cli.ts';
import { skipUnlessIn } from '../support/testenv.ts';

const SOURCE = 'series';

interface Archive {
  work: string;
  url: string;
  store: ObjectStore;
  key: string;
  entries: ManifestEntry[];
}

async function keys(store: ObjectStore): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list('')) out.push(info.key);
  return out.sort();
}

/** `now` just after the series, and the window (in whole seconds) whose start is the first event of entries[i]. */
function windowAt(a: Archive, i: number): { now: Date; window: string; windowMs: number } {
  const last = Date.parse(a.entries.at(-1)!.binlog.lastEventTime!);
  const now = new Date(last + 1000);
  const seconds = Math.round((now.getTime() - Date.parse(a.entries[i]!.binlog.firstEventTime!)) / 1000);
  return { now, window: `${seconds}s`, windowMs: seconds * 1000 };
}

async function assertVerifies(a: Archive): Promise<void> {
  const v = await runVerify({ store: a.store, keyUrl: a.key });
  assert.deepEqual(v.problems, []);
  assert.deepEqual(v.orphans, []);
}

function names(entries: ManifestEntry[]): string[] {
  return entries.map((e) => e.binlog.name);
}

describe('expire on real binlogs (file://)', { skip: skipUnlessIn('mysql') }, () => {
  let series: BinlogSeries;
  before(async () => {
    series = await makeBinlogSeries(5);
  }, { timeout: 120_000 });

  async function archive(): Promise<Archive> {
    const work = tempDir('blarc-expire-');
    const url = `file://${path.join(work, 'store')}`;
    const store = openStore(url);
    const key = newKeyUrl(work);
    const summary = await runArchive({ binlogDir: series.dir, store, keyUrl: key, source: SOURCE });
    assert.equal(summary.archived, series.names.length);
    return { work, url, store, key, entries: await readEntries(store, SOURCE) };
  }

  it('without an anchor keeps from the binlog containing the window start, says a base backup must be inside, and verify passes', async () => {
    const a = await archive();
    const { now, window, windowMs } = windowAt(a, 2);
    const before = await keys(a.store);
    const reportFile = path.join(a.work, 'report.json');
    const dry = await runCli(['expire', '--store', a.url, '--key', a.key, '--recovery-window', window, '--now', now.toISOString(), '--dry-run', '--json', '--summary-file', reportFile]);
    assert.equal(dry.code, 0, dry.stderr);
    const { deletedBytes } = JSON.parse(dry.stdout) as { deletedBytes: number };
    assert.ok(deletedBytes > 0);
    assert.deepEqual(JSON.parse(fs.readFileSync(reportFile, 'utf8')), {
      kind: 'expire', ok: true, now: now.toISOString(), recoveryWindow: window, dryRun: true, deletedObjects: 4, deletedBytes, omitted: 0,
      sources: [{ source: SOURCE, retainedFrom: series.names[2], firstRecoverableTime: a.entries[2]!.binlog.firstEventTime, deletedObjects: 4,
        deletedBytes, retained: 0, keptGaps: 0, held: false }],
    });
    const planned = JSON.parse(dry.stdout) as { dryRun: boolean; sources: { expiredBinlogs: string[]; deletedObjects: number; notes: string[] }[] };
    assert.equal(planned.dryRun, true);
    assert.deepEqual(planned.sources[0]!.expiredBinlogs, series.names.slice(0, 2));
    assert.equal(planned.sources[0]!.deletedObjects, 4, 'two objects and two entries');
    assert.deepEqual(await keys(a.store), before, '--dry-run deletes nothing');
    assert.equal(await readRetainedRange(a.store, SOURCE), undefined, '--dry-run writes no marker');

    const s = await runExpire({ store: a.store, keyUrl: a.key, windowMs, windowText: window, now });
    const x = s.sources[0]!;
    assert.equal(x.basis, 'window-start');
    assert.equal(x.retainedFrom, series.names[2]);
    assert.match(x.notes.join('\n'), /a base backup must exist inside the kept range/);
    assert.deepEqual(names(await readEntries(a.store, SOURCE)), series.names.slice(2));
    const gone = before.filter((k) => !(k.includes(series.names[0]!) || k.includes(series.names[1]!)));
    assert.deepEqual((await keys(a.store)).filter((k) => !k.startsWith('retention/')), gone);
    assert.equal((await readRetainedRange(a.store, SOURCE))?.firstBinlog, series.names[2]);
    await assertVerifies(a);
    // A second run has nothing left to do.
    const again = await runExpire({ store: a.store, keyUrl: a.key, windowMs, windowText: window, now });
    assert.equal(again.deletedObjects, 0);
  });

  it('archive does not bring back binlogs below the retained range; verify reports a hole at its start', async () => {
    const a = await archive();
    const { now, window, windowMs } = windowAt(a, 2);
    await runExpire({ store: a.store, keyUrl: a.key, windowMs, windowText: window, now });
    const rerun = await runArchive({ binlogDir: series.dir, store: a.store, keyUrl: a.key, source: SOURCE });
    assert.equal(rerun.archived, 0);
    assert.deepEqual(rerun.binlogs.map((b) => b.binlog), series.names.slice(2));
    assert.equal((await keys(a.store)).some((k) => k.includes(series.names[0]!)), false);
    await assertVerifies(a);
    // The first kept binlog's entry and object removed behind expire's back: a hole at the start, not a shorter archive.
    const first = a.entries[2]!;
    for (const k of [first.object.key, `manifest/${SOURCE}/${String(first.binlog.sequence).padStart(10, '0')}-${first.binlog.name}.json`]) await a.store.delete(k);
    const v = await runVerify({ store: a.store, keyUrl: a.key });
    assert.deepEqual(v.problems.map((p) => p.code), ['EGAP']);
    assert.match(v.problems[0]!.message, new RegExp(`the retained range starts at ${first.binlog.name.replace('.', '\\.')} .* but the first manifest entry is ${series.names[3]!.replace('.', '\\.')}`));
  });

  it('with a backup anchor keeps from the newest anchor at or before the window start (GTID set, then file and position)', async () => {
    const a = await archive();
    const { now, window, windowMs } = windowAt(a, 4);
    // The backup holds rounds 0 and 1 (the end of names[1]): replay starts at names[2].
    const gtidAnchor = await runCli(['backup-anchor', '--store', a.url, '--source', SOURCE, '--gtid', series.ends[1]!, '--time', series.moments[1]!.time, '--json']);
    assert.equal(gtidAnchor.code, 0, gtidAnchor.stderr);
    assert.equal((JSON.parse(gtidAnchor.stdout) as { created: boolean }).created, true);
    const repeat = await runCli(['backup-anchor', '--store', a.url, '--source', SOURCE, '--gtid', series.ends[1]!, '--time', series.moments[1]!.time]);
    assert.match(repeat.stdout, /already recorded/);
    // An anchor after the window start is not the one a restore at the window start would use.
    const late = await runCli(['backup-anchor', '--store', a.url, '--source', SOURCE, '--file', series.names[4]!, '--position', '4', '--time', now.toISOString()]);
    assert.equal(late.code, 0, late.stderr);
    const s = await runExpire({ store: a.store, keyUrl: a.key, windowMs, windowText: window, now });
    assert.equal(s.sources[0]!.basis, 'anchor');
    assert.deepEqual(s.sources[0]!.expiredBinlogs, series.names.slice(0, 2));
    assert.deepEqual(names(await readEntries(a.store, SOURCE)), series.names.slice(2));
    await assertVerifies(a);

    const b = await archive();
    const w = windowAt(b, 4);
    const fileAnchor = await runCli(['backup-anchor', '--store', b.url, '--source', SOURCE, '--file', series.names[1]!, '--position', '4', '--time', series.moments[0]!.time]);
    assert.equal(fileAnchor.code, 0, fileAnchor.stderr);
    const t = await runExpire({ store: b.store, keyUrl: b.key, windowMs: w.windowMs, windowText: w.window, now: w.now });
    assert.deepEqual(t.sources[0]!.expiredBinlogs, series.names.slice(0, 1));
    await assertVerifies(b);
  });

  it('converges after a failure at every point of the deletes, and verify passes after each step', async () => {
    const clean = await archive();
    const { now, window, windowMs } = windowAt(clean, 3);
    await runExpire({ store: clean.store, keyUrl: clean.key, windowMs, windowText: window, now });
    const expected = (await keys(clean.store)).filter((k) => !k.startsWith('index/') && !k.startsWith('retention/'));
    for (let n = 0; n < 6; n++) {
      const a = await archive();
      await assert.rejects(runExpire({
        store: a.store, keyUrl: a.key, windowMs, windowText: window, now,
        beforeDelete: (_key, deleted) => {
          if (deleted === n) throw new Error(`injected failure after ${n} deletes`);
        },
      }), /injected failure/);
      await assertVerifies(a);
      assert.deepEqual(names(await readEntries(a.store, SOURCE)), series.names.slice(3), `after ${n} deletes`);
      await runExpire({ store: a.store, keyUrl: a.key, windowMs, windowText: window, now });
      assert.deepEqual((await keys(a.store)).filter((k) => !k.startsWith('index/') && !k.startsWith('retention/')), expected, `rerun after ${n} deletes`);
      await assertVerifies(a);
    }
  });

  it('a SIGKILLed expire CLI leaves a store that verifies, and a rerun finishes', { timeout: 180_000 }, async () => {
    for (const delayMs of [150, 300, 450]) {
      const a = await archive();
      const { now, window } = windowAt(a, 3);
      const child = spawn(process.execPath, [BIN, 'expire', '--store', a.url, '--key', a.key, '--recovery-window', window, '--now', now.toISOString(), '-q'], { stdio: 'ignore' });
      // Listen before killing: a fast start may finish the run before the kill, and a late listener never fires.
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill('SIGKILL');
      await exited;
      await assertVerifies(a);
      const rerun = await runCli(['expire', '--store', a.url, '--key', a.key, '--recovery-window', window, '--now', now.toISOString(), '--json']);
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.deepEqual(names(await readEntries(a.store, SOURCE)), series.names.slice(3));
      assert.deepEqual((await keys(a.store)).filter((k) => k.startsWith('binlogs/')).length, 2);
      await assertVerifies(a);
    }
  });

  it('restores exactly inside the retained window; before it fails with EEXPIRED naming the window', async () => {
    const a = await archive();
    const { now, window, windowMs } = windowAt(a, 2);
    await runExpire({ store: a.store, keyUrl: a.key, windowMs, windowText: window, now });
    // From a backup holding rounds 0-1 (inside the kept range) to just after round 2.
    const out = path.join(a.work, 'out');
    const restored = await runRestore({ store: a.store, keyUrl: a.key, out, source: SOURCE, fromGtid: series.ends[1]!, target: { kind: 'time', until: new Date(series.moments[2]!.time) } });
    assert.equal(restored.recoveredGtidSet, series.moments[2]!.gtid);
    for (const f of restored.files) assert.equal(sha256(path.join(out, f.name)), sha256(path.join(series.dir, f.name)), f.name);
    const byGtid = await runRestore({ store: a.store, keyUrl: a.key, out: path.join(a.work, 'out2'), source: SOURCE, fromGtid: series.ends[1]!, target: { kind: 'gtid', text: series.moments[3]!.gtid } });
    assert.equal(byGtid.recoveredGtidSet, series.moments[3]!.gtid);

    const early = await runCli(['restore', '--store', a.url, '--key', a.key, '--out', path.join(a.work, 'out3'), '--until', series.moments[0]!.time]);
    assert.equal(early.code, 1);
    assert.match(early.stderr, /error EEXPIRED: --until .* is before the retained range: the retained window of source series is /);
    assert.ok(early.stderr.includes(a.entries[2]!.binlog.firstEventTime!) && early.stderr.includes(series.names[2]!), early.stderr);
    for (const target of [{ kind: 'gtid' as const, text: series.moments[0]!.gtid }, { kind: 'position' as const, file: series.names[0]!, position: 4 }]) {
      await assert.rejects(runRestore({ store: a.store, keyUrl: a.key, out: path.join(a.work, 'out4'), source: SOURCE, target }),
        (err: unknown) => err instanceof ArchiverError && err.code === 'EEXPIRED' && err.message.includes(series.names[2]!));
    }
    await assert.rejects(runRestore({ store: a.store, keyUrl: a.key, out: path.join(a.work, 'out5'), source: SOURCE, fromGtid: series.moments[0]!.gtid, target: { kind: 'latest' } }),
      (err: unknown) => err instanceof ArchiverError && err.code === 'EEXPIRED' && /--from-gtid/.test(err.message));
  });

  it('deletes nothing while an unexpired restore lease holds the source; an expired lease is ignored', async () => {
    const a = await archive();
    const { now, window, windowMs } = windowAt(a, 3);
    const held = await acquireLease(a.store, SOURCE, { holder: 'test restore', ttlMs: 3_600_000, clock: () => now });
    const before = await keys(a.store);
    const s = await runExpire({ store: a.store, keyUrl: a.key, windowMs, windowText: window, now });
    assert.equal(s.deletedObjects, 0);
    assert.match(s.sources[0]!.notes.join('\n'), /restore lease .*test restore.* hold the source/);
    assert.deepEqual(await keys(a.store), before);
    await held.release();
    const stale = await acquireLease(a.store, SOURCE, { holder: 'crashed restore', ttlMs: 60_000, clock: () => new Date(now.getTime() - 3_600_000) });
    const t = await runExpire({ store: a.store, keyUrl: a.key, windowMs, windowText: window, now });
    assert.equal(t.sources[0]!.expiredBinlogs.length, 3);
    assert.ok((await keys(a.store)).includes(stale.key));
    await assertVerifies(a);
  });

  it('never deletes past a gap it cannot explain; an anchor after the gap explains it', async () => {
    const a = await archive();
    const missing = a.entries[1]!;
    for (const k of [missing.object.key, `manifest/${SOURCE}/${String(missing.binlog.sequence).padStart(10, '0')}-${missing.binlog.name}.json`]) {
      assert.equal((await a.store.delete(k)).outcome, 'deleted');
    }
    const { now, window, windowMs } = windowAt(a, 3);
    const s = await runExpire({ store: a.store, keyUrl: a.key, windowMs, windowText: window, now });
    assert.equal(s.deletedObjects, 0);
    assert.match(s.sources[0]!.notes.join('\n'), /stopped at a gap it cannot explain/);
    const anchored = await runCli(['backup-anchor', '--store', a.url, '--source', SOURCE, '--gtid', series.ends[2]!, '--time', series.moments[2]!.time]);
    assert.equal(anchored.code, 0, anchored.stderr);
    const t = await runExpire({ store: a.store, keyUrl: a.key, windowMs, windowText: window, now });
    assert.deepEqual(t.sources[0]!.expiredBinlogs, [series.names[0], series.names[2]]);
    await assertVerifies(a);
  });

  it('refuses malformed anchors, leases and markers in the store, deleting nothing', async () => {
    for (const [key, body, pattern] of [
      [`anchors/${SOURCE}/bad.json`, '{"schema":"binlog-archiver.dev/backup-anchor/v1","source":"series"}', /backup anchor .*time is missing/],
      [`anchors/${SOURCE}/bad.json`, '\u0000not json', /backup anchor .*not valid UTF-8 JSON/],
      [`leases/${SOURCE}/x.json`, '{"schema":"binlog-archiver.dev/restore-lease/v1","source":"other","id":"lease-1","holder":"h","acquiredAt":"x","expiresAt":"y","renewals":-1}', /restore lease .*id must be/],
      [`retention/${SOURCE}.json`, '[]', /retained-range marker .*must be a JSON object/],
    ] as const) {
      const a = await archive();
      await a.store.put(key, once(Buffer.from(body)));
      const before = await keys(a.store);
      const { now, window } = windowAt(a, 3);
      const r = await runCli(['expire', '--store', a.url, '--key', a.key, '--recovery-window', window, '--now', now.toISOString()]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /error EFORMAT/);
      assert.match(r.stderr, pattern);
      assert.deepEqual(await keys(a.store), before);
    }
  });

  it('refuses bad options with exit 2 before touching the store', async () => {
    const a = await archive();
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const base = ['--store', a.url, '--key', a.key];
    for (const [args, pattern] of [
      [['expire', ...base, '--recovery-window', '1x'], /not a duration/],
      [['expire', ...base, '--recovery-window', '0s'], /greater than zero/],
      [['expire', ...base, '--recovery-window=-5m'], /not a duration/],
      [['expire', ...base, '--recovery-window', '500ms'], /out of range/],
      [['expire', ...base, '--recovery-window', '1000000h'], /out of range/],
      [['expire', ...base], /--recovery-window is required/],
      [['expire', ...base, '--recovery-window', '1h', '--now', future], /--now .* is in the future/],
      [['expire', ...base, '--recovery-window', '1h', '--now', 'yesterday'], /--now/],
      [['expire', ...base, '--recovery-window', '1h', '--source', '../x'], /not usable in object keys/],
      [['backup-anchor', '--store', a.url, '--source', SOURCE, '--gtid', '0-1-5', '--time', future], /--time .* is in the future/],
      [['backup-anchor', '--store', a.url, '--source', SOURCE, '--gtid', 'not a set', '--time', series.moments[0]!.time], /not a MySQL or MariaDB GTID set/],
      [['backup-anchor', '--store', a.url, '--source', SOURCE, '--file', series.names[0]!, '--time', series.moments[0]!.time], /needs its position/],
      [['backup-anchor', '--store', a.url, '--source', SOURCE, '--file', '../etc/passwd', '--position', '4', '--time', series.moments[0]!.time], /binlog file/],
      [['backup-anchor', '--store', a.url, '--source', SOURCE, '--time', series.moments[0]!.time], /either a GTID set or a binlog file/],
    ] as const) {
      const before = await keys(a.store);
      const r = await runCli([...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern, args.join(' '));
      assert.deepEqual(await keys(a.store), before);
    }
    assert.equal(fs.existsSync(path.join(a.work, 'store', 'anchors')), false);
  });
});
