// test-resources: cpu
/**
 * A short, fixed-seed round of each fuzz target (scripts/fuzz, docs/TESTING.md "Fuzzing"): zero crashes, zero
 * hangs, zero accepted forgeries. Plus the fuzzer's own checks: a seed replays the same mutations, and the
 * watchdog reports a case that hangs or crashes instead of blocking.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Rng, caseSeed, mutate } from '../../scripts/fuzz/mutate.ts';
import { type RunOptions, type TargetCounts, describeFindings, runTarget } from '../../scripts/fuzz/runner.ts';
import { KINGBUS, tempDir } from '../support/archive.ts';
import { REPO_ROOT } from '../../testenv/versions.ts';

const SEED = 20240917;
/** Reproducers of failures in the fixed-seed rounds, kept for the developer to read (named in the failure). */
const OUT = path.join(REPO_ROOT, 'fuzz-out');

function options(target: RunOptions['target'], maxCases: number, outDir: string): RunOptions {
  return { target, seed: SEED, seconds: 600, firstCase: 0, maxCases, caseTimeoutMs: 15_000, cliEvery: 15, outDir };
}

function assertClean(c: TargetCounts, cases: number): void {
  const findings = describeFindings(c).join('\n');
  assert.equal(c.runs, cases, `ran ${c.runs} of ${cases} cases`);
  assert.deepEqual({ crashes: c.crashes, hangs: c.hangs, forgeries: c.forgeries }, { crashes: 0, hangs: 0, forgeries: 0 }, `seed ${c.seed}:\n${findings}`);
  // The round must exercise the refusals it is about, not only unchanged or accepted inputs.
  assert.ok(c.refused > cases / 2, `only ${c.refused} of ${cases} cases were refused`);
}

describe('fuzzing, fixed seed', () => {
  it('the mutator replays a case exactly from its seed, and different cases differ', () => {
    const input = fs.readFileSync(KINGBUS[0] as string);
    const run = (i: number): Buffer => mutate(input, new Rng(caseSeed(SEED, 'reader', i)), { boundaries: [4, 123], lengthFields: [{ at: 13, width: 4, littleEndian: true }] }, [input]).bytes;
    assert.ok(run(7).equals(run(7)));
    const distinct = new Set(Array.from({ length: 20 }, (_, i) => run(i).toString('hex')));
    assert.ok(distinct.size >= 18, `only ${distinct.size} distinct mutations of 20`);
  });

  it('the runner reports a hanging case and an untyped error, with reproducers, and goes on', async (t) => {
    const out = tempDir('blarc-fuzz-out-');
    t.after(() => fs.rmSync(out, { recursive: true, force: true }));
    const c = await runTarget({ ...options('reader', 5, out), module: new URL('./stuck-target.ts', import.meta.url), caseTimeoutMs: 1000 });
    assert.deepEqual({ runs: c.runs, hangs: c.hangs, crashes: c.crashes, refused: c.refused, accepted: c.accepted }, { runs: 5, hangs: 1, crashes: 1, refused: 2, accepted: 1 });
    assert.deepEqual(c.findings.map((f) => [f.index, f.verdict]), [[1, 'hang'], [2, 'crash']]);
    for (const f of c.findings) {
      const doc = JSON.parse(fs.readFileSync(path.join(f.reproducer ?? '', 'case.json'), 'utf8')) as { seed: number; index: number; verdict: string };
      assert.deepEqual([doc.seed, doc.index, doc.verdict], [SEED, f.index, f.verdict]);
      assert.equal(fs.readFileSync(path.join(f.reproducer ?? '', 'files', 'input.bin'), 'utf8'), `case ${f.index}`);
    }
  });

  it('reader: mutated real binlogs are accepted or refused with a binlog error, never crash or hang', async () => {
    const c = await runTarget(options('reader', 1500, OUT));
    assertClean(c, 1500);
  });

  it('objects: mutated objects, sidecars and manifest entries are refused with a typed error, never accepted', async () => {
    const c = await runTarget(options('objects', 60, OUT));
    assertClean(c, 60);
  });
});
