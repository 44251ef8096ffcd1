/**
 * The planning fields re-derived from a binlog's bytes, fed in chunks as a decoder produces them, equal what the
 * archive recorded from the file; an edited field is named with both values; the digest is canonical.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { inspectBinlog } from '../../src/binlog/index.ts';
import { canonicalPlanningJson, createPlanningDeriver, planningDigest, planningDigestMismatch, planningFieldsOf, planningMismatches } from '../../src/restore/planning-fields.ts';
import type { ManifestEntry } from '../../src/store/manifest.ts';
import { FIXTURES, KINGBUS } from '../support/archive.ts';

function entryOf(fields: ReturnType<typeof planningFieldsOf>): ManifestEntry {
  return {
    source: { name: 's', ...fields.source },
    binlog: { name: 'b.000001', sequence: 1, sha256: '00', ...fields.binlog },
  } as ManifestEntry;
}

test('streamed derivation in odd-sized chunks equals the file inspection, for plain, MariaDB and MySQL-encrypted binlogs', async () => {
  const files = [KINGBUS[1]!, path.join(FIXTURES, 'mariadb/rust_mysql_common/mariadb-bin.000001'), path.join(FIXTURES, 'encrypted/lightning/binlog.encrypted')];
  for (const target of files) {
    const bytes = fs.readFileSync(target);
    const deriver = createPlanningDeriver(target);
    for (let i = 0; i < bytes.length; i += 977) deriver.write(bytes.subarray(i, i + 977));
    const derived = deriver.finish();
    const fromFile = planningFieldsOf(await inspectBinlog(target));
    assert.deepEqual(derived, fromFile, target);
    assert.deepEqual(planningMismatches(entryOf(fromFile), derived), []);
  }
});

test('each edited planning field is named with the manifest value and the value in the bytes', async () => {
  const derived = planningFieldsOf(await inspectBinlog(KINGBUS[1]!));
  const entry = entryOf(derived);
  entry.binlog.lastEventTime = '2001-01-01T00:00:00.000Z';
  entry.binlog.gtidsAdded = '';
  entry.binlog.endPosition = derived.binlog.endPosition - 1;
  entry.source.version = null;
  const problems = planningMismatches(entry, derived);
  assert.equal(problems.length, 4, problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('binlog.lastEventTime: manifest "2001-01-01T00:00:00.000Z", binlog bytes ') && p.includes(JSON.stringify(derived.binlog.lastEventTime))));
  assert.ok(problems.some((p) => p === `binlog.gtidsAdded: manifest "", binlog bytes ${JSON.stringify(derived.binlog.gtidsAdded)}`));
  assert.ok(problems.some((p) => p === `binlog.endPosition: manifest ${derived.binlog.endPosition - 1}, binlog bytes ${derived.binlog.endPosition}`));
  assert.ok(problems.some((p) => p.startsWith('source.version: manifest null')));
  const missing = entryOf(derived) as unknown as { binlog: Record<string, unknown> };
  delete missing.binlog.previousGtids;
  assert.deepEqual(planningMismatches(missing as unknown as ManifestEntry, derived), [`binlog.previousGtids: manifest nothing, binlog bytes ${JSON.stringify(derived.binlog.previousGtids)}`]);
});

test('the planning digest is over canonical JSON without nulls, and tells an edited entry from a true one', async () => {
  const derived = planningFieldsOf(await inspectBinlog(KINGBUS[0]!));
  const json = canonicalPlanningJson(derived).toString('utf8');
  assert.ok(!json.includes('null') && !json.includes(' '), json);
  assert.match(json, /^\{"binlog":\{"checksumAlg":/);
  const digest = planningDigest(derived).toString('hex');
  assert.equal(planningDigestMismatch(entryOf(derived), digest), null);
  assert.equal(planningDigestMismatch(entryOf(derived), null), null, 'a v1 object has no digest to compare');
  const edited = entryOf(derived);
  edited.binlog.previousGtids = 'a'.repeat(8);
  assert.match(planningDigestMismatch(edited, digest) ?? '', /digest to [0-9a-f]{64}; the object authenticates/);
  const broken = entryOf(derived) as unknown as { binlog: Record<string, unknown> };
  broken.binlog.size = { x: 1 };
  assert.match(planningDigestMismatch(broken as unknown as ManifestEntry, digest) ?? '', /malformed/);
});
