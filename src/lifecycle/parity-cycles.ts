/**
 * Rotation cycles for `parity`: a cycle is one archive run that archived at least one binlog. Runs are told
 * apart by the manifest entries' batchId (one per `archive` run; an upload resumed by a later run keeps the
 * batch that started it). Cycles are counted newest first while every binlog of the cycle matches the legacy
 * pipeline's; cycles the legacy pipeline has not reached yet (all their binlogs are newer than its newest) are
 * `pending`: skipped at the head, neither counted nor breaking the run of matching cycles.
 */

export type BinlogVerdict = 'match' | 'differs' | 'missing-legacy' | 'corrupt-legacy' | 'unreadable-ours' | 'newer-than-legacy' | 'older-than-legacy';

export interface CycleEntry {
  batchId: string;
  archivedAt: string;
  binlog: string;
}

export interface CycleResult {
  batchId: string;
  /** When its last binlog was archived. */
  archivedAt: string;
  binlogs: string[];
  status: 'match' | 'mismatch' | 'pending' | 'outside';
}

function cycleStatus(verdicts: BinlogVerdict[]): CycleResult['status'] {
  if (verdicts.every((v) => v === 'match')) return 'match';
  if (verdicts.some((v) => v === 'differs' || v === 'missing-legacy' || v === 'corrupt-legacy' || v === 'unreadable-ours')) return 'mismatch';
  if (verdicts.some((v) => v === 'older-than-legacy')) return 'outside';
  return 'pending';
}

/** The cycles newest first, and how many consecutive ones (after pending ones at the head) match. */
export function rotationCycles(entries: CycleEntry[], verdict: (binlog: string) => BinlogVerdict): { cycles: CycleResult[]; consecutiveMatching: number } {
  const byBatch = new Map<string, { archivedAt: string; binlogs: string[] }>();
  for (const e of entries) {
    const c = byBatch.get(e.batchId) ?? { archivedAt: e.archivedAt, binlogs: [] };
    c.binlogs.push(e.binlog);
    if (e.archivedAt > c.archivedAt) c.archivedAt = e.archivedAt;
    byBatch.set(e.batchId, c);
  }
  const cycles = [...byBatch].map(([batchId, c]) => ({ batchId, archivedAt: c.archivedAt, binlogs: c.binlogs, status: cycleStatus(c.binlogs.map(verdict)) }))
    .sort((a, b) => (a.archivedAt === b.archivedAt ? (a.batchId < b.batchId ? 1 : -1) : a.archivedAt < b.archivedAt ? 1 : -1));
  let consecutiveMatching = 0;
  let head = true;
  for (const c of cycles) {
    if (head && c.status === 'pending') continue;
    head = false;
    if (c.status !== 'match') break;
    consecutiveMatching += 1;
  }
  return { cycles, consecutiveMatching };
}
