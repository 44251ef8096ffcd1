/**
 * What `expire` keeps, decided from the manifest alone (pure: entries, anchors and leases in, plan out). Every
 * point in [now - window, now] must stay recoverable, as CloudNativePG/Barman and pgBackRest do for WAL:
 * - with a base-backup anchor at or before the window start, every binlog from the newest such anchor is kept
 *   (a backup at the window start needs them all);
 * - without one, every binlog from the one containing the window start, and the caller says that a base backup
 *   must exist inside the kept range;
 * - it never deletes past a gap it cannot explain (a gap the chosen anchor lies after is explained: no restore
 *   from that backup crosses it), and deletes nothing of a source an unexpired restore lease holds.
 */
import { type GtidSet, gtidSetContains, gtidSetUnion, parseGtidSet } from '../binlog/index.ts';
import { type Gap, findGaps } from '../store/continuity.ts';
import { type ManifestEntry, indexRecord } from '../store/manifest.ts';
import type { RestoreLease } from '../store/restore-lease.ts';
import type { BackupAnchor } from './anchor.ts';

export interface ExpirePlan {
  source: string;
  now: string;
  windowStart: string;
  /** How the first kept binlog was chosen. */
  basis: 'anchor' | 'window-start' | 'everything';
  anchorKey: string | null;
  /** The first kept binlog, and the oldest-first list of binlogs to expire. */
  keepFrom: ManifestEntry | null;
  expire: ManifestEntry[];
  /** Unexpired leases: while there is one, nothing is expired. */
  leases: RestoreLease[];
  /** Gaps inside the kept range: the window is not fully recoverable across them. */
  keptGaps: Gap[];
  /** What a person must know (no anchor, a gap that stopped deletion, a lease). */
  notes: string[];
}

export interface ExpireInput {
  source: string;
  entries: ManifestEntry[];
  anchors: { key: string; anchor: BackupAnchor }[];
  leases: RestoreLease[];
  now: Date;
  windowMs: number;
}

function endState(e: ManifestEntry): GtidSet | null {
  if (e.binlog.previousGtids === null) return null;
  return gtidSetUnion(parseGtidSet(e.source.flavor, e.binlog.previousGtids), parseGtidSet(e.source.flavor, e.binlog.gtidsAdded));
}

/** Index of the first binlog a restore from `anchor` replays, or a reason it cannot be placed in the archive. */
export function anchorStart(entries: ManifestEntry[], anchor: BackupAnchor): number | string {
  if (anchor.file !== null) {
    const i = entries.findIndex((e) => e.binlog.name === anchor.file);
    return i >= 0 ? i : `its binlog ${anchor.file} is not in the archive (it holds ${entries[0]?.binlog.name ?? '?'} .. ${entries.at(-1)?.binlog.name ?? '?'})`;
  }
  const first = entries[0];
  if (first === undefined || anchor.gtidSet === null) return 'the archive is empty';
  let set: GtidSet;
  try {
    set = parseGtidSet(first.source.flavor, anchor.gtidSet);
  } catch (err) {
    return `its GTID set is not a ${first.source.flavor} GTID set: ${(err as Error).message}`;
  }
  let i = 0;
  while (i < entries.length) {
    const end = endState(entries[i]!);
    if (end === null) return `${entries[i]!.binlog.name} records no GTIDs: record the anchor with --file and --position`;
    if (!gtidSetContains(set, end)) break;
    i++;
  }
  const prev = entries[i]?.binlog.previousGtids;
  if (prev !== undefined && prev !== null && !gtidSetContains(set, parseGtidSet(first.source.flavor, prev))) {
    return `the archive cannot continue from its GTID set: ${entries[i]!.binlog.name} starts after ${prev}`;
  }
  return Math.min(i, entries.length - 1);
}

/** Index of the binlog containing `t`: the last one whose first event is at or before it (0 when none is). */
function windowStartIndex(entries: ManifestEntry[], t: number): number {
  let idx = 0;
  entries.forEach((e, i) => {
    if (e.binlog.firstEventTime !== null && Date.parse(e.binlog.firstEventTime) <= t) idx = i;
  });
  return idx;
}

