/**
 * The command-line contract: exit codes (0 ok, 1 failure, 2 usage), one JSON summary on stdout with --json,
 * logs on stderr, and interop of the openssl-aes-256-cbc format with the real openssl and zstd.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FIXTURES, KINGBUS, binlogDir, listFiles, newKeyUrl, newPassphraseUrl, sha256, tempDir } from '../support/archive.ts';
import { type CliResult, runCli } from '../support/cli.ts';

const cli = (args: string[]): Promise<CliResult> => runCli(args);

describe('binlog-archiver CLI', () => {
  it('inspect prints facts as JSON and fails on a non-binlog', async () => {
    const ok = await cli(['inspect', KINGBUS[0]!, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const info = JSON.parse(ok.stdout) as { serverVersion: string; previousGtids: { text: string }; lastGtid: string };
    assert.equal(info.serverVersion, '5.7.23-log');
    assert.equal(info.previousGtids.text, '214eb71f-96ec-11e8-ab4f-fa163e72d4ae:1-11789');
    assert.equal(info.lastGtid, '214eb71f-96ec-11e8-ab4f-fa163e72d4ae:11800');
    const bad = await cli(['inspect', path.join(FIXTURES, 'other-versions/canal/parse_tsdb_mysql-bin.000001')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /error ENOTBINLOG: .*parse_tsdb_mysql-bin\.000001 is not a MySQL\/MariaDB binary log: it starts with ef bf bd 62/);
  });

  it('archive, verify and restore with --json: one summary each, exit 0, byte-identical files', async () => {
    const { dir, names } = binlogDir(KINGBUS, 'mysql-bin');
    const work = tempDir();
    const key = newKeyUrl(work);
    const store = `file://${path.join(work, 'store')}`;
    const archive = await cli(['archive', '--binlog-dir', dir, '--store', store, '--key', key, '--json']);
    assert.equal(archive.code, 0, archive.stderr);
    const summary = JSON.parse(archive.stdout) as { ok: boolean; archived: number; source: string; lastArchived: string };
    assert.deepEqual([summary.ok, summary.archived, summary.source, summary.lastArchived], [true, 3, 'mysql-3150', 'mysql-bin.000003']);
    for (const line of archive.stderr.trim().split('\n')) assert.doesNotThrow(() => JSON.parse(line), `not a JSON log line: ${line}`);
    assert.match(archive.stderr, /"msg":"Archived binlog".*"correlationId":"bl-/);
    const verify = await cli(['verify', '--store', store, '--key', key, '--json']);
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal((JSON.parse(verify.stdout) as { verified: number }).verified, 3);
    const out = path.join(work, 'out');
    const restore = await cli(['restore', '--store', store, '--key', key, '--out', out, '--json']);
    assert.equal(restore.code, 0, restore.stderr);
    for (const [i, name] of names.entries()) assert.equal(sha256(path.join(out, name)), sha256(KINGBUS[i]!));
  });

  it('restore by binlog file and position: only the files needed, and the exact replay positions', async () => {
    const { dir } = binlogDir(KINGBUS, 'mysql-bin');
    const work = tempDir();
    const key = newKeyUrl(work);
    const store = `file://${path.join(work, 'store')}`;
    assert.equal((await cli(['archive', '--binlog-dir', dir, '--store', store, '--key', key, '-q'])).code, 0);
    const out = path.join(work, 'out');
    const result = await cli(['restore', '--store', store, '--key', key, '--out', out, '--from-file', 'mysql-bin.000002', '--from-position', '773',
      '--until-file', 'mysql-bin.000003', '--until-position', '3089', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as { files: { name: string }[]; replayCommand: string[] };
    assert.deepEqual(summary.files.map((f) => f.name), ['mysql-bin.000002', 'mysql-bin.000003']);
    assert.deepEqual(summary.replayCommand, ['mysqlbinlog', '--no-defaults', '--start-position=773', '--stop-position=3089', 'mysql-bin.000002', 'mysql-bin.000003']);
    assert.deepEqual(fs.readdirSync(out).sort(), ['mysql-bin.000002', 'mysql-bin.000003', 'replay.sh']);
    const missing = await cli(['restore', '--store', store, '--key', key, '--out', path.join(work, 'o2'), '--until-file', 'mysql-bin.000009', '--until-position', '4']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--until-file names mysql-bin\.000009, which is not in the archive \(it holds mysql-bin\.000001 \.\. mysql-bin\.000003\)/);
    const past = await cli(['restore', '--store', store, '--key', key, '--out', path.join(work, 'o3'), '--until-file', 'mysql-bin.000001', '--until-position', '999999']);
    assert.equal(past.code, 2);
    assert.match(past.stderr, /--until-position 999999 is past the end of mysql-bin\.000001 \(6312 bytes\)/);
    const half = await cli(['restore', '--store', store, '--key', key, '--out', path.join(work, 'o4'), '--from-file', 'mysql-bin.000001']);
    assert.equal(half.code, 2);
    assert.match(half.stderr, /--from-file and --from-position go together/);
  });

  it('usage errors exit 2 with a message saying what is missing', async () => {
    const missing = await cli(['archive', '--store', 'file:///tmp/x']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--binlog-dir is required/);
    const unknown = await cli(['restore', '--bogus']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown option '--bogus'/);
    const both = await cli(['restore', '--store', 'file:///tmp/x', '--key', 'file:///tmp/k', '--out', '/tmp/o', '--until', '2026-01-01T00:00:00Z', '--until-gtid', '0-1-1']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /either --until or --until-gtid or --until-file\/--until-position/);
    const badTime = await cli(['restore', '--store', 'file:///tmp/x', '--key', 'file:///tmp/k', '--out', '/tmp/o', '--until', 'yesterday']);
    assert.equal(badTime.code, 2);
    assert.match(badTime.stderr, /--until "yesterday" is not a time of the accepted form/);
    const scheme = await cli(['verify', '--store', 'ftp://x/y', '--key', 'file:///tmp/k']);
    assert.equal(scheme.code, 2);
    assert.match(scheme.stderr, /unsupported scheme ftp:/);
  });

  it('a bad key file is named with what it should hold', async () => {
    const { dir } = binlogDir(KINGBUS.slice(0, 2));
    const work = tempDir();
    const keyFile = path.join(work, 'short.key');
    fs.writeFileSync(keyFile, 'abc\n');
    const result = await cli(['archive', '--binlog-dir', dir, '--store', `file://${path.join(work, 'store')}`, '--key', `file://${keyFile}`, '--json']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /key file .*short\.key holds 3 hex characters and a newline \(an odd count\); expected 64 hex characters \(32 bytes\)/);
    assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, 'EKEY');
    assert.deepEqual(listFiles(path.join(work, 'store')).filter((f) => !f.startsWith('.staging')), []);
  });

  it('openssl-aes-256-cbc objects decrypt with the real openssl and zstd', async () => {
    const { dir, names } = binlogDir(KINGBUS, 'mysql-bin');
    const work = tempDir();
    const pass = newPassphraseUrl(work);
    const storeDir = path.join(work, 'store');
    const archive = await cli(['archive', '--binlog-dir', dir, '--store', `file://${storeDir}`, '--key', pass, '--format', 'openssl-aes-256-cbc', '--level', '5', '-q']);
    assert.equal(archive.code, 0, archive.stderr);
    for (const [i, name] of names.entries()) {
      const object = path.join(storeDir, 'binlogs/mysql-3150', `${String(i + 1).padStart(10, '0')}-${name}.zst.aes`);
      const shell = `openssl enc -d -aes-256-cbc -pbkdf2 -iter 100000 -pass file:"$1" -in "$2" | zstd -d -q -c`;
      const decoded = spawnSync('sh', ['-c', shell, 'sh', new URL(pass).pathname, object], { maxBuffer: 64 * 1024 * 1024 });
      assert.equal(decoded.status, 0, decoded.stderr.toString());
      assert.ok(decoded.stdout.equals(fs.readFileSync(KINGBUS[i]!)), `${name} differs after openssl | zstd -d`);
    }
  });
});
