// test-resources: cpu
/**
 * The reader and the boundary scan give exactly the results recorded in test/fixtures/reader-golden.json (written
 * by reader-golden-write.ts from the reader that built an object per event) on every fixture binlog: BinlogInfo
 * with CRC32 checked and not, at every chunking; every event and transaction; the boundary scans for a spread of
 * targets; and the errors (code and message) of damaged copies.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { GOLDEN, goldenFiles } from './reader-golden.ts';
import { resultsFor } from './reader-results.ts';

const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as { files: Record<string, Record<string, unknown>> };

describe('reader results equal the recorded reference on every fixture binlog', { timeout: 120_000 }, () => {
  test('the reference covers every fixture file', () => {
    assert.deepEqual(Object.keys(golden.files).sort(), goldenFiles().map((f) => f.rel).sort());
  });
  for (const { rel, path } of goldenFiles()) {
    test(rel, async () => {
      const want = golden.files[rel];
      assert.ok(want !== undefined, `no reference for ${rel}`);
      const { results, chunkMismatches } = await resultsFor(path, rel);
      assert.deepEqual(chunkMismatches, [], 'every chunking gives the file reader\'s BinlogInfo');
      for (const [section, value] of Object.entries(results)) {
        if (typeof value === 'object' && value !== null && !Array.isArray(value) && section !== 'info' && section !== 'infoUnchecked') {
          // Keyed sections (scans, damaged copies): name the entries that differ.
          const w = (want[section] ?? {}) as Record<string, unknown>;
          const got = value as Record<string, unknown>;
          const differing = Object.keys({ ...w, ...got }).filter((k) => JSON.stringify(w[k]) !== JSON.stringify(got[k]));
          assert.deepEqual(differing, [], `${rel}: ${section} differ`);
        } else {
          assert.deepEqual(value, want[section], `${rel}: ${section}`);
        }
      }
    });
  }
});
