/**
 * What a killed archive run leaves behind is cleaned up or taken over by the next run (issue 9 item 6):
 * staging files of dead writers in a file:// store are removed, a live writer's never; in the openssl format a
 * sidecar without its object is completed, an object with its sidecar adopted, and an object without its
 * sidecar (which nothing can authenticate) refused by name with what to do.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { runRestore } from '../../src/restore/restore-run.ts';
import { runVerify } from '../../src/restore/verify-run.ts';
import { openStore } from '../../src/store/open-store.ts';
import { KINGBUS, binlogDir, listFiles, newKeyUrl, newPassphraseUrl, sha256, tempDir } from '../support/archive.ts';
import { BIN, runCli } from '../support/cli.ts';

describe('debris of killed runs', () => {
  it('the next run removes staging files of dead writers, and keeps a live writer\'s', async () => {
    const { dir } = binlogDir(KINGBUS, 'mysql-bin');
    const work = tempDir();
    const storeDir = path.join(work, 'store');
    const staging = path.join(storeDir, '.staging');
    fs.mkdirSync(staging, { recursive: true });
    const deadPid = spawnSync('true').pid;
    const files = {
      dead: `${os.hostname()}.${deadPid}.00112233445566aa.part`,
      live: `${os.hostname()}.${process.pid}.00112233445566bb.part`,
      otherHost: `elsewhere.${deadPid}.00112233445566cc.part`,
      oldLegacy: '00112233445566dd.part',
      freshLegacy: '00112233445566ee.part',
    };
    for (const name of Object.values(files)) fs.writeFileSync(path.join(staging, name), 'partial object bytes');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    fs.utimesSync(path.join(staging, files.oldLegacy), twoDaysAgo, twoDaysAgo);

    await runArchive({ binlogDir: dir, store: openStore(`file://${storeDir}`), keyUrl: newKeyUrl(work), source: 'db1' });
    assert.deepEqual(fs.readdirSync(staging).sort(), [files.freshLegacy, files.live, files.otherHost].sort());
  });
});

/** The kingbus sample archived in the openssl format to a fresh file:// store. */
async function compatArchive() {
  const { dir, names } = binlogDir(KINGBUS, 'mysql-bin');
  const work = tempDir();
  const storeDir = path.join(work, 'store');
  const keyUrl = newPassphraseUrl(work);
  const store = openStore(`file://${storeDir}`);
  const first = await runArchive({ binlogDir: dir, store, keyUrl, source: 'db1', format: 'openssl-aes-256-cbc' });
  assert.equal(first.archived, 3);
  const object = path.join(storeDir, 'binlogs/db1/0000000002-mysql-bin.000002.zst.aes');
  const entry = path.join(storeDir, 'manifest/db1/0000000002-mysql-bin.000002.json');
  return { dir, names, work, storeDir, keyUrl, object, sidecar: `${object}.json`, entry };
}

async function restoredMatches(storeDir: string, keyUrl: string, dir: string, names: string[], out: string): Promise<void> {
  const store = openStore(`file://${storeDir}`);
  const verified = await runVerify({ store, keyUrl, source: 'db1' });
  assert.deepEqual(verified.problems, []);
  assert.deepEqual(verified.orphans, []);
  await runRestore({ store, keyUrl, out, source: 'db1', target: { kind: 'latest' } });
  for (const name of names) assert.equal(sha256(path.join(out, name)), sha256(path.join(dir, name)), name);
}

