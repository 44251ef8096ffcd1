/** The expire run report stays within a termination message (4096 bytes) however many sources a store holds. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REPORT_LIMIT, encodeExpireReport } from '../../src/lifecycle/expire-report.ts';
import type { ExpireSummary, SourceExpiry } from '../../src/lifecycle/expire-run.ts';

function source(i: number): SourceExpiry {
  return {
    source: `source-with-a-long-name-${String(i).padStart(4, '0')}`, basis: 'window-start', anchorKey: null, windowStart: '2026-01-01T00:00:00.000Z',
    retainedFrom: 'mysql-bin.000123', firstRecoverableTime: '2026-01-01T00:00:00.000Z', expiredBinlogs: ['mysql-bin.000122'], deletedObjects: 2, deletedBytes: 1000,
    retained: [], keptGaps: [], notes: i % 2 === 0 ? ['restore lease lease-x (h, until t) hold the source: nothing is expired while a restore runs'] : [],
  };
}

describe('expire report', () => {
  it('lists what fits in 4096 bytes and counts the sources left out', () => {
    const summary: ExpireSummary = { store: 'file:///x', now: '2026-01-02T00:00:00.000Z', recoveryWindow: '24h', dryRun: false, sources: Array.from({ length: 200 }, (_, i) => source(i)), deletedObjects: 400, deletedBytes: 200_000, durationMs: 1 };
    const text = encodeExpireReport(summary);
    assert.ok(Buffer.byteLength(text) <= REPORT_LIMIT, String(Buffer.byteLength(text)));
    const report = JSON.parse(text) as { sources: { held: boolean }[]; omitted: number; deletedObjects: number };
    assert.equal(report.sources.length + report.omitted, 200);
    assert.ok(report.omitted > 0);
    assert.equal(report.deletedObjects, 400);
    assert.deepEqual(report.sources.slice(0, 2).map((s) => s.held), [true, false]);
  });
});
