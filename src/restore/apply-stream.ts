/**
 * A session apply without files (`restore --apply-host …` without --out): the verified binlogs go to the target
 * through one `mariadb-binlog -` / `mysqlbinlog -` per binlog reading it from stdin, all into one client session,
 * as replay.sh would replay the same files. No plaintext is written to disk: the bytes pass through pipes only,
 * and each frame is sent only once it equals the frame verified before the apply started (verify-first.ts).
 * The server's executed GTIDs are checked before and after (session-check.ts), as for a replay of files.
 */
import os from 'node:os';
import { ArchiverError } from '../errors.ts';
import { type ApplyTarget, applyThroughClient, type ReplayTools, writeAll } from './apply.ts';
import type { RestorePlan } from './plan.ts';
import { streamedReplayCommands } from './replay-script.ts';
import type { DecodeContext } from './restore-file.ts';
import { replaySpecOf } from './restore-run.ts';
import { checkSessionApplied, sessionBaseline, sessionInterrupted } from './session-check.ts';
import { type VerifiedPlan, streamVerified } from './verify-first.ts';

export interface SessionStreamSettings {
  apply: ApplyTarget;
  /** Apply even to a server whose executed GTIDs cannot show the result (log_bin OFF, gtid_mode OFF): unchecked. */
  allowUnverifiedApply?: boolean;
  signal?: AbortSignal;
}

export interface SessionApplied {
  appliedTo: string;
  applyCheck: string;
  executedGtids: string | null;
}

/** Feeds each binlog of the range to its own replay process, cut at the stop position in the last one. */
async function feedRange(tools: ReplayTools, commands: string[][], ctx: DecodeContext, plan: RestorePlan, verified: VerifiedPlan): Promise<void> {
  const { bounds } = verified;
  for (let k = 0; k < commands.length; k++) {
    const i = bounds.firstFile + k;
    const stop = k === commands.length - 1 ? bounds.stopPosition : null;
    const [tool = '', ...args] = commands[k]!;
    await tools.run(tool, args, (stdin) => streamVerified(ctx, plan, i, verified.files[i]!, (chunk, offset) => {
      // The tool stops there anyway (--stop-position); the bytes past the stop need not even reach it.
      const end = stop === null ? chunk.length : Math.min(chunk.length, stop - offset);
      if (end <= 0) return Promise.resolve();
      return writeAll(stdin, end === chunk.length ? chunk : chunk.subarray(0, end));
    }));
  }
}

/** Applies a verified plan's range to the target in one session, between the checks of what it executed. */
export async function applyStreamedSession(settings: SessionStreamSettings, ctx: DecodeContext, plan: RestorePlan, verified: VerifiedPlan, source: string, clock: () => Date): Promise<SessionApplied> {
  const { bounds } = verified;
  const { apply: target } = settings;
  if (bounds.replayed === null) throw new ArchiverError('EINTERNAL', 'the replay range has no record of its transactions');
  const flavor = plan.files[0]!.source.flavor;
  const baseline = await sessionBaseline(target, flavor, bounds.replayed, settings.allowUnverifiedApply ?? false, plan.from);
  const commands = streamedReplayCommands(replaySpecOf(plan, bounds, source, clock));
  await applyThroughClient({
    flavor, dir: os.tmpdir(), target, ...(settings.signal === undefined ? {} : { signal: settings.signal }),
    feed: (tools) => feedRange(tools, commands, ctx, plan, verified),
  }).catch(async (err: unknown) => {
    throw await sessionInterrupted(target, baseline, err);
  });
  const { check, executed } = await checkSessionApplied(target, flavor, baseline, bounds.replayed);
  return { appliedTo: `${target.host}:${target.port}`, applyCheck: check, executedGtids: executed };
}
