/**
 * Verify first, then stream: what both streaming applies (replication, and a session fed through mysqlbinlog's
 * stdin) rest on, so that no plaintext is ever written to disk and the target still only receives verified bytes.
 *
 * 1. `verifyPlanned`: every planned object is downloaded, authenticated and checked exactly as a file restore
 *    checks it (SHA-256, planning fields re-derived from the bytes, the boundary scan that gives the exact replay
 *    range), in memory; only a SHA-256 of each decoded frame is kept (32 bytes per frame).
 * 2. `streamVerified`: one object is decoded again, with every check again, and each frame must equal the frame
 *    verified in step 1 before the consumer sees a byte of it.
 */
import { createHash } from 'node:crypto';
import { ArchiverError } from '../errors.ts';
import type { BinlogInfo } from '../binlog/index.ts';
import type { ManifestEntry } from '../store/manifest.ts';
import type { FileScanResult } from './boundaries.ts';
import { type ReplayBoundaries, planEnd, replayBoundaries } from './replay-range.ts';
import type { RestorePlan } from './plan.ts';
import { type DecodeContext, decodeEntry } from './restore-file.ts';
import { emptyBoundaries, scanFor, scanGoal } from './restore-run.ts';

/** What step 1 learned of one file: its frames' digests and what the reader found in its bytes. */
export interface VerifiedFile {
  digests: Buffer[];
  info: BinlogInfo;
}

export interface VerifiedPlan {
  bounds: ReplayBoundaries;
  files: VerifiedFile[];
}

/** Step 1, two files at a time (each decode spreads its frames over the worker pool). */
export async function verifyPlanned(ctx: DecodeContext, plan: RestorePlan, entries: ManifestEntry[]): Promise<VerifiedPlan> {
  const files: VerifiedFile[] = [];
  const scans: FileScanResult[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < plan.files.length; i = next++) {
      const scan = scanFor(plan, i);
      const digests: Buffer[] = [];
      const { info } = await decodeEntry(ctx, plan.files[i]!, scan, (chunk) => { digests.push(createHash('sha256').update(chunk).digest()); return Promise.resolve(); });
      scans[i] = scan.finish();
      files[i] = { digests, info };
    }
  };
  await Promise.all([worker(), worker()]);
  const bounds = plan.files.length === 0 ? emptyBoundaries(plan) : replayBoundaries(scanGoal(plan), scans, planEnd(plan.files, entries));
  return { bounds, files };
}

/**
 * Step 2 for planned file `i`: `consume` gets each decoded frame (with its offset in the file) only once it equals
 * the frame step 1 verified; the file must decode to exactly as many frames.
 */
export async function streamVerified(ctx: DecodeContext, plan: RestorePlan, i: number, verified: VerifiedFile, consume: (chunk: Uint8Array, offset: number) => Promise<unknown>): Promise<void> {
  const entry = plan.files[i]!;
  let frame = 0;
  let offset = 0;
  await decodeEntry(ctx, entry, scanFor(plan, i), async (chunk) => {
    const expected = verified.digests[frame++];
    if (expected === undefined || !createHash('sha256').update(chunk).digest().equals(expected)) {
      throw new ArchiverError('EVERIFY', `${entry.binlog.name} decoded to other bytes than when it was verified (frame ${frame - 1})`, { hint: 'the store changed the object during the restore; nothing past the previous frame was sent' });
    }
    const at = offset;
    offset += chunk.length;
    await consume(chunk, at);
  });
  if (frame !== verified.digests.length) throw new ArchiverError('EVERIFY', `${entry.binlog.name} decoded to fewer frames than when it was verified`);
}