/** The first kept index by anchor or window start, with its basis and notes. */
function chooseStart(input: ExpireInput, windowStart: number, notes: string[]): { index: number; basis: ExpirePlan['basis']; anchorKey: string | null } {
  const { entries } = input;
  const candidates = input.anchors.filter((a) => Date.parse(a.anchor.time) <= windowStart);
  const newest = candidates.at(-1);
  const byWindow = windowStartIndex(entries, windowStart);
  const firstTime = entries[0]?.binlog.firstEventTime;
  if (newest === undefined) {
    if (firstTime === null || firstTime === undefined || Date.parse(firstTime) > windowStart) {
      notes.push('the archive starts inside the recovery window: nothing is old enough to expire');
      return { index: 0, basis: 'everything', anchorKey: null };
    }
    notes.push(`no backup anchor at or before the window start: kept from ${entries[byWindow]!.binlog.name}, the binlog containing the window start; ` +
      `a base backup must exist inside the kept range (consistent at or after ${entries[byWindow]!.binlog.firstEventTime ?? '?'}) for the window to be recoverable ` +
      '(record it with `binlog-archiver backup-anchor`)');
    return { index: byWindow, basis: 'window-start', anchorKey: null };
  }
  const start = anchorStart(entries, newest.anchor);
  if (typeof start === 'string') {
    notes.push(`the newest backup anchor at or before the window start (${newest.key}, ${newest.anchor.time}) cannot be placed: ${start}; nothing is expired until it can`);
    return { index: 0, basis: 'everything', anchorKey: newest.key };
  }
  return { index: Math.min(start, byWindow), basis: 'anchor', anchorKey: newest.key };
}

export function planExpire(input: ExpireInput): ExpirePlan {
  const { entries, source } = input;
  const windowStart = input.now.getTime() - input.windowMs;
  const notes: string[] = [];
  const plan: ExpirePlan = {
    source, now: input.now.toISOString(), windowStart: new Date(windowStart).toISOString(), basis: 'everything', anchorKey: null,
    keepFrom: entries[0] ?? null, expire: [], leases: input.leases.filter((l) => Date.parse(l.expiresAt) > input.now.getTime()), keptGaps: [], notes,
  };
  if (entries.length === 0) {
    notes.push(`the archive holds no binlogs of ${source} in its retained range`);
    return plan;
  }
  const chosen = chooseStart(input, windowStart, notes);
  let index = chosen.index;
  const gaps = findGaps(entries.map(indexRecord));
  const position = (name: string): number => entries.findIndex((e) => e.binlog.name === name);
  // A gap before the first kept binlog: crossing it is explained only when an anchor lies after it.
  for (const gap of gaps) {
    const after = position(gap.after);
    if (position(gap.before) > index) continue;
    if (chosen.basis === 'anchor') continue;
    if (after < index) {
      notes.push(`stopped at a gap it cannot explain (${gap.detail}): kept from ${gap.after} instead of ${entries[index]!.binlog.name}`);
      index = after;
    }
  }
  if (gaps.some((g) => g.kind === 'duplicate-sequence')) {
    notes.push('the manifest is inconsistent (two entries claim one sequence): nothing is expired; run `binlog-archiver verify`');
    index = 0;
  }
  plan.basis = chosen.basis;
  plan.anchorKey = chosen.anchorKey;
  plan.keepFrom = entries[index]!;
  plan.keptGaps = gaps.filter((g) => position(g.after) >= index);
  if (plan.leases.length > 0) {
    notes.push(`restore lease${plan.leases.length === 1 ? '' : 's'} ${plan.leases.map((l) => `${l.id} (${l.holder}, until ${l.expiresAt})`).join(', ')} ` +
      'hold the source: nothing is expired while a restore runs');
    return plan;
  }
  plan.expire = entries.slice(0, index);
  return plan;
}
