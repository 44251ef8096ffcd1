/**
 * `restore`: writes the binlogs and replay.sh under --out (and applies them with --apply-*), or with --plan-only
 * prints what it would do, proven from the boundary binlogs' bytes, without writing anything. `--summary-file`
 * receives the same summary as compact JSON, on failure too: the operator's Jobs hand it back as their
 * termination message.
 */
import fs from 'node:fs';
import { ArchiverError } from '../errors.ts';
import type { ApplyTarget } from '../restore/apply.ts';
import { APPLY_MODES, type ApplyMode, type ApplyRunOptions, type ApplySummary, runApply } from '../restore/apply-run.ts';
import { type PlanSummary, runPlan } from '../restore/plan-run.ts';
import { replayClient } from '../restore/replay-script.ts';
import { whileInterruptible } from '../restore/interrupt.ts';
import { encodeRestoreReport } from '../restore/restore-report.ts';
import { type RestoreOptions, type RestoreSummary, runRestore } from '../restore/restore-run.ts';
import { parsePosition, type RestoreTarget, type StartPosition } from '../restore/target.ts';
import { loadStore } from '../store/load-store.ts';
import { parseTime } from '../time.ts';
import { integer, optional, parse, required } from './args.ts';
import { USAGE, checkKeyUrl, common, logger, print } from './commands.ts';
import { type Io, errorJson, mib } from './output.ts';
import { underRestoreLease } from './restore-lease.ts';
import { silentLogger } from '../logger.ts';

/** `--X-file F --X-position N` as a pair: both or neither. */
function filePosition(values: Record<string, unknown>, prefix: 'from' | 'until'): StartPosition | undefined {
  const file = optional(values, `${prefix}-file`);
  const position = optional(values, `${prefix}-position`);
  if (file === undefined && position === undefined) return undefined;
  if (file === undefined || position === undefined) {
    throw new ArchiverError('EUSAGE', `restore: --${prefix}-file and --${prefix}-position go together`, { hint: `usage: ${USAGE.restore}` });
  }
  return { file, position: parsePosition(`--${prefix}-position`, position) };
}

/** --apply-host H [--apply-port P] --apply-user-file F --apply-password-file F: all or none. */
function applyTarget(values: Record<string, unknown>): ApplyTarget | undefined {
  const host = optional(values, 'apply-host');
  const userFile = optional(values, 'apply-user-file');
  const passwordFile = optional(values, 'apply-password-file');
  const port = integer('restore', values, 'apply-port', { min: 1, max: 65535 }) ?? 3306;
  if (host === undefined && userFile === undefined && passwordFile === undefined) return undefined;
  if (host === undefined || userFile === undefined || passwordFile === undefined) {
    throw new ArchiverError('EUSAGE', 'restore: --apply-host, --apply-user-file and --apply-password-file go together', { hint: 'credentials come from files (mounted Secrets), never from the command line' });
  }
  return { host, port, userFile, passwordFile };
}

function restoreTarget(values: Record<string, unknown>): RestoreTarget {
  const until = optional(values, 'until');
  const untilGtid = optional(values, 'until-gtid');
  const untilPosition = filePosition(values, 'until');
  if ([until, untilGtid, untilPosition].filter((v) => v !== undefined).length > 1) {
    throw new ArchiverError('EUSAGE', 'restore: give either --until or --until-gtid or --until-file/--until-position, not several', { hint: `usage: ${USAGE.restore}` });
  }
  if (until !== undefined) return { kind: 'time', until: parseTime(until, '--until') };
  if (untilGtid !== undefined) return { kind: 'gtid', text: untilGtid };
  if (untilPosition !== undefined) return { kind: 'position', ...untilPosition };
  return { kind: 'latest' };
}

