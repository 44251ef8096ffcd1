/**
 * `verify --since TIME --summary-file F`, as the operator's scheduled verification Job runs it: only objects
 * archived from TIME on are decoded (scope `recent`), the chain is still checked, and the compact report (at most
 * 4096 bytes) says what was verified and what failed; a run that cannot start still leaves a report.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { VERIFY_REPORT_LIMIT, type VerifyReport, encodeVerifyReport } from '../../src/restore/verify-report.ts';
import type { VerifySummary } from '../../src/restore/verify-run.ts';
import { KINGBUS, binlogDir, listFiles, newKeyUrl, tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';

async function archived(): Promise<{ work: string; store: string; key: string; storeDir: string }> {
  const { dir } = binlogDir(KINGBUS, 'mysql-bin');
  const work = tempDir();
  const key = newKeyUrl(work);
  const storeDir = path.join(work, 'store');
  const store = `file://${storeDir}`;
  const archive = await runCli(['archive', '--binlog-dir', dir, '--store', store, '--key', key, '--json']);
  assert.equal(archive.code, 0, archive.stderr);
  return { work, store, key, storeDir };
}

function report(file: string): VerifyReport {
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(Buffer.byteLength(text) <= VERIFY_REPORT_LIMIT);
  return JSON.parse(text) as VerifyReport;
}

describe('verify --since and --summary-file', () => {
  it('decodes only what was archived since TIME, and the report counts verified, skipped and problems', async () => {
    const { work, store, key, storeDir } = await archived();
    const file = path.join(work, 'report.json');
    const all = await runCli(['verify', '--store', store, '--key', key, '--since', '2000-01-01T00:00:00Z', '--summary-file', file]);
    assert.equal(all.code, 0, all.stderr);
    const first = report(file);
    assert.deepEqual([first.kind, first.ok, first.verified, first.skipped, first.problemCount, first.since], ['verify', true, 3, 0, 0, '2000-01-01T00:00:00.000Z']);
    assert.ok(first.bytes > 0);
    assert.ok(Date.parse(first.finishedAt) <= Date.now());

    // One object corrupted: a run scoped after its archival does not decode it; a full run reports it by name.
    const object = listFiles(storeDir).find((f) => f.startsWith('binlogs/') && f.includes('mysql-bin.000002') && !f.endsWith('.json'));
    assert.ok(object !== undefined, listFiles(storeDir).join(', '));
    const bytes = fs.readFileSync(path.join(storeDir, object));
    bytes[bytes.length - 1]! ^= 0xff;
    fs.writeFileSync(path.join(storeDir, object), bytes);
    const later = new Date(Date.now() + 60_000).toISOString();
    const recent = await runCli(['verify', '--store', store, '--key', key, '--since', later, '--summary-file', file]);
    assert.equal(recent.code, 0, recent.stderr);
    assert.deepEqual((({ ok, verified, skipped }) => ({ ok, verified, skipped }))(report(file)), { ok: true, verified: 0, skipped: 3 });
    const full = await runCli(['verify', '--store', store, '--key', key, '--summary-file', file]);
    assert.equal(full.code, 1);
    const failed = report(file);
    assert.deepEqual([failed.ok, failed.verified, failed.problemCount, failed.since], [false, 2, 1, null]);
    assert.equal(failed.problems[0]?.binlog, 'mysql-bin.000002');
  });

  it('refuses a bad --since (exit 2) and leaves a failure report when the store holds nothing', async () => {
    const work = tempDir();
    const key = newKeyUrl(work);
    const bad = await runCli(['verify', '--store', `file://${work}/empty`, '--key', key, '--since', 'yesterday']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--since/);
    const file = path.join(work, 'report.json');
    const empty = await runCli(['verify', '--store', `file://${work}/empty`, '--key', key, '--summary-file', file]);
    assert.notEqual(empty.code, 0);
    const r = report(file);
    assert.deepEqual([r.ok, r.error?.code], [false, 'ENOTFOUND']);
  });

  it('keeps the report within 4096 bytes however many problems, counting them all', () => {
    const problems = Array.from({ length: 500 }, (_, i) => ({ source: 's', binlog: `mysql-bin.${String(i).padStart(6, '0')}`, objectKey: 'k', code: 'EVERIFY', message: 'x'.repeat(1000) }));
    const summary: VerifySummary = { store: 'file:///x', sources: [], verified: 1, bytes: 2, problems, orphans: [], skipped: 0, since: null, durationMs: 1 };
    const text = encodeVerifyReport(summary, new Date(0));
    assert.ok(Buffer.byteLength(text) <= VERIFY_REPORT_LIMIT);
    const r = JSON.parse(text) as VerifyReport;
    assert.equal(r.problemCount, 500);
    assert.ok(r.problems.length > 0 && r.problems.length < 500);
  });
});
