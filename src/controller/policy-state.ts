/**
 * From observed state to the policy status: pure functions of what the controller saw (agent states, the store
 * index, the archive Jobs and their reports, the previous status) and a clock. No I/O here; the reconciler
 * gathers the inputs and writes the result.
 */
import { parseGtidSet, parseSequence, type GtidSet } from '../binlog/index.ts';
import {
  type Clock, type PolicyFacts, type Probe, type SourceFacts,
  continuousArchivingCondition, readyCondition, reconcilingCondition, setCondition, stalledCondition,
} from '../api/conditions.ts';
import { migrationParity } from './legacy-parity.ts';
import { SOURCES_MAX } from '../api/policy-status.ts';
import { aggregateSources, recordRun } from '../api/status.ts';
import type { BinlogArchivePolicyStatus, Condition, RunStatus, SourceStatus } from '../api/types.ts';
import { findGaps } from '../store/continuity.ts';
import type { AgentBinlog, AgentView } from './agent-watch.ts';
import { type JobView, failureCode, failureMessage } from './jobs.ts';
import type { IndexResult } from './store-view.ts';

export interface SourceInput {
  pod: string;
  /** Source name in the store: <namespace>-<pod>. */
  server: string;
  agent?: AgentView;
  index?: IndexResult;
  /** This pod's archive Jobs, oldest first. */
  jobs: JobView[];
  previous?: SourceStatus;
  /** Why the pod cannot be archived (the Job builder refused it). */
  unarchivable?: string;
}

export interface PolicyInput {
  generation: number;
  suspended: boolean;
  /** spec.purgeRisk.expireLogsSeconds. */
  expireLogsSeconds?: number;
  purgeThresholdSeconds: number;
  sources: SourceInput[];
  previous?: BinlogArchivePolicyStatus;
  clock: Clock;
  /** spec.migration is set: MigrationParity from the Jobs' parity reports (legacy-parity.ts). */
  migration?: boolean;
}

export interface Archived {
  /** Names in the store index (when the controller reads the store). */
  names?: Set<string>;
  count: number;
  lastBinlog?: string;
  lastSequence?: number;
  lastArchivedTime?: string;
  firstRecoverableTime?: string;
  lastRecoverableTime?: string;
  archivedGtidSet?: string;
  gaps: number;
  gapDetails: string[];
}

export interface SourceComputed {
  input: SourceInput;
  status: SourceStatus;
  facts: SourceFacts;
  archived: Archived;
  /** Closed binlogs not archived, oldest first (empty when the agent state is unknown). */
  pending: AgentBinlog[];
  newestClosed?: AgentBinlog;
  agentKnown: boolean;
  expireLogsSeconds?: number;
  lastFinished?: JobView;
  lastSuccess?: JobView;
  running?: JobView;
}

export interface PolicyComputed {
  status: BinlogArchivePolicyStatus;
  facts: PolicyFacts;
  sources: SourceComputed[];
}

const STORAGE_CODES = new Set(['ESTORE', 'ESTOREUNAVAILABLE', 'ENOSPACE']);
/** Ready reasons a person was warned about, whose end is worth an event too. */
const RECOVERABLE: ReadonlySet<string> = new Set(['KeyProviderUnavailable', 'StorageUnavailable', 'ArchiveJobFailed']);
const KEY_CODES = new Set(['EKEY', 'EKEYUNAVAILABLE']);

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function unionGtids(entries: ReadonlyArray<{ gtidsAdded: string; flavor: 'mysql' | 'mariadb' }>): string | undefined {
  let set: GtidSet | undefined;
  for (const e of entries) {
    if (e.gtidsAdded === '') continue;
    const next = parseGtidSet(e.flavor, e.gtidsAdded);
    if (set === undefined) set = next;
    else if (set.flavor === 'mysql' && next.flavor === 'mysql') set = set.union(next);
    else if (set.flavor === 'mariadb' && next.flavor === 'mariadb') set = set.union(next);
  }
  return set?.format();
}