const OPTIONS = {
  ...common, store: { type: 'string' }, key: { type: 'string' }, out: { type: 'string' }, source: { type: 'string' },
  'from-gtid': { type: 'string' }, until: { type: 'string' }, 'until-gtid': { type: 'string' }, 'accept-gaps': { type: 'boolean' },
  'from-file': { type: 'string' }, 'from-position': { type: 'string' }, 'until-file': { type: 'string' }, 'until-position': { type: 'string' },
  'apply-host': { type: 'string' }, 'apply-port': { type: 'string' }, 'apply-user-file': { type: 'string' }, 'apply-password-file': { type: 'string' },
  'plan-only': { type: 'boolean' }, 'summary-file': { type: 'string' },
  'apply-mode': { type: 'string' }, 'apply-listen': { type: 'string' }, 'apply-parallel': { type: 'string' },
  'allow-unverified-apply': { type: 'boolean' },
} as const;

function human(summary: RestoreSummary): string {
  return `restored ${summary.files.length} binlog(s) of ${summary.source} (${mib(summary.bytes)}) to ${summary.out}\n` +
    (summary.replayCommand === null ? 'nothing to replay\n' : `replay with: ${summary.replayScript ?? ''}\n  ${summary.replayCommand.join(' ')} | ${replayClient(summary.replayCommand)}\n`) +
    `target: ${summary.targetReached ?? 'none'}\n` +
    (summary.appliedTo === null ? '' : `applied to ${summary.appliedTo}\ncheck: ${summary.applyCheck ?? '-'}\n`);
}

function humanPlan(plan: PlanSummary): string {
  return `plan for ${plan.source}: ${plan.files.length} binlog(s) (${mib(plan.bytes)}), ${plan.firstBinlog ?? '-'} .. ${plan.lastBinlog ?? '-'}; archive window ${plan.window.from ?? '?'} .. ${plan.window.until ?? '?'}\n` +
    (plan.apply ? `replay ${plan.replayFiles.join(' ')} from ${plan.startPosition ?? 4}${plan.stopPosition === null ? ' to the end' : ` to ${plan.stopPosition}`}\n` : 'nothing to replay\n') +
    `target: ${plan.targetReached}\n`;
}

export async function restoreCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse('restore', argv, OPTIONS, USAGE.restore);
  const source = optional(values, 'source');
  const fromGtid = optional(values, 'from-gtid');
  const fromPosition = filePosition(values, 'from');
  const apply = applyTarget(values);
  const log = logger(io, values.quiet === true);
  // A cloud SDK only for its own URL scheme: a file:// restore loads neither (38 MiB of RSS, docs/PERFORMANCE.md §8.1).
  const store = await loadStore(required('restore', values, 'store', USAGE.restore));
  const keyUrl = required('restore', values, 'key', USAGE.restore);
  const planOnly = values['plan-only'] === true;
  if (planOnly && (values.out !== undefined || apply !== undefined)) {
    throw new ArchiverError('EUSAGE', 'restore: --plan-only writes and applies nothing: leave out --out and --apply-*', { hint: `usage: ${USAGE.restore}` });
  }
  const applyMode = applyModeOf(values);
  const streamed = apply !== undefined && values.out === undefined;
  if (applyMode === 'replication' && !streamed && !planOnly) {
    throw new ArchiverError('EUSAGE', 'restore: --apply-mode replication needs --apply-host, --apply-user-file and --apply-password-file, and writes no files (leave out --out)', { hint: `usage: ${USAGE.restore}` });
  }
  if (values['allow-unverified-apply'] === true && (apply === undefined || applyMode === 'replication')) {
    throw new ArchiverError('EUSAGE', 'restore: --allow-unverified-apply is for a session apply (--apply-host ...) to a server that cannot show its executed GTIDs', { hint: `usage: ${USAGE.restore}` });
  }
  const out = planOnly || streamed ? '' : required('restore', values, 'out', `${USAGE.restore} (--out DIR, or --apply-host ... to apply without writing files)`);
  const target = restoreTarget(values);
  checkKeyUrl(keyUrl, log);
  const options: Omit<RestoreOptions, 'out' | 'apply'> = {
    ...(fromPosition === undefined ? {} : { fromPosition }),
    store, keyUrl, target, acceptGaps: values['accept-gaps'] === true,
    ...(source === undefined ? {} : { source }),
    ...(fromGtid === undefined ? {} : { fromGtid }),
    logger: log,
  };
  const summaryFile = optional(values, 'summary-file');
  if (planOnly) {
    const plan = await runPlan(options);
    if (summaryFile !== undefined) await fs.promises.writeFile(summaryFile, encodeRestoreReport({ ok: true, kind: 'plan', ...plan }));
    print(io, values.json === true, { ok: true, plan }, () => humanPlan(plan));
    return 0;
  }
  const allowUnverifiedApply = values['allow-unverified-apply'] === true;
  if (streamed) return streamedApply(io, values.json === true, summaryFile, { ...options, ...applySettings(apply, values), mode: applyMode, allowUnverifiedApply });
  const summary = await underRestoreLease(store, source, log, () => whileInterruptible((signal) => runRestore({ ...options, out, signal, ...(apply === undefined ? {} : { apply, allowUnverifiedApply }) })));
  if (summaryFile !== undefined) await fs.promises.writeFile(summaryFile, encodeRestoreReport({ ok: true, kind: 'restore', ...summary }));
  print(io, values.json === true, { ok: true, ...summary }, () => human(summary));
  return 0;
}

