/**
 * Gap detection over one source's manifest entries: a missing sequence number, or a file whose
 * Previous_gtids (MariaDB: Gtid_list) is not the previous file's Previous_gtids plus the GTIDs it added.
 * Used at archive time (reported) and at restore time (blocks unless accepted).
 */
import { type GtidSet, gtidSetContains, parseGtidSet } from '../binlog/index.ts';
import type { IndexRecord } from './manifest.ts';

export interface Gap {
  kind: 'missing-sequence' | 'gtid-discontinuity';
  /** The last archived binlog before the gap, and the first after it. */
  after: string;
  before: string;
  detail: string;
}

type Record = Pick<IndexRecord, 'name' | 'sequence' | 'previousGtids' | 'gtidsAdded' | 'flavor'>;

function union(a: GtidSet, b: GtidSet): GtidSet {
  if (a.flavor === 'mysql' && b.flavor === 'mysql') return a.union(b);
  if (a.flavor === 'mariadb' && b.flavor === 'mariadb') return a.union(b);
  throw new TypeError('mixed GTID flavours');
}

function sameSet(a: GtidSet, b: GtidSet): boolean {
  return gtidSetContains(a, b) && gtidSetContains(b, a);
}

/** Entries must be sorted by sequence. */
export function findGaps(entries: readonly Record[]): Gap[] {
  const gaps: Gap[] = [];
  for (let i = 1; i < entries.length; i++) {
    const prev = entries[i - 1];
    const next = entries[i];
    if (prev === undefined || next === undefined) continue;
    if (next.sequence !== prev.sequence + 1) {
      const missing = next.sequence - prev.sequence - 1;
      gaps.push({ kind: 'missing-sequence', after: prev.name, before: next.name,
        detail: `${missing} binlog${missing === 1 ? '' : 's'} between ${prev.name} and ${next.name} (sequence ${prev.sequence + 1}${missing > 1 ? `..${next.sequence - 1}` : ''}) never archived` });
      continue;
    }
    if (prev.previousGtids === null || next.previousGtids === null || prev.flavor !== next.flavor) continue;
    const expected = union(parseGtidSet(prev.flavor, prev.previousGtids), parseGtidSet(prev.flavor, prev.gtidsAdded));
    const actual = parseGtidSet(next.flavor, next.previousGtids);
    if (!sameSet(expected, actual)) {
      gaps.push({ kind: 'gtid-discontinuity', after: prev.name, before: next.name,
        detail: `${next.name} starts after GTIDs ${actual.format()}, but ${prev.name} ends at ${expected.format()}` });
    }
  }
  return gaps;
}
