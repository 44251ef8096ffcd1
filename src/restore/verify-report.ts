/**
 * The compact report of a verify run for `--summary-file`: what the operator's scheduled verification Job leaves
 * as its container's termination message (at most 4096 bytes), for status lastVerifiedTime, the objects and bytes
 * verified, the problems found and condition ArchiveVerified. Problems past the limit are counted, not listed.
 */
import type { VerifyReport } from '../contracts/lifecycle-report.ts';
import type { VerifySummary } from './verify-run.ts';

export type { VerifyReport };

export const VERIFY_REPORT_LIMIT = 4096;
const MESSAGE_MAX = 240;

function clip(text: string): string {
  return text.length <= MESSAGE_MAX ? text : `${text.slice(0, MESSAGE_MAX - 1)}…`;
}

function fit(report: VerifyReport): string {
  let text = JSON.stringify(report);
  while (Buffer.byteLength(text) > VERIFY_REPORT_LIMIT && report.problems.length > 0) {
    report.problems.pop();
    text = JSON.stringify(report);
  }
  return text;
}

export function encodeVerifyReport(summary: VerifySummary, finishedAt: Date): string {
  return fit({
    kind: 'verify', ok: summary.problems.length === 0 && summary.orphans.length === 0, finishedAt: finishedAt.toISOString(),
    since: summary.since, sources: summary.sources.length, verified: summary.verified, bytes: summary.bytes, skipped: summary.skipped,
    problemCount: summary.problems.length, orphans: summary.orphans.length,
    problems: summary.problems.map((p) => ({ source: p.source, binlog: p.binlog, code: p.code, message: clip(p.message) })),
  });
}

/** The report of a verify run that could not run at all, written by main.ts when the command throws. */
export function encodeVerifyFailure(error: { code: string; message: string }, finishedAt: Date): string {
  return fit({
    kind: 'verify', ok: false, finishedAt: finishedAt.toISOString(), since: null, sources: 0, verified: 0, bytes: 0, skipped: 0,
    problemCount: 0, orphans: 0, problems: [], error: { code: error.code, message: clip(error.message) },
  });
}
