/**
 * The command line against a store whose manifest was edited: `verify` reports the malformed entry as EFORMAT
 * and still verifies the others; `restore` refuses a binlog name that climbs out of --out, writes nothing
 * outside it and no replay.sh. Neither prints a stack trace.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { listFiles, sha256, tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';
import { REPO_ROOT } from '../support/testenv.ts';

const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'stores', 'v1-gcm');
const KEY = `file://${path.join(FIXTURE, 'master.key')}`;
const FIRST = 'manifest/v1db/0000000001-mysql-bin.000001.json';
const SECOND = 'manifest/v1db/0000000002-mysql-bin.000002.json';

/** A copy of the two-binlog gcm fixture store with one entry rewritten by `edit`. */
function storeWith(entryKey: string, edit: (e: Record<string, Record<string, unknown> | null>) => void): string {
  const dir = path.join(tempDir('blarc-manifest-cli-'), 'store');
  fs.cpSync(path.join(FIXTURE, 'store'), dir, { recursive: true });
  const file = path.join(dir, entryKey);
  const entry = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Record<string, unknown> | null>;
  edit(entry);
  fs.writeFileSync(file, JSON.stringify(entry));
  return dir;
}

const noStackTrace = (stderr: string): void => assert.doesNotMatch(stderr, /^\s+at /m, `stack trace on stderr:\n${stderr}`);

describe('verify with a malformed manifest entry among good ones', () => {
  for (const [what, edit] of [
    ['binlog.name missing', (e: Record<string, Record<string, unknown> | null>) => { delete e.binlog?.name; }],
    ['object null', (e: Record<string, Record<string, unknown> | null>) => { e.object = null; }],
  ] as const) {
    it(`${what}: EFORMAT naming the entry and field, the other entry verified, exit non-zero`, async () => {
      const store = storeWith(FIRST, edit);
      const human = await runCli(['verify', '--store', `file://${store}`, '--key', KEY]);
      assert.notEqual(human.code, 0, human.stdout + human.stderr);
      noStackTrace(human.stderr);
      assert.match(human.stdout, /verified 1 object\(s\)/);
      const field = what === 'object null' ? 'object must be a JSON object \\(got null\\)' : 'binlog\\.name is missing';
      assert.match(human.stdout, new RegExp(`PROBLEM EFORMAT v1db/: manifest entry file://${store}/${FIRST.replace(/\./g, '\\.')}: ${field}`));

      const json = await runCli(['verify', '--store', `file://${store}`, '--key', KEY, '--json']);
      assert.notEqual(json.code, 0);
      const summary = JSON.parse(json.stdout) as { verified: number; problems: { code: string; message: string }[] };
      assert.equal(summary.verified, 1);
      const formatProblems = summary.problems.filter((p) => p.code === 'EFORMAT');
      assert.equal(formatProblems.length, 1, JSON.stringify(summary.problems));
      assert.ok(formatProblems[0]?.message.includes(FIRST), formatProblems[0]?.message);
      assert.ok(!summary.problems.some((p) => p.code === 'EINTERNAL'), JSON.stringify(summary.problems));
    });
  }
});

describe('restore with a binlog name that leaves --out', () => {
  it('"../src/mysql-bin.000002": EFORMAT, nothing written outside --out, no replay.sh', async () => {
    const store = storeWith(SECOND, (e) => { if (e.binlog) e.binlog.name = '../src/mysql-bin.000002'; });
    const work = path.dirname(store);
    // The attack: a file with the archived content already sits where the name points, so a restore that trusted
    // the name would count it as present without decrypting or authenticating anything.
    const planted = path.join(work, 'src', 'mysql-bin.000002');
    fs.mkdirSync(path.dirname(planted));
    fs.copyFileSync(path.join(REPO_ROOT, 'test/fixtures/binlogs/relaylog/kingbus/5.7/mysql_bin.000012'), planted);
    const before = { sha: sha256(planted), mtime: fs.statSync(planted).mtimeMs };
    const out = path.join(work, 'out');

    const result = await runCli(['restore', '--store', `file://${store}`, '--key', KEY, '--out', out]);
    assert.notEqual(result.code, 0, result.stdout + result.stderr);
    noStackTrace(result.stderr);
    assert.match(result.stderr, /error EFORMAT: manifest entry .*0000000002-mysql-bin\.000002\.json: binlog\.name must be a plain file name/);
    assert.deepEqual(listFiles(out), [], 'restore wrote into --out');
    assert.equal(fs.existsSync(path.join(out, 'replay.sh')), false);
    assert.deepEqual(listFiles(work).filter((f) => !f.startsWith('store/')), ['src/mysql-bin.000002'], 'restore wrote outside --out');
    assert.deepEqual({ sha: sha256(planted), mtime: fs.statSync(planted).mtimeMs }, before);
  });
});
