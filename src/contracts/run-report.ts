/**
 * The result of one archive Job as it travels to the controller: the Job's container writes a compact JSON report
 * to its termination message (/dev/termination-log; the kubelet keeps at most 4096 bytes of it), the controller
 * reads it from the pod's containerStatuses[].state.terminated.message. Writer and reader live here so the two
 * sides cannot drift. The report stays under the limit however many binlogs a run archived: counts, the first and
 * last binlog, and at most three gap details, cut to fit.
 */

/** What the report is made from: the fields of pipeline's ArchiveSummary it reads (structural, so no import of it). */
export interface ArchiveSummaryFields {
  source: string | null;
  batchId: string;
  binlogs: ReadonlyArray<{ binlog: string; sequence: number; status: string; bytes: number; lastEventTime: string | null; lastGtid: string | null }>;
  archived: number;
  skipped: number;
  adopted: number;
  objectBytes: number;
  activeBinlog: string | null;
  gaps: ReadonlyArray<{ detail: string }>;
  durationMs: number;
  storeRequests: StoreRequestStats | null;
}

/** Requests a store sent and retried (src/store's StoreRequestStats, structurally). */
export interface StoreRequestStats {
  requests: number;
  retries: Record<string, number>;
}

export const TERMINATION_MESSAGE_MAX = 4096;
export const REPORT_SCHEMA = 'binlog-archiver.dev/run-report/v1';
const MAX_RETRY_REASONS = 8;

export interface ReportBinlog {
  binlog: string;
  sequence: number;
  lastEventTime: string | null;
  lastGtid: string | null;
}

/**
 * The parity check with a legacy pipeline that follows the run when the policy asks for one (spec.migration.legacy;
 * `parity --recent-cycles`): absent otherwise. A failed check does not fail the run: the archive is fine either way.
 */
export interface ReportParity {
  /** Every compared binlog matched (false also when the check itself could not run: see error). */
  ok: boolean;
  /** Consecutive rotation cycles, newest first, whose binlogs all match the legacy pipeline's. */
  consecutiveMatchingCycles: number;
  matched: number;
  /** Binlogs missing on either side, differing, or corrupt. */
  problems: number;
  /** Ours not yet reached by the legacy pipeline (not compared). */
  pending: number;
  /** The first problems, for people, e.g. "differs: mysql-bin.000042". */
  detail: string | null;
  error: { code: string; message: string } | null;
}

export interface RunReport {
  schema: typeof REPORT_SCHEMA;
  ok: boolean;
  source: string | null;
  batchId: string | null;
  /** Newly archived, already archived (skipped), adopted from an interrupted run. */
  archived: number;
  skipped: number;
  adopted: number;
  /** Bytes of the binlogs archived or adopted by this run (skipped ones not counted). */
  archivedBytes: number;
  objectBytes: number;
  /** First and last binlog this run archived or adopted. */
  first: ReportBinlog | null;
  last: ReportBinlog | null;
  /** The newest binlog in the archive after the run (archived, adopted or skipped). */
  newest: ReportBinlog | null;
  activeBinlog: string | null;
  /** Gaps in the whole archived chain of the source after the run. */
  gaps: number;
  gapDetails: string[];
  durationMs: number;
  /** Retries of store requests in the run, by reason (absent in reports of older images, and for file://). */
  storeRetries?: Record<string, number>;
  parity?: ReportParity;
  error: { code: string; message: string; hint?: string } | null;
}

function row(r: ArchiveSummaryFields['binlogs'][number] | undefined): ReportBinlog | null {
  return r === undefined ? null : { binlog: r.binlog, sequence: r.sequence, lastEventTime: r.lastEventTime, lastGtid: r.lastGtid };
}

export function reportFromSummary(s: ArchiveSummaryFields): RunReport {
  const done = s.binlogs.filter((b) => b.status !== 'skipped');
  return {
    schema: REPORT_SCHEMA, ok: true, source: s.source, batchId: s.batchId, archived: s.archived, skipped: s.skipped, adopted: s.adopted,
    archivedBytes: done.reduce((n, b) => n + b.bytes, 0), objectBytes: s.objectBytes,
    first: row(done[0]), last: row(done.at(-1)), newest: row(s.binlogs.at(-1)), activeBinlog: s.activeBinlog,
    gaps: s.gaps.length, gapDetails: s.gaps.slice(0, 3).map((g) => g.detail), durationMs: s.durationMs,
    ...retriesOf(s.storeRequests), error: null,
  };
}

