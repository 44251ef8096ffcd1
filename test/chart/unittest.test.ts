/**
 * helm-unittest (built from its module, run standalone) on charts/binlog-archiver/tests: the values that change the
 * output, asserted per template, and a suite that must fail so a passing run is known to assert something.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ensureHelmUnittest } from '../../testenv/chart-tools.ts';
import { CHART, exec } from './helm.ts';

describe('chart: helm-unittest suites', () => {
  it('every suite in charts/binlog-archiver/tests passes', async () => {
    const r = await exec(await ensureHelmUnittest(), [CHART]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const suites = fs.readdirSync(path.join(CHART, 'tests')).filter((f) => f.endsWith('_test.yaml')).length;
    assert.match(r.stdout, new RegExp(`Test Suites: ${suites} passed, ${suites} total`));
    assert.match(r.stdout, /Tests: +(\d+) passed, \1 total/);
  });

  it('a wrong expectation fails the run (the suites really assert)', async () => {
    // A copy of the chart whose deployment suite expects three replicas by default.
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'chart-unittest-'));
    try {
      fs.cpSync(CHART, copy, { recursive: true });
      const suite = path.join(copy, 'tests', 'deployment_test.yaml');
      fs.writeFileSync(suite, fs.readFileSync(suite, 'utf8').replace('{path: spec.replicas, value: 2}', '{path: spec.replicas, value: 3}'));
      const r = await exec(await ensureHelmUnittest(), [copy]);
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stdout, /Test Suites: 1 failed/);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });
});
