/**
 * What a restore Job's container left as its termination message: the JSON summary of `restore --plan-only` or
 * `restore` (`--summary-file`), or its error. Accepted as the CLI writes it (flat, with `kind`) or as `--json`
 * prints a plan (`{ok, plan: {...}}`); checked field by field. Anything else (the log tail the kubelet falls back
 * to) is a failure carrying the CLI's error code when its last words name one.
 */
import type { JSONSchemaProps } from '../api/openapi.ts';
import { schemaProblems } from '../api/validate.ts';

export interface RunError {
  code: string;
  message: string;
  hint?: string;
}

export interface PlanResult {
  files: number;
  bytes: number;
  firstBinlog: string | null;
  lastBinlog: string | null;
  window: { from: string | null; until: string | null };
  gaps: number;
  startPosition: number | null;
  stopPosition: number | null;
  targetReached: string | null;
}

export interface RestoreResult {
  files: number;
  bytes: number;
  appliedTo: string | null;
  targetReached: string | null;
  recoveredUntil?: string;
  recoveredGtidSet?: string;
  /** How a server output was applied (replication or session), and why (the `auto` choice or a fallback). */
  applyMode?: 'session' | 'replication';
  applyModeReason?: string;
}

export type JobOutcome<T> = { ok: true; result: T } | { ok: false; error: RunError };

const nullableString: JSONSchemaProps = {};
const summarySchema: JSONSchemaProps = {
  type: 'object',
  required: ['bytes'],
  properties: {
    files: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, bytes: { type: 'integer' } } } },
    filesCount: { type: 'integer', minimum: 0 },
    bytes: { type: 'integer', minimum: 0 },
    gaps: { type: 'array' },
    gapsCount: { type: 'integer', minimum: 0 },
    window: { type: 'object', properties: { from: { type: 'string' }, until: { type: 'string' } } },
    startPosition: { type: 'integer', minimum: 0 },
    stopPosition: { type: 'integer', minimum: 0 },
    targetReached: { type: 'string' },
    recoveredUntil: { type: 'string', format: 'date-time' },
    recoveredGtidSet: { type: 'string' },
    applyMode: { type: 'string', enum: ['session', 'replication'] },
    applyModeReason: { type: 'string' },
    firstBinlog: nullableString,
    lastBinlog: nullableString,
  },
};
const errorSchema: JSONSchemaProps = { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, hint: { type: 'string' } } };

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function int(v: unknown): number | null {
  return Number.isSafeInteger(v) ? v as number : null;
}

function count(body: Record<string, unknown>, field: string): number {
  const list = body[field];
  return Array.isArray(list) ? list.length : (int(body[`${field}Count`]) ?? 0);
}

/** The failure a non-JSON message says: the CLI's `error ECODE: message` line, else the tail of the text. */
function failureFromText(text: string): RunError {
  const said = /error (E[A-Z]+): ([^\n]*)/.exec(text);
  if (said?.[1] !== undefined) return { code: said[1], message: (said[2] ?? '').slice(0, 1000) };
  return { code: 'EUNKNOWN', message: text.trim().split('\n').slice(-3).join(' | ').slice(0, 1000) };
}

/** The summary object of a message, or the failure it reports. */
function parseMessage(text: string | undefined): JobOutcome<Record<string, unknown>> | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, error: failureFromText(text) };
  }
  if (typeof parsed !== 'object' || parsed === null) return { ok: false, error: failureFromText(text) };
  const o = parsed as Record<string, unknown>;
  if (o.ok === false) {
    const problems = schemaProblems(o.error, errorSchema, '$.error');
    if (problems.length > 0) return { ok: false, error: { code: 'EUNKNOWN', message: `the Job reported a failure the controller cannot read: ${problems.join('; ')}` } };
    const e = o.error as RunError;
    return { ok: false, error: { code: e.code, message: e.message, ...(e.hint === undefined ? {} : { hint: e.hint }) } };
  }
  const body = (typeof o.plan === 'object' && o.plan !== null ? o.plan : o) as Record<string, unknown>;
  const problems = o.ok === true ? schemaProblems(body, summarySchema) : ['$.ok is not true or false'];
  if (problems.length > 0) return { ok: false, error: { code: 'EUNKNOWN', message: `the Job's summary does not match what the controller expects: ${problems.join('; ')}` } };
  return { ok: true, result: body };
}

export function parsePlanMessage(text: string | undefined): JobOutcome<PlanResult> | undefined {
  const m = parseMessage(text);
  if (m === undefined || !m.ok) return m;
  const b = m.result;
  const w = (b.window ?? {}) as Record<string, unknown>;
  return {
    ok: true,
    result: {
      files: count(b, 'files'), bytes: int(b.bytes) ?? 0, firstBinlog: str(b.firstBinlog), lastBinlog: str(b.lastBinlog),
      window: { from: str(w.from), until: str(w.until) }, gaps: count(b, 'gaps'),
      startPosition: int(b.startPosition), stopPosition: int(b.stopPosition), targetReached: str(b.targetReached),
    },
  };
}

export function parseRestoreMessage(text: string | undefined): JobOutcome<RestoreResult> | undefined {
  const m = parseMessage(text);
  if (m === undefined || !m.ok) return m;
  const b = m.result;
  const until = str(b.recoveredUntil);
  const gtids = str(b.recoveredGtidSet);
  const mode = str(b.applyMode);
  const reason = str(b.applyModeReason);
  return {
    ok: true,
    result: {
      files: count(b, 'files'), bytes: int(b.bytes) ?? 0, appliedTo: str(b.appliedTo), targetReached: str(b.targetReached),
      ...(until === null ? {} : { recoveredUntil: until }), ...(gtids === null ? {} : { recoveredGtidSet: gtids }),
      ...(mode === 'session' || mode === 'replication' ? { applyMode: mode } : {}), ...(reason === null ? {} : { applyModeReason: reason.slice(0, 1024) }),
    },
  };
}