/** What is archived for one source: the store index when read, else the previous status moved on by Job reports. */
export function archivedOf(input: SourceInput, now: number): Archived {
  const prev = input.previous;
  const lastSuccess = input.jobs.filter((j) => j.phase === 'Succeeded' && j.report?.ok === true).at(-1);
  const lastWrite = input.jobs.filter((j) => j.phase === 'Succeeded' && j.report !== undefined && j.report.archived + j.report.adopted > 0).at(-1);
  const index = input.index;
  if (index?.ok === true) {
    const entries = index.entries;
    const last = entries.at(-1);
    const gaps = findGaps(entries);
    const details = [...gaps.map((g) => g.detail), ...index.missingObjects.map((n) => `${n} is in the manifest but its archive object is missing from the store`)];
    let lastArchivedTime: string | undefined;
    if (last !== undefined) {
      if (lastWrite?.report?.newest?.binlog === last.name && lastWrite.completionTime !== undefined) lastArchivedTime = lastWrite.completionTime;
      else if (prev?.lastArchivedBinlog === last.name && prev.lastArchivedTime !== undefined) lastArchivedTime = prev.lastArchivedTime;
      else lastArchivedTime = index.updatedAt === null ? iso(now) : index.updatedAt.replace(/\.\d{3}Z$/, 'Z');
    }
    const gtids = unionGtids(entries);
    return {
      names: new Set(entries.map((e) => e.name)),
      count: entries.length,
      ...(last === undefined ? {} : { lastBinlog: last.name, lastSequence: last.sequence }),
      ...(lastArchivedTime === undefined ? {} : { lastArchivedTime }),
      ...(entries[0]?.firstEventTime == null ? {} : { firstRecoverableTime: entries[0].firstEventTime }),
      ...(last?.lastEventTime == null ? {} : { lastRecoverableTime: last.lastEventTime }),
      ...(gtids === undefined ? {} : { archivedGtidSet: gtids }),
      gaps: details.length,
      gapDetails: details,
    };
  }
  const a: Archived = { count: 0, gaps: prev?.gaps ?? 0, gapDetails: [] };
  if (prev?.lastArchivedBinlog !== undefined) {
    a.lastBinlog = prev.lastArchivedBinlog;
    a.lastSequence = parseSequence(prev.lastArchivedBinlog) ?? undefined;
    a.count = 1;
  }
  if (prev?.lastArchivedTime !== undefined) a.lastArchivedTime = prev.lastArchivedTime;
  if (prev?.firstRecoverableTime !== undefined) a.firstRecoverableTime = prev.firstRecoverableTime;
  if (prev?.lastRecoverableTime !== undefined) a.lastRecoverableTime = prev.lastRecoverableTime;
  if (prev?.archivedGtidSet !== undefined) a.archivedGtidSet = prev.archivedGtidSet;
  const newest = lastSuccess?.report?.newest;
  if (lastSuccess?.report !== undefined && newest != null && (a.lastSequence === undefined || newest.sequence >= a.lastSequence)) {
    a.lastBinlog = newest.binlog;
    a.lastSequence = newest.sequence;
    a.count = Math.max(1, a.count);
    if (newest.lastEventTime !== null) a.lastRecoverableTime = newest.lastEventTime;
    if (lastWrite === lastSuccess && lastSuccess.completionTime !== undefined) a.lastArchivedTime = lastSuccess.completionTime;
    a.gaps = lastSuccess.report.gaps;
    a.gapDetails = lastSuccess.report.gapDetails;
  }
  return a;
}

