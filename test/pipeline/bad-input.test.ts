/**
 * Bad input gets a clear error with a stable code, and nothing half-written that looks complete: no object
 * and no manifest entry for a failed archive, no binlog file and no replay.sh for a failed restore.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { runRestore } from '../../src/restore/restore-run.ts';
import { runVerify } from '../../src/restore/verify-run.ts';
import { openStore } from '../../src/store/open-store.ts';
import { FIXTURES, KINGBUS, binlogDir, listFiles, newKeyUrl, sha256, tempDir } from '../support/archive.ts';
import { joinObject, splitObject } from '../support/object-surgery.ts';
import { REPO_ROOT } from '../support/testenv.ts';

const fixture = (p: string): string => path.join(FIXTURES, p);

function code(expected: string, pattern?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ArchiverError, `expected an ArchiverError, got ${String(err)}`);
    assert.equal(err.code, expected, err.message);
    if (pattern !== undefined) assert.match(err.message, pattern);
    return true;
  };
}

/** A store with the three kingbus binlogs (consecutive, GTID-continuous) archived in small segments. */
async function archived(segmentSize = 1024) {
  const { dir, names } = binlogDir(KINGBUS, 'mysql-bin');
  const work = tempDir();
  const key = newKeyUrl(work);
  const storeDir = path.join(work, 'store');
  const store = openStore(`file://${storeDir}`);
  await runArchive({ binlogDir: dir, store, keyUrl: key, source: 'db1', segmentSize });
  const objects = listFiles(path.join(storeDir, 'binlogs/db1')).map((f) => path.join(storeDir, 'binlogs/db1', f));
  return { dir, names, work, key, storeDir, store, objects, out: path.join(work, 'out') };
}

function assertNothingRestored(out: string): void {
  const files = listFiles(out);
  assert.deepEqual(files.filter((f) => !f.startsWith('.')), [], `restore left ${files.join(', ')}`);
}

describe('archive refuses bad binlogs and stores nothing', () => {
  it('a file that is not a binlog', async () => {
    const { dir } = binlogDir([fixture('other-versions/canal/parse_tsdb_mysql-bin.000001')]);
    const work = tempDir();
    const storeDir = path.join(work, 'store');
    await assert.rejects(runArchive({ binlogDir: dir, store: openStore(`file://${storeDir}`), keyUrl: newKeyUrl(work), source: 's' }),
      code('ENOTBINLOG', /fx-bin\.000001/));
    assert.deepEqual(listFiles(storeDir), []);
  });

  it('a truncated binlog', async () => {
    const work = tempDir();
    const cut = path.join(work, 'cut');
    fs.writeFileSync(cut, fs.readFileSync(KINGBUS[0]!).subarray(0, 4000));
    const { dir } = binlogDir([cut]);
    const storeDir = path.join(work, 'store');
    await assert.rejects(runArchive({ binlogDir: dir, store: openStore(`file://${storeDir}`), keyUrl: newKeyUrl(work), source: 's' }), code('EBINLOGTRUNCATED'));
    assert.deepEqual(listFiles(storeDir), []);
  });

  it('never archives the active (newest) binlog, and refuses one that changes while it is read', async () => {
    const { dir, names } = binlogDir(KINGBUS);
    const work = tempDir();
    const storeDir = path.join(work, 'store');
    const store = openStore(`file://${storeDir}`);
    // The first file grows while it is being read: the server is still writing it.
    let appended = false;
    await assert.rejects(runArchive({
      binlogDir: dir, store, keyUrl: newKeyUrl(work), source: 's', segmentSize: 1024,
      onProgress: ({ binlog }) => {
        if (!appended && binlog === names[0]) {
          appended = true;
          fs.appendFileSync(path.join(dir, binlog), Buffer.alloc(100));
        }
      },
    }), code('EBINLOGACTIVE', /changed while it was being archived/));
    assert.deepEqual(listFiles(storeDir).filter((f) => !f.startsWith('.staging')), []);
    const clean = binlogDir(KINGBUS);
    const summary = await runArchive({ binlogDir: clean.dir, store: openStore(`file://${path.join(work, 'store2')}`), keyUrl: newKeyUrl(work), source: 's' });
    assert.equal(summary.activeBinlog, 'fx-bin.000004');
    assert.deepEqual(summary.binlogs.map((b) => b.binlog), ['fx-bin.000001', 'fx-bin.000002', 'fx-bin.000003']);
  });

  it('the same binlog name with different content is a conflict, and the archive is not overwritten', async () => {
    const a = await archived();
    const before = listFiles(a.storeDir).map((f) => [f, sha256(path.join(a.storeDir, f))]);
    fs.copyFileSync(KINGBUS[0]!, path.join(a.dir, a.names[1]!));
    await assert.rejects(runArchive({ binlogDir: a.dir, store: a.store, keyUrl: a.key, source: 'db1' }), code('ECONFLICT', /mysql-bin\.000002.*already archived with different content/));
    assert.deepEqual(listFiles(a.storeDir).map((f) => [f, sha256(path.join(a.storeDir, f))]), before);
  });

  it('archiving again skips what is archived with identical content', async () => {
    const a = await archived();
    const again = await runArchive({ binlogDir: a.dir, store: a.store, keyUrl: a.key, source: 'db1' });
    assert.equal(again.archived, 0);
    assert.equal(again.skipped, 3);
  });
});

