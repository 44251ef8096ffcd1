/**
 * `npm test [-- PATHS...]`: brings the test environment up if it is not (and takes down only what it
 * started), then runs the node:test suites. PATHS may be test files or directories; the default is all of test/.
 * TESTENV_SERVERS=s3,kms limits the servers; tests needing others are then skipped with that reason.
 * Files run TEST_CONCURRENCY at a time (default 3: most of the suite's time is spent waiting on real servers and
 * controllers, not on the two cores); see scripts/test-plan.ts for how files that share state are kept apart.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, VERSIONS, toolDir } from '../testenv/versions.ts';
import { findTestFiles, planTests, recordTimings, type TestFile } from './test-plan.ts';
import { runPool, summarize } from './test-pool.ts';

const cli = path.join(REPO_ROOT, 'testenv', 'cli.ts');

function testenv(...args: string[]): number {
  return spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' }).status ?? 1;
}

function concurrency(): number {
  const raw = process.env.TEST_CONCURRENCY ?? '3';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 16) {
    process.stderr.write(`npm test: TEST_CONCURRENCY=${raw} is not a whole number from 1 to 16\n`);
    process.exit(2);
  }
  return n;
}

let files: TestFile[];
try {
  files = planTests(findTestFiles(process.argv.slice(2)));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
const parallel = concurrency();

// Tests run kubectl by name: where the machine has none, `up` built it into the cache.
const builtKubectl = toolDir('kubectl', VERSIONS.kubernetes);
if (fs.existsSync(path.join(builtKubectl, 'kubectl'))) process.env.PATH = `${builtKubectl}:${process.env.PATH ?? ''}`;
const alreadyUp = spawnSync(process.execPath, [cli, 'status'], { stdio: 'ignore' }).status === 0;
const subset = process.env.TESTENV_SERVERS;
if (!alreadyUp && testenv('up', ...(subset === undefined || subset === '' ? [] : ['--only', subset])) !== 0) {
  process.stderr.write('npm test: the test environment did not come up (see above); no test was run\n');
  process.exit(1);
}
const started = Date.now();
const results = await runPool(files, { concurrency: parallel, fileTimeoutMs: 20 * 60_000, env: process.env });
process.stdout.write(summarize(results, Date.now() - started, parallel));
recordTimings(new Map(results.filter((r) => r.ok).map((r) => [r.file, r.ms])));
if (!alreadyUp) testenv('down');
process.exit(results.length === files.length && results.every((r) => r.ok) ? 0 : 1);