export function computeSource(input: SourceInput, ctx: { now: number; specExpire?: number }): SourceComputed {
  const { now } = ctx;
  const archived = archivedOf(input, now);
  const state = input.agent?.state;
  const closed = (state?.binlogs ?? []).filter((b) => b.closed).sort((a, b) => a.sequence - b.sequence);
  const isArchived = (b: AgentBinlog) => (archived.names !== undefined
    ? archived.names.has(b.name)
    : archived.lastSequence !== undefined && b.sequence <= archived.lastSequence);
  const pending = closed.filter((b) => !isArchived(b));
  const oldest = pending[0];
  const expire = ctx.specExpire ?? state?.expireLogsSeconds ?? undefined;
  const lag = oldest === undefined ? 0 : Math.max(0, Math.floor((now - Date.parse(oldest.mtime)) / 1000));
  const secondsUntilPurge = oldest === undefined || expire === undefined ? undefined : Math.floor((Date.parse(oldest.mtime) + expire * 1000 - now) / 1000);
  const finished = input.jobs.filter((j) => j.phase !== 'Running');
  const lastFinished = finished.at(-1);
  const lastSuccess = input.jobs.filter((j) => j.phase === 'Succeeded').at(-1);
  const running = input.jobs.find((j) => j.phase === 'Running');
  const status: SourceStatus = {
    pod: input.pod,
    server: input.server,
    ...(archived.lastBinlog === undefined ? {} : { lastArchivedBinlog: archived.lastBinlog }),
    ...(archived.lastArchivedTime === undefined ? {} : { lastArchivedTime: archived.lastArchivedTime }),
    ...(archived.archivedGtidSet === undefined ? {} : { archivedGtidSet: archived.archivedGtidSet }),
    ...(archived.firstRecoverableTime === undefined ? {} : { firstRecoverableTime: archived.firstRecoverableTime }),
    ...(archived.lastRecoverableTime === undefined ? {} : { lastRecoverableTime: archived.lastRecoverableTime }),
    ...(state === undefined ? {} : { pendingBinlogs: pending.length, lagSeconds: lag }),
    ...(secondsUntilPurge === undefined ? {} : { secondsUntilPurge }),
    gaps: archived.gaps,
  };
  const facts: SourceFacts = {
    server: input.server,
    archived: archived.count,
    pendingBinlogs: pending.length,
    lagSeconds: lag,
    ...(secondsUntilPurge === undefined ? {} : { secondsUntilPurge }),
    gaps: archived.gaps,
    ...(lastFinished?.phase === 'Failed' ? { lastRunFailure: failureMessage(lastFinished) } : {}),
    ...(input.unarchivable === undefined ? {} : { unarchivable: input.unarchivable }),
  };
  return {
    input, status, facts, archived, pending, agentKnown: state !== undefined,
    ...(closed.at(-1) === undefined ? {} : { newestClosed: closed.at(-1) }),
    ...(expire === undefined ? {} : { expireLogsSeconds: expire }),
    ...(lastFinished === undefined ? {} : { lastFinished }),
    ...(lastSuccess === undefined ? {} : { lastSuccess }),
    ...(running === undefined ? {} : { running }),
  };
}

function probe(sources: readonly SourceComputed[], codes: ReadonlySet<string>): Probe {
  for (const s of sources) {
    const j = s.lastFinished;
    if (j?.phase === 'Failed' && codes.has(failureCode(j))) return { ok: false, message: `${s.input.server}: ${failureMessage(j)}` };
  }
  return { ok: true };
}

function storageProbe(sources: readonly SourceComputed[]): Probe {
  const fromJobs = probe(sources, STORAGE_CODES);
  if (!fromJobs.ok) return fromJobs;
  for (const s of sources) {
    if (s.input.index?.ok === false) return { ok: false, message: `the controller cannot read the archive index of ${s.input.server}: ${s.input.index.message}` };
  }
  return { ok: true };
}

export function runOf(job: JobView, server: string): RunStatus {
  const r = job.report;
  const message = job.phase === 'Failed'
    ? failureMessage(job)
    : job.phase === 'Succeeded' && r !== undefined
      ? `archived ${r.archived}, adopted ${r.adopted}, already archived ${r.skipped}${r.gaps > 0 ? `; ${r.gaps} gap(s)` : ''}`
      : undefined;
  return {
    correlationId: job.correlationId === '' ? job.uid : job.correlationId,
    jobName: job.name,
    source: server,
    ...(job.startTime === undefined ? {} : { startTime: job.startTime }),
    ...(job.completionTime === undefined ? {} : { completionTime: job.completionTime }),
    result: job.phase,
    ...(r === undefined || job.phase !== 'Succeeded' ? {} : { binlogsArchived: r.archived + r.adopted, bytesArchived: r.archivedBytes }),
    ...(message === undefined ? {} : { message: message.slice(0, 4096) }),
  };
}

