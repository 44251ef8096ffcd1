/**
 * `restore`: writes the binlogs and replay.sh under --out (and applies them with --apply-*), or with --plan-only
 * prints what it would do, proven from the boundary binlogs' bytes, without writing anything. `--summary-file`
 * receives the same summary as compact JSON, on failure too: the operator's Jobs hand it back as their
 * termination message.
 */
import fs from 'node:fs';
import { ArchiverError } from '../errors.ts';
import type { ApplyTarget } from '../restore/apply.ts';
import { type ReplicationApplyOptions, runReplicationApply } from '../restore/apply-replication.ts';
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
  const applyMode = optional(values, 'apply-mode') ?? 'session';
  if (applyMode !== 'session' && applyMode !== 'replication') throw new ArchiverError('EUSAGE', `restore: --apply-mode ${JSON.stringify(applyMode)} is not session or replication`, { hint: `usage: ${USAGE.restore}` });
  const out = planOnly || applyMode === 'replication' ? '' : required('restore', values, 'out', USAGE.restore);
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
  if (applyMode === 'replication' && !planOnly) return replicationRestore(io, values.json === true, summaryFile, { ...options, ...replicationTarget(apply, values) });
  if (planOnly) {
    const plan = await runPlan(options);
    if (summaryFile !== undefined) await fs.promises.writeFile(summaryFile, encodeRestoreReport({ ok: true, kind: 'plan', ...plan }));
    print(io, values.json === true, { ok: true, plan }, () => humanPlan(plan));
    return 0;
  }
  if (values['allow-unverified-apply'] === true && (apply === undefined || applyMode !== 'session')) {
    throw new ArchiverError('EUSAGE', 'restore: --allow-unverified-apply is for a session apply (--apply-host ...) to a server that cannot show its executed GTIDs', { hint: `usage: ${USAGE.restore}` });
  }
  const summary = await underRestoreLease(store, source, log, () => whileInterruptible((signal) => runRestore({ ...options, out, signal, ...(apply === undefined ? {} : { apply, allowUnverifiedApply: values['allow-unverified-apply'] === true }) })));
  if (summaryFile !== undefined) await fs.promises.writeFile(summaryFile, encodeRestoreReport({ ok: true, kind: 'restore', ...summary }));
  print(io, values.json === true, { ok: true, ...summary }, () => human(summary));
  return 0;
}

/** --apply-mode replication: the target's replica applies, fed by this process; nothing is written (so no --out). */
function replicationTarget(apply: ApplyTarget | undefined, values: Record<string, unknown>): Pick<ReplicationApplyOptions, 'apply' | 'listenHost' | 'parallelThreads'> {
  if (apply === undefined || values.out !== undefined) {
    throw new ArchiverError('EUSAGE', 'restore: --apply-mode replication needs --apply-host, --apply-user-file and --apply-password-file, and writes no files (leave out --out)', { hint: `usage: ${USAGE.restore}` });
  }
  const listenHost = optional(values, 'apply-listen');
  const parallelThreads = integer('restore', values, 'apply-parallel', { min: 0, max: 256 });
  return { apply, ...(listenHost === undefined ? {} : { listenHost }), ...(parallelThreads === undefined ? {} : { parallelThreads }) };
}

async function replicationRestore(io: Io, json: boolean, summaryFile: string | undefined, options: ReplicationApplyOptions): Promise<number> {
  // SIGTERM/SIGINT stop it cleanly: the target's replica is stopped and removed, then it exits non-zero.
  const summary = await underRestoreLease(options.store, options.source, options.logger ?? silentLogger, () => whileInterruptible((signal) => runReplicationApply({ ...options, signal })));
  if (summaryFile !== undefined) await fs.promises.writeFile(summaryFile, encodeRestoreReport({ ok: true, kind: 'restore', ...summary }));
  print(io, json, { ok: true, ...summary }, () => `applied ${summary.replayFiles.length} of ${summary.files.length} binlog(s) of ${summary.source} (${mib(summary.bytes)}) to ${summary.appliedTo ?? 'nothing'} through replication (${summary.events} events, verify ${summary.verifyMs} ms, apply ${summary.applyMs} ms)\ntarget: ${summary.targetReached}\nexecuted GTIDs: ${summary.executedGtids ?? '-'}\n`);
  return 0;
}

/** The failure report for `--summary-file`, written by main.ts when the command throws. */
export function restoreFailureReport(err: unknown, argv: readonly string[]): string {
  return encodeRestoreReport({ ok: false, kind: argv.includes('--plan-only') ? 'plan' : 'restore', error: errorJson(err) });
}
