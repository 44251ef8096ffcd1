/**
 * `npm run demo` (scripts/demo.ts): the main job on the embedded defaults. Archives sample binlogs (real MySQL 5.7 binlogs from
 * test/fixtures) into a local file:// store under a freshly generated local key, verifies the archive,
 * restores it, and compares every restored file with its original (SHA-256). Exit 0 only if all match.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../testenv/versions.ts';

const samples = path.join(REPO_ROOT, 'test', 'fixtures', 'binlogs', 'relaylog', 'kingbus', '5.7');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'binlog-archiver-demo-'));
const binlogs = path.join(work, 'binlogs');
fs.mkdirSync(binlogs);
for (const name of ['mysql_bin.000011', 'mysql_bin.000012', 'mysql_bin.000013']) fs.copyFileSync(path.join(samples, name), path.join(binlogs, name));
const keyFile = path.join(work, 'master.key');
fs.writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
const store = `file://${path.join(work, 'store')}`;
const key = `file://${keyFile}`;
const out = path.join(work, 'restored');

function step(title: string, args: string[]): void {
  process.stdout.write(`\n== ${title}\n$ binlog-archiver ${args.join(' ')}\n`);
  const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'binlog-archiver.js'), ...args, '--quiet'], { stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`demo: step "${title}" failed (exit ${String(result.status)}); files are in ${work}\n`);
    process.exit(1);
  }
}

const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

process.stdout.write(`demo workspace: ${work}\n`);
step('inspect the binlogs', ['inspect', ...fs.readdirSync(binlogs).sort().map((n) => path.join(binlogs, n))]);
step('archive every closed binlog (the newest is treated as the one the server is writing)', ['archive', '--binlog-dir', binlogs, '--store', store, '--key', key]);
step('verify every archived object against the manifest', ['verify', '--store', store, '--key', key]);
step('restore everything archived', ['restore', '--store', store, '--key', key, '--out', out]);

process.stdout.write('\n== compare restored files with the originals (SHA-256)\n');
let ok = true;
for (const name of fs.readdirSync(out).filter((n) => n !== 'replay.sh').sort()) {
  const same = sha(path.join(out, name)) === sha(path.join(binlogs, name));
  ok &&= same;
  process.stdout.write(`${same ? 'identical' : 'DIFFERENT'}  ${name}  ${sha(path.join(out, name))}\n`);
}
process.stdout.write(ok ? `\ndemo passed: archive, verify and restore are byte-exact. Store: ${store}\n` : '\ndemo FAILED\n');
process.exit(ok ? 0 : 1);
