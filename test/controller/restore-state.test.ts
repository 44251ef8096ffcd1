/** The restore decision (pure): by state, the error-code mapping, gaps without acceptGaps, terminal never re-run. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyDefaults, restoreSpec } from '../../src/api/index.ts';
import { reasonForError } from '../../src/api/restore-conditions.ts';
import { type RestoreObservation, type StepJob, decideRestore, restoreStatus } from '../../src/controller/restore-state.ts';

const spec = applyDefaults(restoreSpec, {
  archive: { policyRef: { name: 'p' } }, sourceServer: 'shop-mysql-0', target: { latest: true }, output: { volume: { claimName: 'c' } },
});
const plan = { ok: true, kind: 'plan', source: 'shop-mysql-0', files: [{ name: 'b.000001', sequence: 1, bytes: 10 }], bytes: 10, firstBinlog: 'b.000001', lastBinlog: 'b.000001', window: { from: '2025-01-01T00:00:00Z', until: '2025-01-01T01:00:00Z' }, gaps: [], startPosition: 4, stopPosition: null, targetReached: 'end' };
const done = (name: string, message: string, phase: StepJob['phase'] = 'Succeeded'): StepJob => ({ name, phase, message, pods: 1, completionTime: '2025-01-01T00:00:00Z' });
const obs = (o: Partial<RestoreObservation>): RestoreObservation => ({ spec, generation: 1, previous: undefined, ...o });
const clock = { now: () => new Date('2025-01-01T02:00:00Z') };

describe('restore decision', () => {
  it('error codes map to reasons in one place: a gap (EGAP) and a target outside the archive (ETARGET) by code', () => {
    assert.equal(reasonForError('EGAP', 'plan', false), 'BinlogGapDetected');
    assert.equal(reasonForError('ETARGET', 'plan', false), 'TargetNotInArchive');
    assert.equal(reasonForError('EEXPIRED', 'plan', false), 'TargetNotInArchive');
    assert.equal(reasonForError('EAPPLY', 'restore', true), 'ApplyFailed');
    assert.equal(reasonForError('EINTERRUPTED', 'restore', true), 'Interrupted');
    assert.equal(reasonForError('EKEYUNAVAILABLE', 'restore', true), 'KeyProviderUnavailable');
    assert.equal(reasonForError('ESTOREUNAVAILABLE', 'plan', false), 'StorageUnavailable');
    assert.equal(reasonForError('EMYSQL', 'restore', true), 'ApplyFailed');
    assert.equal(reasonForError('EMYSQL', 'restore', false), 'JobFailed');
  });

  it('no Job: plan; a waiting cause: Pending; plan done: restore; plan with gaps and no acceptGaps: Failed in Planning', () => {
    assert.equal(decideRestore(obs({}), 0).create, 'plan');
    const w = decideRestore(obs({ waiting: { reason: 'ClaimNotFound', what: 'PersistentVolumeClaim c', message: 'no claim' } }), 0);
    assert.deepEqual([w.phase, w.create], ['Pending', undefined]);
    const next = decideRestore(obs({ planJob: done('p', JSON.stringify(plan)) }), Date.parse('2025-01-01T00:00:01Z'));
    assert.deepEqual([next.phase, next.create, next.plan?.files, next.plan?.window.until], ['Restoring', 'restore', 1, '2025-01-01T01:00:00Z']);
    const gapped = decideRestore(obs({ planJob: done('p', JSON.stringify({ ...plan, gaps: [{ kind: 'missing-sequence' }] })) }), 0);
    assert.deepEqual([gapped.phase, gapped.create, gapped.facts.state === 'failed' ? gapped.facts.reason : ''], ['Failed', undefined, 'BinlogGapDetected']);
    const refused = decideRestore(obs({ planJob: done('p', JSON.stringify({ ok: false, kind: 'plan', error: { code: 'EKEYUNAVAILABLE', message: 'KMS unreachable', hint: 'check it' } }), 'Failed') }), 0);
    assert.deepEqual([refused.phase, refused.facts.state === 'failed' ? refused.facts.reason : '', refused.facts.message], ['Failed', 'KeyProviderUnavailable', 'planning failed: EKEYUNAVAILABLE: KMS unreachable (check it)']);
  });

  it('a finished Job without its message yet waits for it; a terminal restore stays as it is, whatever Jobs are seen', () => {
    const lagging = decideRestore(obs({ planJob: { name: 'p', phase: 'Succeeded', pods: 1, completionTime: '2025-01-01T00:00:00Z' } }), Date.parse('2025-01-01T00:00:05Z'));
    assert.deepEqual([lagging.phase, lagging.awaitingMessage, lagging.create], ['Planning', true, undefined]);
    const d = decideRestore(obs({ runJob: done('r', JSON.stringify({ ok: true, kind: 'restore', files: [{ name: 'b.000001' }], bytes: 10, appliedTo: null, targetReached: 'end' })) }), 0);
    const status = restoreStatus(obs({}), d, { correlationId: 'bl-1', clock });
    assert.deepEqual([status.phase, status.binlogsRestored, status.bytesRestored, status.conditions?.map((c) => `${c.type}=${c.status}`)], ['Succeeded', 1, 10, ['Ready=True', 'Reconciling=False', 'Stalled=False']]);
    const again = decideRestore(obs({ previous: status, runJob: done('r', 'garbage', 'Failed') }), 0);
    assert.deepEqual([again.phase, again.create], ['Succeeded', undefined]);
  });
});

describe('the restore Job\'s report, as the controller reads it', () => {
  it('keeps the apply mode and its reason (cut at 1024); a report without them (an older Job) has none; an unknown mode is not read', async () => {
    const { parseRestoreMessage } = await import('../../src/controller/restore-result.ts');
    const ok = parseRestoreMessage(JSON.stringify({ ok: true, kind: 'restore', files: [], bytes: 10, appliedTo: 'db:3306', targetReached: 't',
      applyMode: 'session', applyModeReason: 'auto: session, since the replication apply could not start (nothing was applied): x' }));
    assert.ok(ok?.ok === true);
    assert.equal(ok.result.applyMode, 'session');
    assert.match(ok.result.applyModeReason ?? '', /^auto: session, since/);
    const long = parseRestoreMessage(JSON.stringify({ ok: true, bytes: 0, applyMode: 'replication', applyModeReason: 'r'.repeat(2000) }));
    assert.ok(long?.ok === true);
    assert.equal(long.result.applyModeReason?.length, 1024);
    const older = parseRestoreMessage(JSON.stringify({ ok: true, bytes: 0 }));
    assert.ok(older?.ok === true);
    assert.equal(older.result.applyMode, undefined);
    assert.equal(older.result.applyModeReason, undefined);
    const odd = parseRestoreMessage(JSON.stringify({ ok: true, bytes: 0, applyMode: 'fast' }));
    assert.ok(odd?.ok === false);
    assert.match(odd.error.message, /applyMode/);
  });
});
