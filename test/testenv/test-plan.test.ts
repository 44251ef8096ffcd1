/**
 * How `npm test` keeps concurrent test files apart (scripts/test-plan.ts): the claims in their headers, which
 * files may run together, the order they start in; and every test file of the tree has a header it accepts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { canStart, claimsOf, findTestFiles, planTests, type TestFile } from '../../scripts/test-plan.ts';

const file = (name: string, header: string, expectedMs = 0): TestFile => ({ file: name, claims: claimsOf(name, header), expectedMs });

describe('npm test: claims of concurrent test files', () => {
  it('reads exclusive and shared claims from the header line; a file without one claims nothing', () => {
    assert.deepEqual(claimsOf('a', '// test-resources: env-mariadb, cpu:shared\nimport x;'), [
      { name: 'env-mariadb', shared: false }, { name: 'cpu', shared: true },
    ]);
    assert.deepEqual(claimsOf('b', '/** no claims */\nimport x;'), []);
  });

  it('refuses a malformed or unknown claim, naming the file and the known names', () => {
    assert.throws(() => claimsOf('x.test.ts', '// test-resources: Env Mariadb'), /x\.test\.ts: bad test-resources entry "Env Mariadb"/);
    assert.throws(() => claimsOf('y.test.ts', '// test-resources: env-mysql'), /y\.test\.ts: unknown test resource "env-mysql" \(known: env-mariadb,/);
  });

  it('never starts a file beside another that claims the same resource, unless both claim it shared', () => {
    const writer = file('w', '// test-resources: env-mariadb');
    const reader = file('r', '// test-resources: env-mariadb:shared');
    const reader2 = file('r2', '// test-resources: env-mariadb:shared');
    const free = file('f', '');
    assert.equal(canStart(writer, [reader]), false);
    assert.equal(canStart(reader, [writer]), false);
    assert.equal(canStart(writer, [file('w2', '// test-resources: env-mariadb')]), false);
    assert.equal(canStart(reader, [reader2]), true);
    assert.equal(canStart(free, [writer, reader]), true);
    assert.equal(canStart(writer, [free, file('c', '// test-resources: cpu')]), true);
  });

  it('every test file in the tree has a header the planner accepts, and the slow files start first', () => {
    const planned = planTests(findTestFiles([]));
    assert.ok(planned.length > 100, `found ${planned.length} test files`);
    assert.ok(planned.some((t) => t.claims.length > 0), 'some files claim shared state');
    for (let i = 1; i < planned.length; i++) assert.ok(planned[i - 1]!.expectedMs >= planned[i]!.expectedMs, 'longest first');
    for (const t of planned) assert.ok(fs.existsSync(t.file));
  });

  it('refuses a path that does not exist', () => {
    assert.throws(() => findTestFiles(['test/no-such-dir']), /test\/no-such-dir does not exist/);
  });
});
