/** Where a restore starts and stops, parsed from the CLI or a BinlogRestore with precise messages. */
import { type GtidFlavor, type GtidSet, parseGtidSet } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';

export type RestoreTarget =
  | { kind: 'latest' }
  | { kind: 'time'; until: Date }
  | { kind: 'gtid'; text: string }
  /** Stop at byte `position` of binlog `file` (what mysqlbinlog --stop-position means for the last file). */
  | { kind: 'position'; file: string; position: number };

/** A start point given as binlog coordinates (e.g. from a base backup's binlog_info) rather than a GTID set. */
export interface StartPosition {
  file: string;
  position: number;
}

export function parsePosition(option: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 4 || !Number.isSafeInteger(Number(text))) {
    throw new ArchiverError('EUSAGE', `${option} ${JSON.stringify(text)} is not a binlog byte position`, { hint: 'positions are byte offsets, 4 or more' });
  }
  return Number(text);
}

export function parseGtidOption(flavor: GtidFlavor, option: string, text: string): GtidSet {
  try {
    return parseGtidSet(flavor, text);
  } catch (err) {
    const example = flavor === 'mysql' ? '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-77' : '0-1-100';
    throw new ArchiverError('EUSAGE', `${option} ${JSON.stringify(text)} is not a ${flavor} GTID set: ${(err as Error).message}`, { cause: err, hint: `e.g. ${example}` });
  }
}