describe('restore and verify detect every kind of damage and write nothing that looks complete', () => {
  it('a wrong key', async () => {
    const a = await archived();
    const other = newKeyUrl(a.work, 'other.key');
    await assert.rejects(runRestore({ store: a.store, keyUrl: other, out: a.out, target: { kind: 'latest' } }), code('EKEY', /wrapped by local:[0-9a-f]+, but key file .* is local:/));
    assertNothingRestored(a.out);
  });

  it('a flipped bit in an object', async () => {
    const a = await archived();
    const bytes = fs.readFileSync(a.objects[1]!);
    bytes[bytes.length - 100]! ^= 0x04;
    fs.writeFileSync(a.objects[1]!, bytes);
    await assert.rejects(runRestore({ store: a.store, keyUrl: a.key, out: a.out, target: { kind: 'latest' } }), code('EAUTH'));
    assert.equal(fs.existsSync(path.join(a.out, 'replay.sh')), false);
    assert.equal(fs.existsSync(path.join(a.out, a.names[1]!)), false);
    const verify = await runVerify({ store: a.store, keyUrl: a.key });
    assert.deepEqual(verify.problems.map((p) => [p.binlog, p.code]), [[a.names[1], 'EAUTH']]);
    assert.equal(verify.verified, 2);
  });

  it('two frames swapped', async () => {
    const a = await archived();
    const parts = splitObject(a.objects[0]!);
    assert.ok(parts.records.length >= 3, `object has ${parts.records.length} records`);
    [parts.records[0], parts.records[1]] = [parts.records[1]!, parts.records[0]!];
    fs.writeFileSync(a.objects[0]!, joinObject(parts));
    await assert.rejects(runRestore({ store: a.store, keyUrl: a.key, out: a.out, target: { kind: 'latest' } }), code('EAUTH'));
    assertNothingRestored(a.out);
  });

  it('a truncated object (last frame and trailer gone)', async () => {
    const a = await archived();
    const parts = splitObject(a.objects[2]!);
    fs.writeFileSync(a.objects[2]!, joinObject({ header: parts.header, records: parts.records.slice(0, -2) }));
    await assert.rejects(runRestore({ store: a.store, keyUrl: a.key, out: a.out, target: { kind: 'latest' } }), (err: unknown) => {
      assert.ok(err instanceof ArchiverError && ['EFORMAT', 'EAUTH'].includes(err.code), String(err));
      return true;
    });
    assert.equal(fs.existsSync(path.join(a.out, 'replay.sh')), false);
    assert.equal(fs.existsSync(path.join(a.out, a.names[2]!)), false);
  });

  it('two objects swapped between names', async () => {
    const a = await archived();
    const [x, y] = [fs.readFileSync(a.objects[0]!), fs.readFileSync(a.objects[1]!)];
    fs.writeFileSync(a.objects[0]!, y);
    fs.writeFileSync(a.objects[1]!, x);
    await assert.rejects(runRestore({ store: a.store, keyUrl: a.key, out: a.out, target: { kind: 'latest' } }), code('EVERIFY', /different binlog|identity/i));
    assertNothingRestored(a.out);
  });

  it('a missing object is named as a gap before anything is written', async () => {
    const a = await archived();
    fs.rmSync(a.objects[1]!);
    await assert.rejects(runRestore({ store: a.store, keyUrl: a.key, out: a.out, target: { kind: 'latest' } }), code('EGAP', /mysql-bin\.000002 \(sequence 2\).*missing/));
    assertNothingRestored(a.out);
    const verify = await runVerify({ store: a.store, keyUrl: a.key });
    assert.deepEqual(verify.problems.map((p) => p.code), ['ENOTFOUND']);
  });

  it('a binlog never archived (sequence gap) blocks restore unless accepted', async () => {
    const { dir } = binlogDir([KINGBUS[0]!, KINGBUS[2]!, KINGBUS[2]!], 'mysql-bin');
    fs.renameSync(path.join(dir, 'mysql-bin.000002'), path.join(dir, 'mysql-bin.000003'));
    fs.renameSync(path.join(dir, 'mysql-bin.000004'), path.join(dir, 'mysql-bin.000005'));
    const work = tempDir();
    const key = newKeyUrl(work);
    const store = openStore(`file://${path.join(work, 'store')}`);
    const summary = await runArchive({ binlogDir: dir, store, keyUrl: key, source: 'db1' });
    assert.deepEqual(summary.gaps.map((g) => [g.kind, g.after, g.before]), [['missing-sequence', 'mysql-bin.000001', 'mysql-bin.000003']]);
    await assert.rejects(runRestore({ store, keyUrl: key, out: path.join(work, 'out'), target: { kind: 'latest' } }), code('EGAP', /between mysql-bin\.000001 and mysql-bin\.000003/));
    assertNothingRestored(path.join(work, 'out'));
    const accepted = await runRestore({ store, keyUrl: key, out: path.join(work, 'out'), target: { kind: 'latest' }, acceptGaps: true });
    assert.equal(accepted.files.length, 2);
  });

  it('a full disk on --out: a clear error, exit 1, and no file that looks complete', { skip: process.platform !== 'linux' }, async () => {
    const a = await archived(64 * 1024);
    const out = path.join(a.work, 'small');
    fs.mkdirSync(out);
    // A 12 KiB tmpfs in a private mount namespace holds the first binlog (6 KiB) but not the second.
    const listing = path.join(a.work, 'listing');
    const script = 'mount -t tmpfs -o size=12k tmpfs "$1" && cd "$2" || exit 99; "$3" bin/binlog-archiver.js restore --store "$4" --key "$5" --out "$1" --json -q; rc=$?; ls -A "$1" > "$6"; exit $rc';
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('unshare', ['-m', '-r', 'sh', '-c', script, 'sh', out, REPO_ROOT, process.execPath, `file://${a.storeDir}`, a.key, listing], (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
      });
    });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /error ENOSPACE: no space left on the --out volume/);
    const summary = JSON.parse(result.stdout) as { ok: boolean; error: { code: string } };
    assert.deepEqual([summary.ok, summary.error.code], [false, 'ENOSPACE']);
    // What stayed on the full volume: at most whole, verified binlogs; no partial file, no replay.sh.
    const left = fs.readFileSync(listing, 'utf8').split('\n').filter((l) => l !== '');
    assert.ok(left.every((f) => a.names.includes(f)), `left on the volume: ${left.join(', ')}`);
    assert.ok(left.length < a.names.length);
  });
});
