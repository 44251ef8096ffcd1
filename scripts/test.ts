/**
 * `npm test [-- PATHS...]`: brings the test environment up if it is not (and takes down only what it
 * started), then runs the node:test suites. PATHS may be test files or directories; the default is all of test/.
 * TESTENV_SERVERS=s3,kms limits the servers; tests needing others are then skipped with that reason.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, VERSIONS, toolDir } from '../testenv/versions.ts';

const cli = path.join(REPO_ROOT, 'testenv', 'cli.ts');

function testenv(...args: string[]): number {
  return spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' }).status ?? 1;
}

function patterns(args: string[]): string[] {
  const given = args.length === 0 ? ['test'] : args;
  return given.map((p) => (fs.existsSync(p) && fs.statSync(p).isDirectory() ? path.join(p, '**', '*.test.ts') : p));
}

// Tests run kubectl by name: where the machine has none, `up` built it into the cache.
const builtKubectl = toolDir('kubectl', VERSIONS.kubernetes);
if (fs.existsSync(path.join(builtKubectl, 'kubectl'))) process.env.PATH = `${builtKubectl}:${process.env.PATH ?? ''}`;
const alreadyUp = spawnSync(process.execPath, [cli, 'status'], { stdio: 'ignore' }).status === 0;
const subset = process.env.TESTENV_SERVERS;
if (!alreadyUp && testenv('up', ...(subset === undefined || subset === '' ? [] : ['--only', subset])) !== 0) {
  process.stderr.write('npm test: the test environment did not come up (see above); no test was run\n');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...patterns(process.argv.slice(2))], { stdio: 'inherit', cwd: REPO_ROOT });
if (!alreadyUp) testenv('down');
process.exit(result.status ?? 1);
