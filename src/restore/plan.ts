/**
 * Restore planning: which archived binlogs are needed from the starting point (the base backup's GTID set)
 * to the target, and whether they form an unbroken chain. Pure: entries in, plan out.
 */
import { type GtidSet, formatMariadbGtid, formatMysqlGtid, gtidSetContains, gtidSetUnion, parseGtidSet } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';
import { type Gap, findGaps } from '../store/continuity.ts';
import { type ManifestEntry, indexRecord } from '../store/manifest.ts';
import { parseGtidOption, type RestoreTarget, type StartPosition } from './target.ts';

export interface RestorePlan {
  files: ManifestEntry[];
  gaps: Gap[];
  from: GtidSet | null;
  /** Set when the start was given as file/position. */
  fromPosition: StartPosition | null;
  target: RestoreTarget;
  /** For a gtid target, the parsed set. */
  targetGtids: GtidSet | null;
  /** Why no file is needed, when `files` is empty. */
  emptyReason: string | null;
}

function endState(entry: ManifestEntry): GtidSet | null {
  if (entry.binlog.previousGtids === null) return null;
  const flavor = entry.source.flavor;
  return gtidSetUnion(parseGtidSet(flavor, entry.binlog.previousGtids), parseGtidSet(flavor, entry.binlog.gtidsAdded));
}

function indexOfFile(entries: ManifestEntry[], file: string, option: string): number {
  const idx = entries.findIndex((e) => e.binlog.name === file);
  if (idx === -1) {
    throw new ArchiverError('ETARGET', `${option} names ${file}, which is not in the archive (it holds ${entries[0]?.binlog.name ?? '?'} .. ${entries.at(-1)?.binlog.name ?? '?'})`);
  }
  return idx;
}

function checkPosition(entry: ManifestEntry, position: number, option: string): void {
  if (position > entry.binlog.endPosition) {
    throw new ArchiverError('EUSAGE', `${option} ${position} is past the end of ${entry.binlog.name} (${entry.binlog.endPosition} bytes)`);
  }
}

/** The largest GNO of a MySQL GTID set entry. */
function lastGno(intervals: readonly { readonly end: bigint }[]): bigint {
  return intervals.reduce((m, i) => (i.end > m ? i.end : m), 0n);
}

/**
 * A GTID the start point holds past the target, in a domain (MariaDB) or UUID (MySQL) the target names, or null:
 * a restore cannot go back from its base backup.
 */
function pastTarget(from: GtidSet, target: GtidSet): string | null {
  if (from.flavor === 'mariadb' && target.flavor === 'mariadb') {
    for (const t of target.entries()) {
      const f = from.get(t.domainId);
      if (f !== undefined && f.seqNo > t.seqNo) return formatMariadbGtid(f);
    }
  } else if (from.flavor === 'mysql' && target.flavor === 'mysql') {
    const targets = target.entries();
    for (const e of from.subtract(target).entries()) {
      const t = targets.find((x) => x.uuid === e.uuid && x.tag === e.tag);
      if (t !== undefined && lastGno(e.intervals) > lastGno(t.intervals)) return formatMysqlGtid({ uuid: e.uuid, tag: e.tag, gno: lastGno(e.intervals) });
    }
  }
  return null;
}