export function reportFromError(error: { code: string; message: string; hint?: string }, source: string | null = null, storeRequests?: StoreRequestStats): RunReport {
  return {
    schema: REPORT_SCHEMA, ok: false, source, batchId: null, archived: 0, skipped: 0, adopted: 0, archivedBytes: 0, objectBytes: 0,
    first: null, last: null, newest: null, activeBinlog: null, gaps: 0, gapDetails: [], durationMs: 0, ...retriesOf(storeRequests), error,
  };
}

/** At most a few reasons with counts: the field stays small whatever happened, and absent when nothing was retried. */
function retriesOf(stats: StoreRequestStats | null | undefined): { storeRetries?: Record<string, number> } {
  const entries = Object.entries(stats?.retries ?? {}).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return {};
  const kept = Object.fromEntries(entries.slice(0, MAX_RETRY_REASONS).map(([reason, n]) => [cut(reason, 40), n]));
  const rest = entries.slice(MAX_RETRY_REASONS).reduce((sum, [, n]) => sum + n, 0);
  return { storeRetries: rest > 0 ? { ...kept, other: rest } : kept };
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function cutParity(p: ReportParity, max: number): ReportParity {
  return { ...p, detail: p.detail === null ? null : cut(p.detail, max), error: p.error === null ? null : { code: p.error.code, message: cut(p.error.message, max) } };
}

/** The report as JSON of at most TERMINATION_MESSAGE_MAX bytes (long texts are cut, never the numbers). */
export function encodeReport(report: RunReport): string {
  let r = report;
  for (const max of [2000, 800, 300, 100]) {
    const text = JSON.stringify(r);
    if (Buffer.byteLength(text) <= TERMINATION_MESSAGE_MAX) return text;
    r = {
      ...r,
      gapDetails: r.gapDetails.map((d) => cut(d, max / 2)),
      newest: r.newest === null ? null : { ...r.newest, lastGtid: r.newest.lastGtid === null ? null : cut(r.newest.lastGtid, max) },
      ...(r.error === null ? {} : { error: { code: r.error.code, message: cut(r.error.message, max), ...(r.error.hint === undefined ? {} : { hint: cut(r.error.hint, max / 2) }) } }),
      ...(r.parity === undefined ? {} : { parity: cutParity(r.parity, max / 2) }),
    };
  }
  return JSON.stringify({ ...r, gapDetails: [], first: null, last: null });
}

/**
 * A termination message as a report. Anything else (the log tail the kubelet falls back to, an older image) is a
 * failure report carrying the text, so a person still sees why the Job failed.
 */
export function parseTerminationMessage(text: string | undefined): RunReport | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<RunReport>;
    if (parsed.schema === REPORT_SCHEMA && typeof parsed.ok === 'boolean') return parsed as RunReport;
    // `archive --json` without --summary-file prints the whole summary (or {ok:false,error}) on stdout.
    const legacy = parsed as { ok?: boolean; error?: { code: string; message: string; hint?: string } } & Partial<ArchiveSummaryFields>;
    if (legacy.ok === false && legacy.error !== undefined) return reportFromError(legacy.error);
    if (legacy.ok === true && Array.isArray(legacy.binlogs)) return reportFromSummary(legacy as ArchiveSummaryFields);
  } catch { /* not JSON: a log tail */ }
  // The CLI's last words on stderr: "binlog-archiver: error EKEYUNAVAILABLE: ...".
  const said = /error (E[A-Z]+): ([^\n]*)/.exec(text);
  if (said?.[1] !== undefined) return reportFromError({ code: said[1], message: cut(said[2] ?? '', 1000) });
  const tail = text.trim().split('\n').slice(-3).join(' | ');
  return reportFromError({ code: 'EUNKNOWN', message: cut(tail, 1000) });
}