function applyModeOf(values: Record<string, unknown>): ApplyMode {
  const mode = optional(values, 'apply-mode') ?? 'auto';
  if (!(APPLY_MODES as readonly string[]).includes(mode)) {
    throw new ArchiverError('EUSAGE', `restore: --apply-mode ${JSON.stringify(mode)} is not one of ${APPLY_MODES.join(', ')}`, { hint: `usage: ${USAGE.restore}` });
  }
  return mode as ApplyMode;
}

/** The target and, for the replication applier, where this process listens and how many workers the target uses. */
function applySettings(apply: ApplyTarget, values: Record<string, unknown>): Pick<ApplyRunOptions, 'apply' | 'listenHost' | 'parallelThreads'> {
  const listenHost = optional(values, 'apply-listen');
  const parallelThreads = integer('restore', values, 'apply-parallel', { min: 0, max: 256 });
  return { apply, ...(listenHost === undefined ? {} : { listenHost }), ...(parallelThreads === undefined ? {} : { parallelThreads }) };
}

function humanApply(s: ApplySummary): string {
  const how = s.applyMode === 'replication' ? `through replication (${s.events} events)` : 'in one session';
  return `applied ${s.replayFiles.length} of ${s.files.length} binlog(s) of ${s.source} (${mib(s.bytes)}) to ${s.appliedTo ?? 'nothing'} ${how}, verify ${s.verifyMs} ms, apply ${s.applyMs} ms\n` +
    `mode: ${s.applyModeReason}\ntarget: ${s.targetReached}\nexecuted GTIDs: ${s.executedGtids ?? '-'}\ncheck: ${s.applyCheck ?? '-'}\n`;
}

/** --apply-* without --out: verified in memory, applied without writing a file (replication, or a session fed through stdin). */
async function streamedApply(io: Io, json: boolean, summaryFile: string | undefined, options: ApplyRunOptions): Promise<number> {
  // SIGTERM/SIGINT stop it cleanly (the replica stopped and removed, or the session ended), then it exits non-zero.
  const summary = await underRestoreLease(options.store, options.source, options.logger ?? silentLogger, () => whileInterruptible((signal) => runApply({ ...options, signal })));
  if (summaryFile !== undefined) await fs.promises.writeFile(summaryFile, encodeRestoreReport({ ok: true, kind: 'restore', ...summary }));
  print(io, json, { ok: true, ...summary }, () => humanApply(summary));
  return 0;
}

/** The failure report for `--summary-file`, written by main.ts when the command throws. */
export function restoreFailureReport(err: unknown, argv: readonly string[]): string {
  return encodeRestoreReport({ ok: false, kind: argv.includes('--plan-only') ? 'plan' : 'restore', error: errorJson(err) });
}