export function planRestore(options: { entries: ManifestEntry[]; source: string; fromGtid?: string; fromPosition?: StartPosition; target: RestoreTarget; acceptGaps?: boolean }): RestorePlan {
  const { entries, source, target } = options;
  const first = entries[0];
  const last = entries.at(-1);
  if (first === undefined || last === undefined) {
    throw new ArchiverError('ENOTFOUND', `the archive holds no binlogs of source ${source}`, { hint: 'check --store and --source (`binlog-archiver verify` lists what is there)' });
  }
  const flavor = first.source.flavor;
  const window = `the archive of ${source} holds ${first.binlog.name} .. ${last.binlog.name}, events from ${first.binlog.firstEventTime ?? 'unknown'} to ${last.binlog.lastEventTime ?? 'unknown'}`;
  const from = options.fromGtid === undefined ? null : parseGtidOption(flavor, '--from-gtid', options.fromGtid);
  const targetGtids = target.kind === 'gtid' ? parseGtidOption(flavor, '--until-gtid', target.text) : null;

  const past = from === null || targetGtids === null ? null : pastTarget(from, targetGtids);
  if (past !== null) {
    throw new ArchiverError('ETARGET', `--until-gtid ${targetGtids?.format() ?? ''} is before the start point: the base backup (--from-gtid) already holds ${past}, past it`, {
      hint: 'a restore cannot go back from its base backup: restore an earlier backup, or pick a later target',
    });
  }
  if (from !== null && options.fromPosition !== undefined) {
    throw new ArchiverError('EUSAGE', 'give the start either as --from-gtid or as --from-file/--from-position, not both');
  }
  const fromPosition = options.fromPosition ?? null;
  let start = 0;
  if (fromPosition !== null) {
    start = indexOfFile(entries, fromPosition.file, '--from-file');
    checkPosition(entries[start]!, fromPosition.position, '--from-position');
  }
  if (from !== null) {
    // Skip files whose every transaction the base backup already holds. A file that adds no GTID (empty, or
    // transactions without one: gtid_mode OFF) is skipped only before one that adds GTIDs the backup holds; after
    // the last of those, nothing shows the backup holds its transactions, and the boundary scan must see them.
    let held = 0;
    while (start < entries.length) {
      const entry = entries[start]!;
      const end = endState(entry);
      if (end === null || !gtidSetContains(from, end)) break;
      start++;
      if (!parseGtidSet(flavor, entry.binlog.gtidsAdded).isEmpty()) held = start;
    }
    // The chain check is on the first binlog with a transaction the backup lacks, whatever is planned before it.
    const firstNeeded = entries[start];
    start = held;
    const prev = firstNeeded?.binlog.previousGtids;
    if (firstNeeded !== undefined && prev !== null && prev !== undefined && !gtidSetContains(from, parseGtidSet(flavor, prev))) {
      throw new ArchiverError('EGAP', `the archive cannot continue from ${from.format()}: its earliest needed binlog ${firstNeeded.binlog.name} starts after ${prev}, so transactions in between are not archived`, {
        hint: 'restore a base backup taken later, or find the missing binlogs',
      });
    }
    if (start === entries.length && target.kind === 'latest') {
      return { files: [], gaps: [], from, fromPosition, target, targetGtids, emptyReason: 'the start point already holds every archived transaction' };
    }
    // The base backup already holds the target: nothing may be replayed (replaying anything would overshoot).
    if (targetGtids !== null && gtidSetContains(from, targetGtids)) {
      return { files: [], gaps: [], from, fromPosition, target, targetGtids, emptyReason: `the start point already holds ${targetGtids.format()}: nothing to replay` };
    }
  }

  let stop = entries.length - 1;
  if (target.kind === 'time') {
    const until = target.until.getTime();
    const firstTime = entries[start]?.binlog.firstEventTime;
    if (firstTime !== null && firstTime !== undefined && until < Date.parse(firstTime)) {
      throw new ArchiverError('ETARGET', `--until ${target.until.toISOString()} is before the first archived event needed (${firstTime} in ${entries[start]!.binlog.name}; ${window})`);
    }
    const idx = entries.findIndex((e, i) => i >= start && e.binlog.lastEventTime !== null && Date.parse(e.binlog.lastEventTime) > until);
    if (idx === -1) {
      const lastTime = last.binlog.lastEventTime ?? 'unknown';
      if (lastTime === 'unknown' || Date.parse(lastTime) < until) {
        throw new ArchiverError('ETARGET', `--until ${target.until.toISOString()} is after the last archived event (${lastTime} in ${last.binlog.name}): not recoverable from the archive yet (${window})`, {
          hint: 'wait for the next rotation to be archived, or pick an earlier time',
        });
      }
    }
    // A binlog's last event is its Rotate, stamped when it was rotated: the target may lie between its last
    // transaction and that Rotate, and then only the next binlog's first transaction (stamped after the target)
    // shows it is reached. So the plan takes one binlog more; the boundary scan leaves it out when it adds nothing.
    stop = idx === -1 ? entries.length - 1 : Math.min(idx + 1, entries.length - 1);
  } else if (target.kind === 'gtid' && targetGtids !== null) {
    const idx = entries.findIndex((e, i) => i >= start && (() => {
      const end = endState(e);
      return end !== null && gtidSetContains(end, targetGtids);
    })());
    if (idx === -1) {
      throw new ArchiverError('ETARGET', `--until-gtid ${targetGtids.format()} is not reached by the archive: it ends at ${endState(last)?.format() ?? 'unknown'} (${window})`);
    }
    stop = idx;
  } else if (target.kind === 'position') {
    stop = indexOfFile(entries, target.file, '--until-file');
    checkPosition(entries[stop]!, target.position, '--until-position');
    if (stop < start || (stop === start && fromPosition !== null && target.position < fromPosition.position)) {
      throw new ArchiverError('EUSAGE', `the target ${target.file}:${target.position} is before the start point`);
    }
  }
  const files = entries.slice(start, stop + 1);
  const gaps = findGaps(files.map(indexRecord));
  const duplicate = gaps.find((g) => g.kind === 'duplicate-sequence');
  if (duplicate !== undefined) {
    throw new ArchiverError('ECONFLICT', `the manifest of source ${source} is inconsistent: ${duplicate.detail}`, {
      hint: 'nothing was restored; --accept-gaps does not apply (a binlog would be replayed twice): run `binlog-archiver verify` and remove the wrong entry',
    });
  }
  if (gaps.length > 0 && options.acceptGaps !== true) {
    throw new ArchiverError('EGAP', `the binlogs needed have gaps: ${gaps.map((g) => g.detail).join('; ')}`, {
      hint: 'a point-in-time recovery across a gap loses transactions; pass --accept-gaps only if you accept that',
    });
  }
  return { files, gaps, from, fromPosition, target, targetGtids, emptyReason: null };
}
