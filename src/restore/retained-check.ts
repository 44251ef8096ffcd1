/**
 * A restore point before what retention keeps fails with EEXPIRED naming the retained window, before planning
 * (which would only say the point is before the first archived event): the binlogs are not missing, `expire`
 * deleted them on purpose, and the person needs the window they can still restore in.
 */
import { gtidSetContains, parseGtidSet, parseSequence } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';
import type { ManifestEntry } from '../store/manifest.ts';
import type { RetainedRange } from '../store/retained-range.ts';
import type { RestoreTarget, StartPosition } from './target.ts';

function windowText(range: RetainedRange, entries: ManifestEntry[]): string {
  const last = entries.at(-1);
  return `the retained window of source ${range.source} is ${range.firstRecoverableTime ?? 'unknown'} .. ${last?.binlog.lastEventTime ?? 'unknown'} ` +
    `(binlogs ${range.firstBinlog} .. ${last?.binlog.name ?? '?'}; \`expire --recovery-window ${range.recoveryWindow}\` at ${range.updatedAt} deleted the binlogs before it)`;
}

/** True when `file` names a binlog below the range (same base name, smaller sequence). */
function expiredFile(range: RetainedRange, file: string): boolean {
  const base = (name: string): string => name.slice(0, name.lastIndexOf('.'));
  const seq = parseSequence(file);
  return base(file) === base(range.firstBinlog) && seq !== null && seq < range.firstSequence;
}

export function assertInRetainedRange(options: { range: RetainedRange | undefined; entries: ManifestEntry[]; target: RestoreTarget; fromGtid?: string; fromPosition?: StartPosition }): void {
  const { range, entries, target } = options;
  const first = entries[0];
  if (range === undefined || first === undefined) return;
  const fail = (what: string): never => {
    throw new ArchiverError('EEXPIRED', `${what} is before the retained range: ${windowText(range, entries)}`, {
      context: { source: range.source, retainedFrom: range.firstRecoverableTime, firstBinlog: range.firstBinlog },
      hint: 'choose a point inside the retained window, or restore from a base backup taken inside it',
    });
  };
  if (target.kind === 'time' && range.firstRecoverableTime !== null && target.until.getTime() < Date.parse(range.firstRecoverableTime)) fail(`--until ${target.until.toISOString()}`);
  if (target.kind === 'position' && expiredFile(range, target.file)) fail(`--until-file ${target.file}`);
  if (options.fromPosition !== undefined && expiredFile(range, options.fromPosition.file)) fail(`--from-file ${options.fromPosition.file}`);
  const prev = first.binlog.previousGtids;
  if (prev === null) return;
  const before = parseGtidSet(first.source.flavor, prev);
  if (target.kind === 'gtid') {
    let set;
    try {
      set = parseGtidSet(first.source.flavor, target.text);
    } catch {
      return; // planning says what is wrong with it
    }
    // Reached before the first kept binlog starts, and not by the base backup: its transactions are expired.
    if (!set.isEmpty() && gtidSetContains(before, set) && !(options.fromGtid !== undefined && gtidSetContains(parseGtidSet(first.source.flavor, options.fromGtid), set))) {
      fail(`--until-gtid ${target.text}`);
    }
  }
  if (options.fromGtid !== undefined) {
    let from;
    try {
      from = parseGtidSet(first.source.flavor, options.fromGtid);
    } catch {
      return;
    }
    if (!gtidSetContains(from, before)) fail(`--from-gtid ${options.fromGtid} (a base backup older than the first kept binlog)`);
  }
}
