/**
 * bin/binlog-archiver.js enables Node's compile cache in a private directory under the temp directory (start-up
 * time, docs/PERFORMANCE.md), and never uses one that another user could have planted or can write.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';

const env = (tmp: string): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
  delete e.NODE_COMPILE_CACHE;
  delete e.NODE_DISABLE_COMPILE_CACHE;
  return e;
};
const files = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }) : []);

describe('compile cache', () => {
  it('is filled in a private directory under TMPDIR', async () => {
    const tmp = tempDir();
    const r = await runCli(['--help'], env(tmp));
    assert.equal(r.code, 0, r.stderr);
    const top = path.join(tmp, `binlog-archiver-${process.getuid!()}`);
    assert.equal(fs.statSync(top).mode & 0o777, 0o700);
    assert.ok(files(path.join(top, 'compile-cache')).length > 0, 'cache entries written');
  });

  it('is not used when that directory is writable by others, and the command still runs', async () => {
    const tmp = tempDir();
    const top = path.join(tmp, `binlog-archiver-${process.getuid!()}`);
    fs.mkdirSync(top, { mode: 0o777 });
    fs.chmodSync(top, 0o777);
    const r = await runCli(['--help'], env(tmp));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /binlog-archiver archive/);
    assert.deepEqual(files(path.join(top, 'compile-cache')), []);
  });

  it('is off with NODE_DISABLE_COMPILE_CACHE=1', async () => {
    const tmp = tempDir();
    const r = await runCli(['--help'], { ...env(tmp), NODE_DISABLE_COMPILE_CACHE: '1' });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(files(path.join(tmp, `binlog-archiver-${process.getuid!()}`, 'compile-cache')), []);
  });
});
