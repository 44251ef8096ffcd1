/**
 * spec.migration.legacy in the operator: the archive Job's arguments and the passphrase Secret mounted as a file,
 * the MigrationParity condition from the Jobs' parity reports (True, ReadyToSwitch, from three consecutive
 * matching cycles), status.migrationVerifiedCycles, and the legacy formats the API accepts are those parity reads.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LEGACY_FORMATS as API_FORMATS } from '../../src/api/migration.ts';
import type { JobView } from '../../src/controller/jobs.ts';
import { computePolicy } from '../../src/controller/policy-state.ts';
import { REPORT_SCHEMA, type ReportParity, type RunReport } from '../../src/contracts/run-report.ts';
import { LEGACY_FORMATS } from '../../src/lifecycle/legacy-location.ts';
import { buildArchiveJob } from '../../src/specs/archive-job.ts';
import { IMAGE, mysqlPod, policy } from '../specs/fixtures.ts';

const NOW = Date.parse('2025-02-01T10:00:00Z');
const clock = { now: () => new Date(NOW) };
const LOCATION = 's3://legacy-binlogs/prod/orders?region=eu-west-1';

function parity(over: Partial<ReportParity> = {}): ReportParity {
  return { ok: true, consecutiveMatchingCycles: 3, matched: 3, problems: 0, pending: 0, detail: null, error: null, ...over };
}

function job(created: number, p: ReportParity | undefined, name = `j${created}`): JobView {
  const report: RunReport = {
    schema: REPORT_SCHEMA, ok: true, source: 'shop-mysql-0', batchId: 'b', archived: 1, skipped: 0, adopted: 0, archivedBytes: 10, objectBytes: 5,
    first: null, last: null, newest: null, activeBinlog: null, gaps: 0, gapDetails: [], durationMs: 1, error: null, ...(p === undefined ? {} : { parity: p }),
  };
  return { name, uid: name, namespace: 'shop', policy: 'orders', pod: 'mysql-0', trigger: 't', correlationId: 'bl-1', phase: 'Succeeded', created, report, reported: true, pods: 1 };
}

function status(jobs: JobView[][], migration = true, previous?: ReturnType<typeof computePolicy>['status']) {
  return computePolicy({
    generation: 1, suspended: false, purgeThresholdSeconds: 3600, clock, migration,
    sources: jobs.map((j, i) => ({ pod: `mysql-${i}`, server: `shop-mysql-${i}`, jobs: j })),
    ...(previous === undefined ? {} : { previous }),
  }).status;
}

const condition = (s: ReturnType<typeof status>) => {
  const c = s.conditions?.find((x) => x.type === 'MigrationParity');
  return c === undefined ? undefined : [c.status, c.reason, c.message];
};

describe('spec.migration.legacy', () => {
  it('the API accepts exactly the formats parity reads', () => {
    assert.deepEqual([...API_FORMATS], [...LEGACY_FORMATS]);
  });

  it('the archive Job runs the parity check, the passphrase a mounted Secret file', () => {
    const p = policy({ migration: { legacy: { location: LOCATION, keySecret: { name: 'legacy-pass' } } } });
    const container = buildArchiveJob(p, mysqlPod(), { image: IMAGE, trigger: 't', correlationId: 'bl-1' }).spec?.template.spec?.containers[0];
    const args = container?.args ?? [];
    const at = args.indexOf('--legacy');
    assert.deepEqual(args.slice(at, at + 6), ['--legacy', LOCATION, '--legacy-format', 'openssl-aes-256-cbc', '--legacy-key', 'file:///var/run/binlog-archiver/legacy-key/passphrase']);
    assert.deepEqual(container?.volumeMounts?.find((m) => m.name === 'legacy-key'), { name: 'legacy-key', mountPath: '/var/run/binlog-archiver/legacy-key', readOnly: true });
    const volume = buildArchiveJob(p, mysqlPod(), { image: IMAGE, trigger: 't', correlationId: 'bl-1' }).spec?.template.spec?.volumes?.find((v) => v.name === 'legacy-key');
    assert.deepEqual(volume?.secret, { secretName: 'legacy-pass', items: [{ key: 'passphrase', path: 'passphrase' }], defaultMode: 0o440 });
    const gz = buildArchiveJob(policy({ migration: { legacy: { location: LOCATION, format: 'gzip' } } }), mysqlPod(), { image: IMAGE, trigger: 't', correlationId: 'bl-1' });
    const gzArgs = gz.spec?.template.spec?.containers[0]?.args ?? [];
    assert.deepEqual(gzArgs.slice(gzArgs.indexOf('--legacy'), gzArgs.indexOf('--legacy') + 4), ['--legacy', LOCATION, '--legacy-format', 'gzip']);
    assert.ok(!gzArgs.includes('--legacy-key'));
    const none = buildArchiveJob(policy(), mysqlPod(), { image: IMAGE, trigger: 't', correlationId: 'bl-1' }).spec?.template.spec?.containers[0]?.args ?? [];
    assert.ok(!none.includes('--legacy'));
  });

  it('MigrationParity: verifying, ready to switch after three cycles, mismatch, check failed, awaiting', () => {
    assert.deepEqual(condition(status([[job(1, parity({ consecutiveMatchingCycles: 2 }))]])), ['False', 'VerifyingParity', '2 consecutive verified rotation cycle(s) of 3']);
    const ready = status([[job(1, parity({ consecutiveMatchingCycles: 1 })), job(2, parity())]]);
    assert.deepEqual(condition(ready), ['True', 'ReadyToSwitch', '3 consecutive verified rotation cycle(s) of 3: switch the restore runbook to binlog-archiver']);
    assert.equal(ready.migrationVerifiedCycles, 3);
    const bad = status([[job(1, parity({ ok: false, consecutiveMatchingCycles: 0, problems: 1, detail: 'differs: mysql-bin.000042' }))]]);
    assert.deepEqual(condition(bad), ['False', 'ParityMismatch', '0 consecutive verified rotation cycle(s) of 3; the legacy pipeline differs: shop-mysql-0: differs: mysql-bin.000042']);
    const failed = status([[job(1, parity({ ok: false, consecutiveMatchingCycles: 0, error: { code: 'EKEY', message: 'cannot read passphrase file' } }))]], true, ready);
    assert.deepEqual(condition(failed)?.slice(0, 2), ['Unknown', 'ParityCheckFailed']);
    assert.equal(failed.migrationVerifiedCycles, 3, 'a check that could not run does not reset the count');
    assert.deepEqual(condition(status([[job(1, undefined)]]))?.slice(0, 2), ['Unknown', 'AwaitingParityCheck']);
  });

  it('the least source decides; without spec.migration there is no condition; Jobs gone keep the last one', () => {
    const two = status([[job(1, parity())], [job(1, parity({ consecutiveMatchingCycles: 1 }), 'k1')]]);
    assert.deepEqual([condition(two)?.[1], two.migrationVerifiedCycles], ['VerifyingParity', 1]);
    const off = status([[job(1, parity())]], false, two);
    assert.equal(condition(off), undefined);
    assert.equal(off.migrationVerifiedCycles, undefined);
    const gone = status([[]], true, status([[job(1, parity())]]));
    assert.deepEqual([condition(gone)?.[1], gone.migrationVerifiedCycles], ['ReadyToSwitch', 3]);
  });
});
