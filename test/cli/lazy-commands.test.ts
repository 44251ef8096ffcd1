/**
 * The command line loads what a command needs and nothing else (src/cli/main.ts): every command still works
 * when its module is loaded on demand (its --help, and a bad option reaching its own parser), and --help and an
 * archive to a file:// store with a file:// key never load the cloud SDKs, the database client, the Kubernetes
 * client or the metrics library, nor a restore to files from a file:// store any of them (start-up time and memory,
 * docs/PERFORMANCE.md).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { KINGBUS, binlogDir, newKeyUrl, tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';

const HEAVY = ['@aws-sdk/', '@google-cloud/', 'google-gax', 'mysql2', '@kubernetes/', 'prom-client', 'node-vault'];
const RECORDER = path.join(import.meta.dirname, '..', 'support', 'record-modules.ts');

/** The modules a CLI run resolved, with the run's result. */
async function modulesOf(args: string[]): Promise<{ code: number; stderr: string; modules: string[] }> {
  const file = path.join(tempDir('blarc-modules-'), 'modules.txt');
  const r = await runCli(args, { ...process.env, NODE_OPTIONS: `--import=${RECORDER}`, RECORD_MODULES: file });
  return { code: r.code, stderr: r.stderr, modules: fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n') : [] };
}

const heavy = (modules: string[]): string[] => [...new Set(modules.flatMap((m) => HEAVY.filter((h) => m.includes(`/node_modules/${h}`))))];

describe('commands loaded on demand', () => {
  it('every command answers --help and refuses an unknown option with exit 2', async () => {
    const top = await runCli(['--help']);
    assert.equal(top.code, 0, top.stderr);
    const commands = [...top.stdout.matchAll(/^ {2}binlog-archiver (\S+)/gm)].map((m) => m[1]!);
    for (const c of ['inspect', 'archive', 'restore', 'verify', 'controller', 'agent']) assert.ok(commands.includes(c), `--help lists ${c}`);
    for (const command of commands) {
      const help = await runCli([command, '--help']);
      assert.equal(help.code, 0, `${command} --help: ${help.stderr}`);
      assert.match(help.stdout, new RegExp(`^usage: binlog-archiver ${command} `), command);
      // The option parser is the command's own: its module was loaded and ran.
      const bad = await runCli([command, '--no-such-option']);
      assert.equal(bad.code, 2, `${command} --no-such-option: ${bad.stdout}${bad.stderr}`);
      assert.match(bad.stderr, /no-such-option/, command);
    }
  });

  it('--help and a file:// archive load no cloud SDK, database client, Kubernetes client or metrics library', { timeout: 180_000 }, async () => {
    const help = await modulesOf(['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.ok(help.modules.some((m) => m.endsWith('/src/cli/main.ts')), 'the recorder saw the CLI load');
    assert.deepEqual(heavy(help.modules), []);
    assert.ok(!help.modules.some((m) => /\/src\/(pipeline|restore|format)\//.test(m)), '--help loads no command');

    const { dir } = binlogDir(KINGBUS, 'mysql-bin');
    const work = tempDir();
    const archive = await modulesOf(['archive', '--binlog-dir', dir, '--store', `file://${path.join(work, 'store')}`, '--key', newKeyUrl(work), '-q']);
    assert.equal(archive.code, 0, archive.stderr);
    assert.ok(archive.modules.some((m) => m.endsWith('/src/pipeline/archive-run.ts')));
    assert.deepEqual(heavy(archive.modules), []);

    const restore = await modulesOf(['restore', '--store', `file://${path.join(work, 'store')}`, '--key', `file://${path.join(work, 'master.key')}`, '--out', path.join(work, 'out'), '-q']);
    assert.equal(restore.code, 0, restore.stderr);
    assert.ok(restore.modules.some((m) => m.endsWith('/src/restore/restore-run.ts')));
    // Nor the database client: a restore to files never connects to a server (mysql2 is ~23 MiB of its peak RSS).
    assert.deepEqual(heavy(restore.modules), []);

    // A command that needs one does load it: the check above is not vacuous.
    // A restore with a server output does load mysql2 (to check the server before applying; here it finds no
    // server listening and fails).
    fs.writeFileSync(path.join(work, 'user'), 'root\n');
    fs.writeFileSync(path.join(work, 'password'), 'x\n');
    const apply = await modulesOf(['restore', '--store', `file://${path.join(work, 'store')}`, '--key', `file://${path.join(work, 'master.key')}`, '--out', path.join(work, 'out2'),
      '--apply-host', '127.0.0.1', '--apply-port', '9', '--apply-user-file', path.join(work, 'user'), '--apply-password-file', path.join(work, 'password'), '-q']);
    assert.notEqual(apply.code, 0);
    assert.match(apply.stderr, /cannot connect to 127\.0\.0\.1:9/);
    assert.ok(heavy(apply.modules).includes('mysql2'), `a restore with --apply-host loads mysql2: ${apply.stderr}`);
    const s3 = await modulesOf(['verify', '--store', 's3://bucket/prefix?endpoint=http://127.0.0.1:9&region=us-east-1', '--key', newKeyUrl(work)]);
    assert.notEqual(s3.code, 0);
    assert.ok(heavy(s3.modules).includes('@aws-sdk/'), `an s3:// store loads the AWS SDK: ${s3.stderr}`);
  });
});
