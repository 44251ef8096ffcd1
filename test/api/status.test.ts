import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregateSources, RECENT_RUNS_MAX, recordRun, type RunStatus, type SourceStatus } from '../../src/api/index.ts';

describe('recordRun', () => {
  const run = (n: number): RunStatus => ({ correlationId: `run-${n}`, jobName: `job-${n}`, result: 'Succeeded' });

  it('keeps the newest first and at most RECENT_RUNS_MAX', () => {
    let runs: RunStatus[] = [];
    for (let i = 1; i <= 8; i++) runs = recordRun(runs, run(i));
    assert.equal(RECENT_RUNS_MAX, 5);
    assert.deepEqual(runs.map((r) => r.correlationId), ['run-8', 'run-7', 'run-6', 'run-5', 'run-4']);
  });

  it('replaces a run of the same correlation id (Running -> Succeeded) instead of adding one', () => {
    const runs = recordRun(recordRun([run(1)], { ...run(2), result: 'Running' }), { ...run(2), result: 'Failed', message: 'EKEY' });
    assert.deepEqual(runs, [{ ...run(2), result: 'Failed', message: 'EKEY' }, run(1)]);
  });
});

describe('aggregateSources', () => {
  const s = (pod: string, over: Partial<SourceStatus>): SourceStatus => ({ pod, server: `shop-${pod}`, ...over });

  it('newest archived binlog, largest lag, earliest recoverable time', () => {
    assert.deepEqual(aggregateSources([
      s('mysql-0', { lastArchivedBinlog: 'mysql-bin.000010', lastArchivedTime: '2025-02-01T10:00:00Z', lagSeconds: 4, lastRecoverableTime: '2025-02-01T09:59:00Z' }),
      s('mysql-1', { lastArchivedBinlog: 'mysql-bin.000020', lastArchivedTime: '2025-02-01T10:05:00Z', lagSeconds: 30, lastRecoverableTime: '2025-02-01T09:58:00Z' }),
    ]), { lastArchivedBinlog: 'mysql-1/mysql-bin.000020', lastArchivedTime: '2025-02-01T10:05:00Z', lagSeconds: 30, recoverableUntil: '2025-02-01T09:58:00Z' });
  });

  it('no recoverableUntil while a source has nothing archived; nothing at all without sources', () => {
    assert.deepEqual(aggregateSources([s('mysql-0', { lastRecoverableTime: '2025-02-01T09:59:00Z' }), s('mysql-1', {})]), { lagSeconds: 0 });
    assert.deepEqual(aggregateSources([]), {});
  });
});
