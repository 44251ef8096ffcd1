/**
 * The planner and the chain check on manifests that disagree with themselves: two entries claiming one sequence
 * number are refused whatever --accept-gaps says (replaying both would apply a binlog twice), and gap messages never
 * read "-1 binlogs between X and X" or "starts after GTIDs ,".
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { planRestore } from '../../src/restore/plan.ts';
import { findGaps } from '../../src/store/continuity.ts';
import { type ManifestEntry, indexRecord, readEntries } from '../../src/store/manifest.ts';
import { openStore } from '../../src/store/open-store.ts';
import { KINGBUS, binlogDir, newKeyUrl, tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';

async function archivedEntries(): Promise<ManifestEntry[]> {
  const { dir } = binlogDir(KINGBUS, 'mysql-bin');
  const work = tempDir();
  const key = newKeyUrl(work);
  const store = `file://${path.join(work, 'store')}`;
  const r = await runCli(['archive', '--binlog-dir', dir, '--store', store, '--key', key, '--source', 'db1', '-q']);
  assert.equal(r.code, 0, r.stderr);
  return readEntries(openStore(store), 'db1');
}

describe('plan and chain on an inconsistent manifest', () => {
  it('two entries with one sequence number: ECONFLICT even with --accept-gaps; the gap says so in words', async () => {
    const entries = await archivedEntries();
    const twin: ManifestEntry = structuredClone(entries[1]!);
    twin.binlog.name = 'other-bin.000002';
    const doubled = [entries[0]!, entries[1]!, twin, entries[2]!];
    const gaps = findGaps(doubled.map(indexRecord));
    assert.deepEqual(gaps.map((g) => g.kind), ['duplicate-sequence']);
    assert.equal(gaps[0]?.detail, 'mysql-bin.000002 and other-bin.000002 both claim sequence 2: the manifest is inconsistent (run verify)');
    for (const g of gaps) assert.doesNotMatch(g.detail, /-\d+ binlogs?/);
    for (const acceptGaps of [false, true]) {
      assert.throws(() => planRestore({ entries: doubled, source: 'db1', target: { kind: 'latest' }, acceptGaps }),
        (err: Error & { code?: string }) => err.code === 'ECONFLICT' && /both claim sequence 2/.test(err.message));
    }
  });

  it('a GTID discontinuity from or to an empty set is described in words', async () => {
    const entries = await archivedEntries();
    const first = structuredClone(entries[0]!);
    first.binlog.previousGtids = '';
    first.binlog.gtidsAdded = '';
    const gaps = findGaps([first, entries[1]!].map(indexRecord));
    assert.equal(gaps.length, 1);
    assert.match(gaps[0]!.detail, /but mysql-bin\.000001 ends at no GTIDs$/);
  });
});

describe('a GTID target before the start point', () => {
  it('is refused (ETARGET) when the base backup holds a GTID past it, not planned as "nothing to replay"', async () => {
    const entries = await archivedEntries();
    const last = entries.at(-1)!;
    const [uuid = '', range = ''] = last.binlog.gtidsAdded.split(':');
    const end = Number(range.split('-').at(-1));
    assert.ok(uuid !== '' && end > 5, last.binlog.gtidsAdded);
    const plan = (from: string, until: string): unknown => planRestore({ entries, source: 'db1', fromGtid: from, target: { kind: 'gtid', text: until } });
    assert.throws(() => plan(`${uuid}:1-${end}`, `${uuid}:1-${end - 4}`),
      (e: unknown) => e instanceof ArchiverError && e.code === 'ETARGET' && e.message.includes(`is before the start point: the base backup (--from-gtid) already holds ${uuid}:${end}, past it`));
    // At the target exactly: nothing to replay, as before.
    assert.equal((plan(`${uuid}:1-${end}`, `${uuid}:1-${end}`) as { files: unknown[] }).files.length, 0);
    // MariaDB positions: past it in a domain the target names.
    const mariadb = entries.map((e) => ({ ...e, source: { ...e.source, flavor: 'mariadb' as const } }));
    assert.throws(() => planRestore({ entries: mariadb, source: 'db1', fromGtid: '0-1-105,1-1-7', target: { kind: 'gtid', text: '0-1-100' } }),
      (e: unknown) => e instanceof ArchiverError && e.code === 'ETARGET' && e.message.includes('already holds 0-1-105, past it'));
  });
});
