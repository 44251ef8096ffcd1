/**
 * The reports of the scheduled verify and expire Jobs as they travel to the controller: each Job's container
 * writes compact JSON (`verify|expire --summary-file /dev/termination-log`, at most 4096 bytes), the controller
 * reads it from the pod status. The types live here so writer (src/restore/verify-report.ts,
 * src/lifecycle/expire-report.ts) and reader cannot drift; the readers check every field they use, since the text
 * is whatever the container left (a crash leaves its log tail).
 */

export interface VerifyReportProblem {
  source: string;
  binlog: string | null;
  code: string;
  message: string;
}

export interface VerifyReport {
  kind: 'verify';
  /** True when nothing failed: no problem and no object without a manifest entry. */
  ok: boolean;
  /** When the run finished; with ok, the operator's lastVerifiedTime and the next `recent` run's --since. */
  finishedAt: string;
  since: string | null;
  sources: number;
  verified: number;
  bytes: number;
  skipped: number;
  problemCount: number;
  orphans: number;
  problems: VerifyReportProblem[];
  /** Set when the run itself failed (no store, no key): its error code and message. */
  error?: { code: string; message: string };
}

export interface ExpireReportSource {
  source: string;
  retainedFrom: string | null;
  firstRecoverableTime: string | null;
  deletedObjects: number;
  deletedBytes: number;
  /** Objects the store retains (Object Lock, GCS retention or holds) and gaps inside the kept range. */
  retained: number;
  keptGaps: number;
  /** Set when a restore lease or a gap kept this run from deleting what the window allows. */
  held: boolean;
}

export interface ExpireReport {
  kind: 'expire';
  ok: true;
  now: string;
  recoveryWindow: string;
  dryRun: boolean;
  deletedObjects: number;
  deletedBytes: number;
  sources: ExpireReportSource[];
  /** Sources left out to stay within the limit. */
  omitted: number;
}

type Obj = Record<string, unknown>;

function json(text: string | undefined): Obj | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
  } catch {
    return undefined;
  }
}

const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const time = (v: unknown): v is string => typeof v === 'string' && !Number.isNaN(Date.parse(v));

function problem(p: unknown): p is VerifyReportProblem {
  if (typeof p !== 'object' || p === null) return false;
  const o = p as Obj;
  return typeof o.source === 'string' && (o.binlog === null || typeof o.binlog === 'string') && typeof o.code === 'string' && typeof o.message === 'string';
}

/** The verify report in a termination message, or undefined when the text is not one. */
export function parseVerifyReport(text: string | undefined): VerifyReport | undefined {
  const o = json(text);
  if (o?.kind !== 'verify' || typeof o.ok !== 'boolean' || !time(o.finishedAt) || !(o.since === null || time(o.since))) return undefined;
  if (![o.sources, o.verified, o.bytes, o.skipped, o.problemCount, o.orphans].every(count)) return undefined;
  if (!Array.isArray(o.problems) || !o.problems.every(problem)) return undefined;
  const e = o.error as Obj | undefined;
  if (e !== undefined && (typeof e !== 'object' || e === null || typeof e.code !== 'string' || typeof e.message !== 'string')) return undefined;
  return o as unknown as VerifyReport;
}

/** The expire report in a termination message, or undefined when the text is not one. */
export function parseExpireReport(text: string | undefined): ExpireReport | undefined {
  const o = json(text);
  if (o?.kind !== 'expire' || o.ok !== true || !time(o.now) || typeof o.recoveryWindow !== 'string' || typeof o.dryRun !== 'boolean') return undefined;
  if (![o.deletedObjects, o.deletedBytes, o.omitted].every(count) || !Array.isArray(o.sources)) return undefined;
  const sourceOk = (s: unknown): boolean => typeof s === 'object' && s !== null && typeof (s as Obj).source === 'string'
    && ((s as Obj).firstRecoverableTime === null || time((s as Obj).firstRecoverableTime)) && typeof (s as Obj).held === 'boolean';
  if (!o.sources.every(sourceOk)) return undefined;
  return o as unknown as ExpireReport;
}
