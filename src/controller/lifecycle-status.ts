/**
 * status.verification and status.retention from the finished Jobs of the scheduled verify and expire CronJobs:
 * each Job's report (its termination message, src/contracts/lifecycle-report.ts) folded into the previous status.
 * Pure: the same previous status and finished Job always give the same status.
 */
import type { BinlogArchivePolicyStatus } from '../api/types.ts';
import { parseExpireReport, parseVerifyReport } from '../contracts/lifecycle-report.ts';
import type { ControllerMetrics } from '../metrics/metrics.ts';

export type VerificationStatus = NonNullable<BinlogArchivePolicyStatus['verification']>;
export type RetentionStatus = NonNullable<BinlogArchivePolicyStatus['retention']>;

/** A finished Job of a lifecycle CronJob, as the controller sees it. */
export interface FinishedRun {
  jobName: string;
  phase: 'Succeeded' | 'Failed';
  /** The Job's completion (or failure) time. */
  finishedAt: string;
  /** The container's termination message, if its pod was seen. */
  message: string | undefined;
}

const MESSAGE_MAX = 1024;

function latest(a: string | undefined, b: string): string {
  return a !== undefined && Date.parse(a) > Date.parse(b) ? a : b;
}

function clip(text: string): string {
  return text.length <= MESSAGE_MAX ? text : `${text.slice(0, MESSAGE_MAX - 1)}…`;
}

/** The verification status after `run`. Without a report, the run counts as failed with the log tail it left. */
export function verificationAfter(previous: VerificationStatus | undefined, run: FinishedRun): VerificationStatus {
  const report = parseVerifyReport(run.message);
  const keep = previous?.lastVerifiedTime === undefined ? {} : { lastVerifiedTime: previous.lastVerifiedTime };
  if (report === undefined) {
    const tail = run.message === undefined || run.message.trim() === '' ? 'no report (the pod is gone or wrote nothing)' : clip(run.message.trim());
    return { ...keep, lastRunTime: run.finishedAt, jobName: run.jobName, result: 'Failed', objectsVerified: 0, bytesVerified: 0, problems: 0, message: `verify Job ${run.jobName} ${run.phase === 'Failed' ? 'failed' : 'finished'} without a report: ${tail}` };
  }
  const ok = report.ok && run.phase === 'Succeeded';
  const problems = report.problemCount + report.orphans;
  const listed = report.problems.map((p) => `${p.code} ${p.source}/${p.binlog ?? ''}: ${p.message}`).slice(0, 3).join('; ');
  const message = report.error !== undefined ? `verify could not run: ${report.error.code}: ${report.error.message}`
    : ok ? `verified ${report.verified} object(s) (${report.bytes} bytes) in ${report.sources} source(s)${report.since === null ? '' : `, archived since ${report.since}`}`
      : `${problems} problem(s)${report.orphans > 0 ? ` (${report.orphans} object(s) without a manifest entry)` : ''}${listed === '' ? '' : `: ${listed}`}`;
  return {
    // The latest success: an older Job folded after a newer status never moves it back.
    ...(ok ? { lastVerifiedTime: latest(previous?.lastVerifiedTime, report.finishedAt) } : keep),
    lastRunTime: report.finishedAt, jobName: run.jobName, result: ok ? 'Succeeded' : 'Failed',
    objectsVerified: report.verified, bytesVerified: report.bytes, problems, message: clip(message),
  };
}

/** The retention status after `run`: firstRecoverableTime is the latest over the sources (all restorable from it). */
export function retentionAfter(previous: RetentionStatus | undefined, run: FinishedRun): RetentionStatus {
  const report = parseExpireReport(run.message);
  const keep = previous?.firstRecoverableTime === undefined ? {} : { firstRecoverableTime: previous.firstRecoverableTime };
  if (report === undefined || run.phase === 'Failed') {
    const tail = run.message === undefined || run.message.trim() === '' ? 'no report (the pod is gone or wrote nothing)' : clip(run.message.trim());
    return { ...keep, lastExpiryTime: run.finishedAt, jobName: run.jobName, result: 'Failed', objectsExpired: 0, bytesExpired: 0, message: `expire Job ${run.jobName} failed: ${tail}` };
  }
  const times = report.sources.map((s) => s.firstRecoverableTime).filter((t): t is string => t !== null).sort((a, b) => Date.parse(a) - Date.parse(b));
  const latest = times.at(-1);
  const held = report.sources.filter((s) => s.held).map((s) => s.source);
  const message = `expired ${report.deletedObjects} object(s) (${report.deletedBytes} bytes) outside the ${report.recoveryWindow} recovery window`
    + (held.length > 0 ? `; held back by a restore lease or a gap: ${held.slice(0, 3).join(', ')}${held.length > 3 ? ` and ${held.length - 3} more` : ''}` : '');
  return {
    ...(latest === undefined ? keep : { firstRecoverableTime: latest }),
    lastExpiryTime: report.now, jobName: run.jobName, result: 'Succeeded', objectsExpired: report.deletedObjects, bytesExpired: report.deletedBytes, message: clip(message),
  };
}

/** The metrics of a folded run: objects and bytes verified or expired, problems, the last successful verification. */
export function recordRunMetrics(metrics: ControllerMetrics, namespace: string, policy: string, status: { verification?: VerificationStatus; retention?: RetentionStatus }): void {
  const labels = { namespace, policy };
  const v = status.verification;
  if (v !== undefined) {
    metrics.objectsVerified.inc(labels, v.objectsVerified ?? 0);
    metrics.bytesVerified.inc(labels, v.bytesVerified ?? 0);
    metrics.verifyProblems.set(labels, v.problems ?? 0);
    if (v.lastVerifiedTime !== undefined) metrics.setLastVerified(namespace, policy, Date.parse(v.lastVerifiedTime));
  }
  const r = status.retention;
  if (r !== undefined) {
    metrics.objectsExpired.inc(labels, r.objectsExpired ?? 0);
    metrics.bytesExpired.inc(labels, r.bytesExpired ?? 0);
  }
}