describe('openssl-aes-256-cbc: a run killed between sidecar, object and entry', () => {
  it('a sidecar without its object: the next run stores the same object under the sidecar\'s identity', async () => {
    const { dir, names, work, storeDir, keyUrl, object, entry } = await compatArchive();
    const original = fs.readFileSync(object);
    fs.rmSync(object);
    fs.rmSync(entry);
    const again = await runArchive({ binlogDir: dir, store: openStore(`file://${storeDir}`), keyUrl, source: 'db1', format: 'openssl-aes-256-cbc' });
    assert.deepEqual(again.binlogs.map((b) => b.status), ['skipped', 'archived', 'skipped']);
    assert.ok(fs.readFileSync(object).equals(original), 'the object is re-produced byte for byte');
    await restoredMatches(storeDir, keyUrl, dir, names, path.join(work, 'out'));
  });

  it('an object with its sidecar but no entry is adopted', async () => {
    const { dir, names, work, storeDir, keyUrl, entry } = await compatArchive();
    const archivedEdges = (JSON.parse(fs.readFileSync(entry, 'utf8')) as { binlog: { edgesSha256: string } }).binlog.edgesSha256;
    fs.rmSync(entry);
    const again = await runArchive({ binlogDir: dir, store: openStore(`file://${storeDir}`), keyUrl, source: 'db1', format: 'openssl-aes-256-cbc' });
    assert.deepEqual(again.binlogs.map((b) => b.status), ['skipped', 'adopted', 'skipped']);
    // The adopted entry records the edges of the archived bytes: the same as when it was archived.
    assert.equal((JSON.parse(fs.readFileSync(entry, 'utf8')) as { binlog: { edgesSha256: string } }).binlog.edgesSha256, archivedEdges);
    await restoredMatches(storeDir, keyUrl, dir, names, path.join(work, 'out'));
  });

  it('an object without its sidecar (older versions) is refused by name with what to do, not ENOTFOUND', async () => {
    const { dir, storeDir, keyUrl, object, sidecar, entry } = await compatArchive();
    fs.rmSync(sidecar);
    fs.rmSync(entry);
    const before = listFiles(storeDir);
    await assert.rejects(runArchive({ binlogDir: dir, store: openStore(`file://${storeDir}`), keyUrl, source: 'db1', format: 'openssl-aes-256-cbc' }), (err: unknown) => {
      assert.ok(err instanceof ArchiverError, String(err));
      assert.equal(err.code, 'ECONFLICT');
      assert.match(err.message, /0000000002-mysql-bin\.000002\.zst\.aes exists without its sidecar/);
      assert.match(err.hint ?? '', /move the object aside and run again/);
      return true;
    });
    assert.deepEqual(listFiles(storeDir), before);
    // What the hint says: moved aside, the binlog is archived afresh.
    fs.renameSync(object, path.join(path.dirname(storeDir), 'moved-aside.zst.aes'));
    const again = await runArchive({ binlogDir: dir, store: openStore(`file://${storeDir}`), keyUrl, source: 'db1', format: 'openssl-aes-256-cbc' });
    assert.equal(again.archived, 1);
  });

  it('SIGKILL as soon as the first sidecar appears, then a rerun: everything archived and verifiable', async () => {
    const { dir, names } = binlogDir(KINGBUS, 'mysql-bin');
    const work = tempDir();
    const storeDir = path.join(work, 'store');
    const keyUrl = newPassphraseUrl(work);
    const args = ['archive', '--binlog-dir', dir, '--store', `file://${storeDir}`, '--key', keyUrl, '--source', 'db1', '--format', 'openssl-aes-256-cbc'];
    const sidecarDir = path.join(storeDir, 'binlogs/db1');
    const killOnce = (): Promise<{ code: number | null; killed: boolean }> => new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
      const poll = setInterval(() => {
        if (fs.existsSync(sidecarDir) && fs.readdirSync(sidecarDir).some((f) => f.endsWith('.json'))) {
          child.kill('SIGKILL');
          clearInterval(poll);
        }
      }, 1);
      child.on('exit', (code, signal) => {
        clearInterval(poll);
        resolve({ code, killed: signal === 'SIGKILL' });
      });
    });
    // A test process starved of CPU (other files run beside it) may not poll before the run ends: then the store
    // is complete, and the run is tried again on an empty one. A run that failed is not retried.
    let run = { code: 0 as number | null, killed: false };
    for (let attempt = 0; attempt < 5 && !run.killed && run.code === 0; attempt++) {
      fs.rmSync(storeDir, { recursive: true, force: true });
      run = await killOnce();
    }
    assert.ok(run.killed, run.code === 0 ? 'the run ended before it could be killed, 5 times' : `the run failed before it was killed (exit ${String(run.code)})`);
    const rerun = await runCli(args);
    assert.equal(rerun.code, 0, rerun.stderr);
    await restoredMatches(storeDir, keyUrl, dir, names, path.join(work, 'out'));
  });
});
