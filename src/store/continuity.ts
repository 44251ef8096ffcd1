/**
 * Gap detection over one source's manifest entries: a missing sequence number, or a file whose
 * Previous_gtids (MariaDB: Gtid_list) is not the previous file's Previous_gtids plus the GTIDs it added.
 * Used at archive time (reported) and at restore time (blocks unless accepted).
 */
import { type GtidSet, gtidSetContains, gtidSetUnion, parseGtidSet } from '../binlog/index.ts';
import type { IndexRecord } from './manifest.ts';

export interface Gap {
  /**
   * `duplicate-sequence`: two entries claim one sequence number. Not a gap a user can accept: replaying both
   * would apply one binlog's transactions twice, so restore refuses it whatever --accept-gaps says.
   */
  kind: 'missing-sequence' | 'gtid-discontinuity' | 'duplicate-sequence';
  /** The last archived binlog before the gap, and the first after it. */
  after: string;
  before: string;
  detail: string;
}

type Record = Pick<IndexRecord, 'name' | 'sequence' | 'previousGtids' | 'gtidsAdded' | 'flavor'>;

function sameSet(a: GtidSet, b: GtidSet): boolean {
  return gtidSetContains(a, b) && gtidSetContains(b, a);
}

/** An empty set formats as '': say so in words. */
function describeSet(set: GtidSet): string {
  return set.isEmpty() ? 'no GTIDs' : `GTIDs ${set.format()}`;
}

/** Entries must be sorted by sequence. */
export function findGaps(entries: readonly Record[]): Gap[] {
  const gaps: Gap[] = [];
  for (let i = 1; i < entries.length; i++) {
    const prev = entries[i - 1];
    const next = entries[i];
    if (prev === undefined || next === undefined) continue;
    if (next.sequence <= prev.sequence) {
      gaps.push({ kind: 'duplicate-sequence', after: prev.name, before: next.name,
        detail: `${prev.name} and ${next.name} both claim sequence ${next.sequence}: the manifest is inconsistent (run verify)` });
      continue;
    }
    if (next.sequence !== prev.sequence + 1) {
      const missing = next.sequence - prev.sequence - 1;
      gaps.push({ kind: 'missing-sequence', after: prev.name, before: next.name,
        detail: `${missing} binlog${missing === 1 ? '' : 's'} between ${prev.name} and ${next.name} (sequence ${prev.sequence + 1}${missing > 1 ? `..${next.sequence - 1}` : ''}) never archived` });
      continue;
    }
    if (prev.previousGtids === null || next.previousGtids === null || prev.flavor !== next.flavor) continue;
    const expected = gtidSetUnion(parseGtidSet(prev.flavor, prev.previousGtids), parseGtidSet(prev.flavor, prev.gtidsAdded));
    const actual = parseGtidSet(next.flavor, next.previousGtids);
    if (!sameSet(expected, actual)) {
      gaps.push({ kind: 'gtid-discontinuity', after: prev.name, before: next.name,
        detail: `${next.name} starts after ${describeSet(actual)}, but ${prev.name} ends at ${describeSet(expected)}` });
    }
  }
  return gaps;
}
