/**
 * Only closed binlogs of one series are archived (issue 9 item 2): a file that is not the newest but not closed
 * either (in-use flag set, or cut short at an event boundary) is refused, nothing of it is stored, and the
 * complete file is archived normally by a later run. Without an index file, relay logs and other series are
 * not mixed in, and the newest file of the series is held back.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { ArchiverError } from '../../src/errors.ts';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { openStore } from '../../src/store/open-store.ts';
import { FIXTURES, KINGBUS, listFiles, newKeyUrl, tempDir } from '../support/archive.ts';
import { closedBinlogBytes } from '../support/close-binlog.ts';
import { runCli } from '../support/cli.ts';

const KB = path.join(FIXTURES, 'relaylog/kingbus/5.7');
const RELAYS = ['flikedev1-c8pyy-relay-bin.000284', 'flikedev1-c8pyy-relay-bin.000286'].map((n) => path.join(KB, n));

function rejectsWith(code: string, pattern: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ArchiverError, `expected an ArchiverError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    return true;
  };
}

/** A directory with `files` ([name, bytes]) and a store and key beside it. */
function setup(files: [string, Buffer][]) {
  const dir = tempDir('blarc-closed-');
  for (const [name, bytes] of files) fs.writeFileSync(path.join(dir, name), bytes);
  const work = tempDir();
  const storeDir = path.join(work, 'store');
  return { dir, storeDir, store: openStore(`file://${storeDir}`), keyUrl: newKeyUrl(work) };
}

/** The bytes of a binlog without its last event (a copy cut short at an event boundary). */
function withoutLastEvent(bytes: Buffer): Buffer {
  let at = 4;
  let last = 4;
  while (at < bytes.length) {
    last = at;
    at += bytes.readUInt32LE(at + 9);
  }
  return bytes.subarray(0, last);
}

/** The bytes of a binlog whose FDE says it was opened at server startup (`created` set, CRC32 recomputed). */
function openedAtStartup(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  out.writeUInt32LE(1_534_000_000, 4 + 19 + 2 + 50);
  const len = out.readUInt32LE(4 + 9);
  const masked = Buffer.from(out.subarray(4, 4 + len - 4));
  masked[17] = (masked[17] as number) & ~1;
  out.writeUInt32LE(crc32(masked), 4 + len - 4);
  return out;
}

const read = (p: string): Buffer => fs.readFileSync(p);
const entries = (storeDir: string): string[] => listFiles(path.join(storeDir, 'manifest'));

describe('archive takes only closed binlogs', () => {
  it('refuses a binlog with the in-use flag that is not the newest, stores nothing of it, and archives it once complete', async () => {
    const open13 = read(path.join(KB, 'mysql_bin.000013')); // copied while the server had it open
    const { dir, storeDir, store, keyUrl } = setup([
      ['mysql-bin.000011', read(KINGBUS[0]!)], ['mysql-bin.000012', read(KINGBUS[1]!)], ['mysql-bin.000013', open13], ['mysql-bin.000014', Buffer.alloc(0)],
    ]);
    await assert.rejects(runArchive({ binlogDir: dir, store, keyUrl, source: 'db1' }), rejectsWith('EBINLOGACTIVE', /mysql-bin\.000013 is not closed: the in-use flag/));
    assert.deepEqual(entries(storeDir), ['db1/0000000011-mysql-bin.000011.json', 'db1/0000000012-mysql-bin.000012.json']);
    assert.ok(!listFiles(storeDir).some((f) => f.includes('000013')), 'nothing of the open binlog is stored');
    // The server closes it (the complete file replaces the copy): the next run archives it, no conflict.
    fs.writeFileSync(path.join(dir, 'mysql-bin.000013'), closedBinlogBytes(open13, 'mysql-bin.000014'));
    const again = await runArchive({ binlogDir: dir, store, keyUrl, source: 'db1' });
    assert.deepEqual(again.binlogs.map((b) => [b.binlog, b.status]), [['mysql-bin.000011', 'skipped'], ['mysql-bin.000012', 'skipped'], ['mysql-bin.000013', 'archived']]);
  });

  it('refuses a binlog cut short at an event boundary, then archives the complete file', async () => {
    const full = read(KINGBUS[0]!);
    const { dir, storeDir, store, keyUrl } = setup([['mysql-bin.000011', withoutLastEvent(full)], ['mysql-bin.000012', read(KINGBUS[1]!)]]);
    await assert.rejects(runArchive({ binlogDir: dir, store, keyUrl, source: 'db1' }), rejectsWith('EBINLOGACTIVE', /mysql-bin\.000011 is not closed: .*no Rotate or Stop/));
    assert.deepEqual(listFiles(storeDir).filter((f) => !f.startsWith('.')), []);
    fs.writeFileSync(path.join(dir, 'mysql-bin.000011'), full);
    const again = await runArchive({ binlogDir: dir, store, keyUrl, source: 'db1' });
    assert.deepEqual(again.binlogs.map((b) => [b.binlog, b.status]), [['mysql-bin.000011', 'archived']]);
  });

  it('archives a binlog a crashed server recovered (no Rotate, flag clear, next binlog opened at startup)', async () => {
    const { dir, store, keyUrl } = setup([
      ['mysql-bin.000011', withoutLastEvent(read(KINGBUS[0]!))], ['mysql-bin.000012', openedAtStartup(read(KINGBUS[1]!))], ['mysql-bin.000013', Buffer.alloc(0)],
    ]);
    const summary = await runArchive({ binlogDir: dir, store, keyUrl, source: 'db1' });
    assert.deepEqual(summary.binlogs.map((b) => [b.binlog, b.status]), [['mysql-bin.000011', 'archived'], ['mysql-bin.000012', 'archived']]);
  });
});

