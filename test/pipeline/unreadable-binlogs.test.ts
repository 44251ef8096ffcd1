/**
 * Binlogs archive cannot read are refused with a typed error naming the file and what to do, before anything
 * is stored (issue 9 items 11, 13, 15): a FIFO named in the index (which would block the reader forever), a
 * symbolic link loop, a file without read permission, and a binlog-like name with a newline in it.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { openStore } from '../../src/store/open-store.ts';
import { KINGBUS, binlogDir, listFiles, newKeyUrl, tempDir } from '../support/archive.ts';
import { BIN, runCli } from '../support/cli.ts';

/** Runs an archive of `dir` and expects `code` with the file named and a hint; nothing may be stored. */
async function refused(dir: string, code: string, pattern: RegExp): Promise<void> {
  const work = tempDir();
  const storeDir = path.join(work, 'store');
  await assert.rejects(runArchive({ binlogDir: dir, store: openStore(`file://${storeDir}`), keyUrl: newKeyUrl(work), source: 'db1' }), (err: unknown) => {
    assert.ok(err instanceof ArchiverError, `expected an ArchiverError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    assert.ok((err.hint ?? '').length > 10, `a hint: ${err.message}`);
    return true;
  });
  assert.deepEqual(listFiles(storeDir).filter((f) => !f.startsWith('.')), []);
}

/** The kingbus sample named mysql-bin.*, with `replace` put in place of its first file. */
function withFirst(replace: (file: string) => void): string {
  const { dir, names } = binlogDir(KINGBUS, 'mysql-bin');
  const first = path.join(dir, names[0]!);
  fs.rmSync(first);
  replace(first);
  return dir;
}

describe('archive refuses binlogs it cannot read, by name', () => {
  it('a FIFO named in the index file: EBADINPUT at once, not a hang', async () => {
    const dir = withFirst((file) => execFileSync('mkfifo', [file]));
    fs.writeFileSync(path.join(dir, 'mysql-bin.index'), ['000001', '000002', '000003', '000004'].map((n) => `./mysql-bin.${n}\n`).join(''));
    await refused(dir, 'EBADINPUT', /mysql-bin\.000001 is a FIFO \(named pipe\), not a regular file/);
  });

  it('a symbolic link loop', async () => {
    const dir = withFirst((file) => fs.symlinkSync(file, file));
    await refused(dir, 'EBADINPUT', /mysql-bin\.000001 is a symbolic link loop/);
  });

  it('a binlog without read permission (the CLI, as an unprivileged user)', async () => {
    const dir = withFirst((file) => fs.writeFileSync(file, fs.readFileSync(KINGBUS[0]!), { mode: 0o000 }));
    const work = tempDir();
    const storeDir = path.join(work, 'store');
    const keyUrl = newKeyUrl(work);
    // root reads any file: run as nobody, who owns the key and the store and may read every binlog but the first.
    const asNobody = process.getuid?.() === 0;
    if (asNobody) {
      for (const p of [work, path.join(work, 'master.key')]) fs.chownSync(p, 65534, 65534);
      fs.chmodSync(dir, 0o755);
    }
    const args = ['archive', '--binlog-dir', dir, '--store', `file://${storeDir}`, '--key', keyUrl, '--source', 'db1', '--json'];
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const [cmd, argv] = asNobody ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args]] : [process.execPath, [BIN, ...args]];
      execFile(cmd, argv, (err, stdout, stderr) => resolve({ code: err === null ? 0 : (typeof err.code === 'number' ? err.code : 1), stdout, stderr }));
    });
    assert.equal(result.code, 1, result.stderr);
    const summary = JSON.parse(result.stdout) as { ok: boolean; error: { code: string; message: string; hint: string } };
    assert.equal(summary.error.code, 'EBADINPUT', summary.error.message);
    assert.match(summary.error.message, /mysql-bin\.000001 cannot be read \(permission denied\)/);
    assert.match(summary.error.hint, /user that may read the binlog volume/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(listFiles(path.join(storeDir, 'manifest')), []);
  });

  it('a binlog-like name with a newline is refused, not skipped', async () => {
    const { dir } = binlogDir(KINGBUS, 'mysql-bin');
    fs.copyFileSync(KINGBUS[0]!, path.join(dir, 'mysql-bin\n.000009'));
    await refused(dir, 'EBADINPUT', /control character \("mysql-bin\\n\.000009"\)/);
  });

  it('the CLI exits 1 with the typed error and no stack trace', async () => {
    const dir = withFirst((file) => fs.symlinkSync(file, file));
    const work = tempDir();
    const result = await runCli(['archive', '--binlog-dir', dir, '--store', `file://${path.join(work, 'store')}`, '--key', newKeyUrl(work), '--source', 'db1', '--json']);
    assert.equal(result.code, 1, result.stderr);
    const summary = JSON.parse(result.stdout) as { ok: boolean; error: { code: string; message: string } };
    assert.equal(summary.error.code, 'EBADINPUT');
    assert.match(summary.error.message, /symbolic link loop/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  });
});
