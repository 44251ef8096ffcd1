// test-resources: cpu
/**
 * `npm run build` (scripts/build.ts): the JavaScript the image runs. Tests run the TypeScript sources; this one
 * runs what ships: the same layout, no relative import left pointing at a .ts file, every command reachable, and
 * an archive, verify and restore round trip of real binlogs through the built CLI.
 */
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildJs } from '../../scripts/build.ts';
import { KINGBUS, binlogDir, listFiles, newKeyUrl, sha256, storeUrl, tempDir } from '../support/archive.ts';
import { REPO_ROOT } from '../support/testenv.ts';

const COMMANDS = ['inspect', 'archive', 'restore', 'verify', 'parity', 'controller', 'agent', 'expire', 'backup-anchor'];
/** A relative import or export specifier, static or dynamic, that still names a .ts file. */
const TS_SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])\.{1,2}\/[^"']*\.ts\1/;

describe('the JavaScript build (scripts/build.ts)', { timeout: 180_000 }, () => {
  const work = tempDir('blarc-build-');
  const out = path.join(work, 'dist');
  // No compile cache: the build must run as a Pod with another UID or an empty cache runs it.
  const run = (...args: string[]): SpawnSyncReturns<string> => spawnSync(process.execPath, [path.join(out, 'bin', 'binlog-archiver.js'), ...args], {
    encoding: 'utf8', cwd: work, timeout: 60_000, env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' },
  });

  before(() => {
    buildJs(out, REPO_ROOT);
    // The image's /app/node_modules beside /app/bin and /app/src.
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(out, 'node_modules'));
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it('has the layout of bin/ and src/, every module in JavaScript, imports rewritten to .js', () => {
    const expected = [...listFiles(path.join(REPO_ROOT, 'bin')).map((f) => `bin/${f}`), ...listFiles(path.join(REPO_ROOT, 'src')).map((f) => `src/${f}`)]
      .map((f) => f.replace(/\.ts$/, '.js')).sort();
    const built = [...listFiles(path.join(out, 'bin')).map((f) => `bin/${f}`), ...listFiles(path.join(out, 'src')).map((f) => `src/${f}`)].sort();
    assert.deepEqual(built, expected);
    for (const f of built) {
      const code = fs.readFileSync(path.join(out, f), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
      assert.doesNotMatch(code, TS_SPECIFIER, `${f} imports no .ts module`);
    }
    assert.equal(fs.readFileSync(path.join(out, 'package.json'), 'utf8'), fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    assert.equal(fs.statSync(path.join(out, 'bin', 'binlog-archiver.js')).mode & 0o755, 0o755);
  });

  it('runs --help and reaches every command\'s option parser (exit 2 on an unknown option)', () => {
    const help = run('--help');
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /binlog-archiver archive /);
    for (const command of COMMANDS) {
      const r = run(command, '--no-such-option');
      assert.equal(r.status, 2, `${command}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /ERR_MODULE_NOT_FOUND|Cannot find module/, command);
    }
  });

  it('archives, verifies and restores real binlogs byte for byte (the worker threads included)', () => {
    const { dir, names } = binlogDir(KINGBUS);
    try {
      const key = newKeyUrl(work);
      const store = storeUrl(path.join(work, 'store'));
      const archive = run('archive', '--binlog-dir', dir, '--store', store, '--key', key, '--source', 'db1', '-q');
      assert.equal(archive.status, 0, archive.stderr);
      const verify = run('verify', '--store', store, '--key', key, '--source', 'db1', '-q');
      assert.equal(verify.status, 0, verify.stderr);
      const restored = path.join(work, 'restored');
      const restore = run('restore', '--store', store, '--key', key, '--source', 'db1', '--out', restored, '-q');
      assert.equal(restore.status, 0, restore.stderr);
      for (const name of names) assert.equal(sha256(path.join(restored, name)), sha256(path.join(dir, name)), name);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