export function computePolicy(input: PolicyInput): PolicyComputed {
  const now = input.clock.now().getTime();
  const sources = [...input.sources].sort((a, b) => a.pod.localeCompare(b.pod)).slice(0, SOURCES_MAX)
    .map((s) => computeSource(s, { now, ...(input.expireLogsSeconds === undefined ? {} : { specExpire: input.expireLogsSeconds }) }));
  const facts: PolicyFacts = {
    suspended: input.suspended,
    storage: storageProbe(sources),
    keyProvider: probe(sources, KEY_CODES),
    sources: sources.map((s) => s.facts),
    purgeThresholdSeconds: input.purgeThresholdSeconds,
  };
  const refused = probe(sources, new Set(['EKEY']));
  if (!refused.ok) facts.keyRefused = refused.message;
  const ctx = { generation: input.generation, clock: input.clock };
  let conditions: Condition[] = input.previous?.conditions ?? [];
  conditions = setCondition(conditions, readyCondition(facts, ctx));
  conditions = setCondition(conditions, continuousArchivingCondition(facts, ctx));
  conditions = setCondition(conditions, reconcilingCondition(facts, ctx));
  conditions = setCondition(conditions, stalledCondition(facts, ctx));
  const parity = migrationParity(input.migration === true, sources.map((s) => ({ server: s.input.server, jobs: s.input.jobs })), conditions, input.previous, ctx);
  conditions = parity.conditions;
  let runs = input.previous?.recentRuns ?? [];
  const jobs = sources.flatMap((s) => s.input.jobs.map((j) => ({ j, server: s.input.server }))).sort((a, b) => a.j.created - b.j.created || a.j.name.localeCompare(b.j.name));
  for (const { j, server } of jobs) runs = recordRun(runs, runOf(j, server));
  const statuses = sources.map((s) => s.status);
  const expire = input.expireLogsSeconds ?? sources.find((s) => s.expireLogsSeconds !== undefined)?.expireLogsSeconds;
  const status: BinlogArchivePolicyStatus = {
    observedGeneration: input.generation,
    conditions,
    sources: statuses,
    ...aggregateSources(statuses),
    ...(expire === undefined ? {} : { expireLogsSeconds: expire }),
    ...(parity.verifiedCycles === undefined ? {} : { migrationVerifiedCycles: parity.verifiedCycles }),
    ...(runs.length === 0 ? {} : { recentRuns: runs }),
  };
  return { status, facts, sources };
}

export interface Notice {
  type: 'Normal' | 'Warning';
  reason: string;
  action: string;
  note: string;
  /** The MySQL pod it concerns, if one. */
  pod?: string;
}

function condition(status: BinlogArchivePolicyStatus | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/**
 * Events for what a person should see, from the change between the previous status and the new one (so the
 * same state never repeats them): a new gap, a source newly at risk of purge, a dependency newly unavailable, and
 * archiving back to normal.
 */
export function notices(namespace: string, previous: BinlogArchivePolicyStatus | undefined, computed: PolicyComputed, thresholdSeconds: number): Notice[] {
  const out: Notice[] = [];
  const before = new Map((previous?.sources ?? []).map((s) => [s.pod, s]));
  for (const s of computed.sources) {
    const old = before.get(s.input.pod);
    const pod = `${namespace}/${s.input.pod}`;
    if (s.archived.gaps > (old?.gaps ?? 0)) {
      out.push({
        type: 'Warning', reason: 'BinlogGapDetected', action: 'CheckContinuity', pod: s.input.pod,
        note: `Binlog gap in the archive of ${pod}: ${s.archived.gapDetails.slice(0, 2).join('; ') || `${s.archived.gaps} gap(s)`}. A restore across it misses transactions; take a new base backup`,
      });
    }
    const risk = (x: { pendingBinlogs?: number; secondsUntilPurge?: number } | undefined) =>
      x !== undefined && (x.pendingBinlogs ?? 0) > 0 && x.secondsUntilPurge !== undefined && x.secondsUntilPurge <= thresholdSeconds;
    if (risk(s.status) && !risk(old)) {
      const oldest = s.pending[0];
      out.push({
        type: 'Warning', reason: 'AtRiskOfPurge', action: 'CheckPurgeRisk', pod: s.input.pod,
        note: `The oldest unarchived binlog of ${pod}${oldest === undefined ? '' : ` (${oldest.name})`} may be purged in ${Math.max(0, s.status.secondsUntilPurge ?? 0)}s ` +
          `(binlog_expire_logs_seconds ${s.expireLogsSeconds ?? '?'}, threshold ${thresholdSeconds}s)`,
      });
    }
  }
  const readyBefore = condition(previous, 'Ready');
  const readyNow = condition(computed.status, 'Ready');
  if (readyNow !== undefined && readyNow.reason !== readyBefore?.reason) {
    if (readyNow.reason === 'KeyProviderUnavailable' || readyNow.reason === 'StorageUnavailable') {
      out.push({ type: 'Warning', reason: readyNow.reason, action: 'Archive', note: readyNow.message });
    } else if (readyNow.status === 'True' && readyBefore !== undefined && RECOVERABLE.has(readyBefore.reason)) {
      out.push({ type: 'Normal', reason: 'ArchivingRecovered', action: 'Archive', note: `Archiving works again (was ${readyBefore.reason}): ${readyNow.message}` });
    }
  }
  return out;
}
