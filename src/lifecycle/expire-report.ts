/**
 * The compact report of an expire run for `--summary-file`: what the operator's retention Job leaves as its
 * container's termination message (at most 4096 bytes), to show the retained window (firstRecoverableTime) and
 * count objects and bytes expired. Sources past the limit are counted, not listed.
 */
import type { ExpireReport } from '../contracts/lifecycle-report.ts';
import type { ExpireSummary } from './expire-run.ts';

export type { ExpireReport, ExpireReportSource } from '../contracts/lifecycle-report.ts';

export const REPORT_LIMIT = 4096;

export function encodeExpireReport(summary: ExpireSummary): string {
  const report: ExpireReport = {
    kind: 'expire', ok: true, now: summary.now, recoveryWindow: summary.recoveryWindow, dryRun: summary.dryRun,
    deletedObjects: summary.deletedObjects, deletedBytes: summary.deletedBytes, omitted: 0,
    sources: summary.sources.map((s) => ({
      source: s.source, retainedFrom: s.retainedFrom, firstRecoverableTime: s.firstRecoverableTime, deletedObjects: s.deletedObjects,
      deletedBytes: s.deletedBytes, retained: s.retained.length, keptGaps: s.keptGaps.length,
      held: s.notes.some((n) => /restore lease|stopped at a gap|cannot be placed|inconsistent/.test(n)),
    })),
  };
  let text = JSON.stringify(report);
  while (Buffer.byteLength(text) > REPORT_LIMIT && report.sources.length > 0) {
    report.sources.pop();
    report.omitted += 1;
    text = JSON.stringify(report);
  }
  return text;
}
