/** The range of binlogs one side holds, by sequence number, and the range both sides hold. */
import { parseSequence } from '../binlog/index.ts';

export interface Bounds {
  first: string;
  last: string;
  firstSequence: number;
  lastSequence: number;
}

export interface Range extends Bounds {
  count: number;
}

export function rangeOf(names: readonly string[]): Range | null {
  let range: Range | null = null;
  for (const name of names) {
    const s = parseSequence(name);
    if (s === null) continue;
    if (range === null) range = { first: name, last: name, firstSequence: s, lastSequence: s, count: 0 };
    if (s < range.firstSequence) Object.assign(range, { first: name, firstSequence: s });
    if (s > range.lastSequence) Object.assign(range, { last: name, lastSequence: s });
    range.count += 1;
  }
  return range;
}

/** The sequence range both hold, named by the binlogs at its ends (from either side); null when they do not meet. */
export function overlapOf(a: Bounds | null, b: Bounds | null): Bounds | null {
  if (a === null || b === null) return null;
  const lo = a.firstSequence >= b.firstSequence ? a : b;
  const hi = a.lastSequence <= b.lastSequence ? a : b;
  if (lo.firstSequence > hi.lastSequence) return null;
  return { first: lo.first, last: hi.last, firstSequence: lo.firstSequence, lastSequence: hi.lastSequence };
}
