import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { failureDigest } from '../../scripts/test-failures.ts';
import { tempDir } from '../support/archive.ts';

const run = promisify(execFile);

/** The TAP `node --test` writes for `source`, a test file that is expected to fail. */
async function tapOf(source: string): Promise<string> {
  const file = path.join(tempDir('blarc-tap-'), 'sample.test.ts');
  fs.writeFileSync(file, source);
  try {
    // Without NODE_TEST_CONTEXT, which would make the child report to this test run instead of printing its TAP.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    await run(process.execPath, ['--test', '--test-reporter=tap', file], { env });
    throw new Error('the sample passed');
  } catch (err) {
    if ((err as Error).message === 'the sample passed') throw err;
    return (err as { stdout?: string }).stdout ?? '';
  }
}

describe('npm test failure digest', () => {
  it('names each failing test with its location and message, not the suites around it or the tests that passed', async () => {
    const tap = await tapOf(`import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
describe('outer', () => {
  it('passes', () => {});
  it('reports a Job', () => { assert.equal(1, 2, 'Job failed: {"ok":false,\\n"code":"ESTORE"}'); });
  it('throws', () => { throw new Error('connect ECONNREFUSED 127.0.0.1:9'); });
});`);
    const digest = failureDigest(tap, 'sample.test.ts').join('\n');
    assert.match(digest, /✖ reports a Job\n {6}at .*sample\.test\.ts:5:\d+\n {6}Job failed: \{"ok":false,\n {6}"code":"ESTORE"\}/);
    assert.match(digest, /✖ throws\n[^✖]*connect ECONNREFUSED 127\.0\.0\.1:9/);
    assert.doesNotMatch(digest, /✖ outer|✖ passes/);
  });

  it('shows a failed before hook, not the tests it cancelled; leaves out failing todo tests; unquotes and unescapes', async () => {
    const tap = await tapOf(`import { before, describe, it } from 'node:test';
describe('fixture', () => {
  before(() => { throw new Error('the fixture server did not start'); });
  for (let i = 0; i < 8; i++) it('needs the fixture ' + i, () => {});
});
it('not yet', { todo: true }, () => { throw new Error('todo failure'); });
it("it's #1", () => { throw new Error('one line'); });`);
    const digest = failureDigest(tap, 'sample.test.ts').join('\n');
    assert.match(digest, /✖ fixture\n[^✖]*the fixture server did not start/);
    assert.match(digest, /\(8 tests cancelled by the failure of their suites\)/);
    assert.doesNotMatch(digest, /needs the fixture|todo failure|not yet/);
    assert.match(digest, /✖ it's #1\n {6}at [^\n']*sample\.test\.ts:7:\d+\n {6}one line/);
  });

  it('says so when the file failed without a failing test (killed, or a crash outside any test)', () => {
    assert.deepEqual(failureDigest('TAP version 13\n', 'a.test.ts'), ['  (no failing test in its TAP: the process of a.test.ts exited non-zero or was killed; its output is above)']);
  });

  it('keeps a long message and many failures bounded', async () => {
    const tap = await tapOf(`import { it } from 'node:test';
for (let i = 0; i < 9; i++) it('t' + i, () => { throw new Error(Array.from({ length: 40 }, (_, j) => 'line ' + j + ' ' + 'x'.repeat(500)).join('\\n')); });`);
    const digest = failureDigest(tap, 'sample.test.ts');
    assert.ok(digest.length <= 6 * 16 + 1, `${digest.length} lines`);
    assert.ok(digest.every((l) => l.length < 320));
    assert.match(digest.at(-1)!, /and 3 more failing tests/);
  });
});
