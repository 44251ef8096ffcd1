/**
 * Sorted lists of disjoint, non-adjacent inclusive GNO intervals: the storage of a MySQL GTID set per UUID/tag.
 * Interval objects are never mutated once created, so lists may share them.
 */

/** An inclusive range of transaction numbers, `start-end` in MySQL's text. */
export interface GnoInterval {
  readonly start: bigint;
  readonly end: bigint;
}

/** Index of the first interval that ends at or after `gno - 1` (i.e. could touch or contain `gno`). */
function firstReaching(list: readonly GnoInterval[], gno: bigint): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as GnoInterval).end + 1n < gno) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function insertInterval(list: GnoInterval[], start: bigint, end: bigint): void {
  const last = list[list.length - 1];
  // Fast paths for the streaming case: GTIDs arrive in increasing order.
  if (last === undefined || start > last.end + 1n) {
    list.push({ start, end });
    return;
  }
  if (start >= last.start) {
    if (end > last.end) list[list.length - 1] = { start: last.start, end };
    return;
  }
  const i = firstReaching(list, start);
  let j = i;
  let s = start;
  let e = end;
  while (j < list.length && (list[j] as GnoInterval).start <= e + 1n) {
    const iv = list[j] as GnoInterval;
    if (iv.start < s) s = iv.start;
    if (iv.end > e) e = iv.end;
    j++;
  }
  list.splice(i, j - i, { start: s, end: e });
}

export function subtractIntervals(a: readonly GnoInterval[], b: readonly GnoInterval[]): GnoInterval[] {
  const out: GnoInterval[] = [];
  let j = 0;
  for (const iv of a) {
    let s = iv.start;
    while (j < b.length && (b[j] as GnoInterval).end < s) j++;
    let k = j;
    while (s <= iv.end) {
      const cut = b[k];
      if (cut === undefined || cut.start > iv.end) {
        out.push(s === iv.start ? iv : { start: s, end: iv.end });
        break;
      }
      if (cut.start > s) out.push({ start: s, end: cut.start - 1n });
      s = cut.end + 1n;
      k++;
    }
  }
  return out;
}

export function coversAll(a: readonly GnoInterval[], b: readonly GnoInterval[]): boolean {
  for (const iv of b) {
    const i = firstReaching(a, iv.start + 1n); // first interval with end >= iv.start
    const host = a[i];
    if (host === undefined || host.start > iv.start || host.end < iv.end) return false;
  }
  return true;
}