describe('archive keeps one binlog series per source', () => {
  it('without an index, leaves relay logs out and holds back the newest binlog of the series', async () => {
    const { dir, storeDir, store, keyUrl } = setup([
      ['mysql-bin.000011', read(KINGBUS[0]!)], ['mysql-bin.000012', read(KINGBUS[1]!)],
      ['relay-bin.000284', read(RELAYS[0]!)], ['relay-bin.000286', read(RELAYS[1]!)],
    ]);
    const summary = await runArchive({ binlogDir: dir, store, keyUrl, source: 'db1' });
    assert.equal(summary.activeBinlog, 'mysql-bin.000012');
    assert.deepEqual(entries(storeDir), ['db1/0000000011-mysql-bin.000011.json']);
  });

  it('refuses several binlog series without an index, and archives the one named by binlogBasename', async () => {
    const { dir, storeDir, store, keyUrl } = setup([
      ['mysql-bin.000011', read(KINGBUS[0]!)], ['mysql-bin.000012', read(KINGBUS[1]!)],
      ['other-bin.000001', read(KINGBUS[0]!)], ['other-bin.000002', read(KINGBUS[1]!)],
    ]);
    await assert.rejects(runArchive({ binlogDir: dir, store, keyUrl, source: 'db1' }), rejectsWith('EBADINPUT', /several binlog series \(.*mysql-bin\.\*.*other-bin\.\*/));
    assert.deepEqual(listFiles(storeDir), []);
    await assert.rejects(runArchive({ binlogDir: dir, store, keyUrl, source: 'db1', binlogBasename: '../other-bin' }), rejectsWith('EUSAGE', /not a file name prefix/));
    const summary = await runArchive({ binlogDir: dir, store, keyUrl, source: 'db1', binlogBasename: 'other-bin' });
    assert.equal(summary.activeBinlog, 'other-bin.000002');
    assert.deepEqual(entries(storeDir), ['db1/0000000001-other-bin.000001.json']);
    // The command line names the series the same way, and says how in the refusal.
    const refused = await runCli(['archive', '--binlog-dir', dir, '--store', `file://${storeDir}`, '--key', keyUrl, '--source', 'db1']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /several binlog series[\s\S]*--binlog-basename NAME/);
    const named = await runCli(['archive', '--binlog-dir', dir, '--store', `file://${storeDir}`, '--key', keyUrl, '--source', 'db1', '--binlog-basename', 'mysql-bin', '--json', '-q']);
    assert.equal(named.code, 0, named.stderr);
    assert.equal((JSON.parse(named.stdout) as { lastArchived: string }).lastArchived, 'mysql-bin.000011');
  });

  it('with an index file, archives only what it names', async () => {
    const { dir, storeDir, store, keyUrl } = setup([
      ['mysql-bin.000011', read(KINGBUS[0]!)], ['mysql-bin.000012', read(KINGBUS[1]!)], ['relay-bin.000284', read(RELAYS[0]!)],
      ['mysql-bin.index', Buffer.from('./mysql-bin.000011\n./mysql-bin.000012\n')],
    ]);
    await runArchive({ binlogDir: dir, store, keyUrl, source: 'db1' });
    assert.deepEqual(entries(storeDir), ['db1/0000000011-mysql-bin.000011.json']);
  });
});

describe('a cut-short copy archived by an older version', () => {
  it('the complete file is refused with what to move aside, and archived once that is done', async () => {
    const full = read(KINGBUS[0]!);
    const { dir, storeDir, store, keyUrl } = setup([['mysql-bin.000011', withoutLastEvent(full)], ['mysql-bin.000012', read(KINGBUS[1]!)]]);
    // What an older version did: it archived the cut-short copy. The crash-recovery rule accepts it here
    // because the next file says it was opened at startup: the same bytes an older version stored.
    fs.writeFileSync(path.join(dir, 'mysql-bin.000012'), openedAtStartup(read(KINGBUS[1]!)));
    fs.writeFileSync(path.join(dir, 'mysql-bin.000013'), Buffer.alloc(0));
    await runArchive({ binlogDir: dir, store, keyUrl, source: 'db1' });
    fs.writeFileSync(path.join(dir, 'mysql-bin.000011'), full);
    await assert.rejects(runArchive({ binlogDir: dir, store, keyUrl, source: 'db1' }), (err: unknown) => {
      assert.ok(err instanceof ArchiverError, String(err));
      assert.equal(err.code, 'ECONFLICT');
      assert.match(err.message, /the archived copy is this binlog cut short \(its first \d+ of 6312 bytes\)/);
      assert.match(err.hint ?? '', /move manifest\/db1\/0000000011-mysql-bin\.000011\.json and binlogs\/db1\/0000000011-mysql-bin\.000011\.blarc aside/);
      return true;
    });
    for (const f of ['manifest/db1/0000000011-mysql-bin.000011.json', 'binlogs/db1/0000000011-mysql-bin.000011.blarc']) fs.renameSync(path.join(storeDir, f), path.join(storeDir, '..', path.basename(f)));
    const again = await runArchive({ binlogDir: dir, store, keyUrl, source: 'db1' });
    assert.deepEqual(again.binlogs.map((b) => [b.binlog, b.status]), [['mysql-bin.000011', 'archived'], ['mysql-bin.000012', 'skipped']]);
  });
});
