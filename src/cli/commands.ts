/**
 * The four commands. Each parses its options, runs the library function, and prints one summary:
 * JSON on stdout with --json, a few human lines otherwise. Failures throw; main.ts turns them into exit codes.
 */
import fs from 'node:fs';
import { inspectBinlog } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { runArchive } from '../pipeline/archive-run.ts';
import type { ApplyTarget } from '../restore/apply.ts';
import { runRestore } from '../restore/restore-run.ts';
import { parsePosition, type RestoreTarget, type StartPosition } from '../restore/target.ts';
import { runVerify } from '../restore/verify-run.ts';
import { parseTime } from '../time.ts';
import { encodeReport, reportFromSummary } from '../controller/run-report.ts';
import type { ArchiveFormat } from '../store/layout.ts';
import { openStore } from '../store/open-store.ts';
import { integer, optional, parse, required } from './args.ts';
import { type Io, errorJson, mib, printError, progressLine } from './output.ts';

const common = { json: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' } } as const;

function logger(io: Io, quiet: boolean) {
  return createLogger({ write: io.stderr, level: quiet ? 'warn' : 'info' });
}

function print(io: Io, json: boolean, summary: unknown, human: () => string): void {
  io.stdout(json ? `${JSON.stringify(summary, null, 2)}\n` : human());
}

export const USAGE = {
  inspect: 'binlog-archiver inspect FILE... [--json]',
  archive: 'binlog-archiver archive --binlog-dir DIR --store URL --key URL [--format gcm|openssl-aes-256-cbc] [--level N] [--source NAME] [--namespace NS --policy NAME] [--json] [--summary-file FILE]',
  restore: 'binlog-archiver restore --store URL --key URL --out DIR [--source SERVER] [--from-gtid SET | --from-file F --from-position N] [--until TIME | --until-gtid SET | --until-file F --until-position N] [--accept-gaps] [--apply-host H --apply-port P --apply-user-file F --apply-password-file F] [--json]',
  verify: 'binlog-archiver verify --store URL --key URL [--source SERVER] [--json]',
};

export async function inspectCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('inspect', argv, common, USAGE.inspect);
  if (positionals.length === 0) throw new ArchiverError('EUSAGE', 'inspect: name at least one binlog file', { hint: `usage: ${USAGE.inspect}` });
  const results: unknown[] = [];
  let failed = 0;
  for (const file of positionals) {
    try {
      results.push({ ok: true, ...(await inspectBinlog(file)) });
    } catch (err) {
      failed += 1;
      results.push({ ok: false, path: file, error: errorJson(err) });
      if (values.json !== true) printError(io, err);
    }
  }
  print(io, values.json === true, results.length === 1 ? results[0] : results, () => results.map((r) => {
    const x = r as Record<string, unknown>;
    if (x.ok !== true) return '';
    if (x.magic === 'mysql-encrypted') return `${String(x.path)}: MySQL-encrypted binlog, keyring key ${String((x.encryption as { keyId: string }).keyId)}, ${String(x.size)} bytes\n`;
    const prev = (x.previousGtids as { text: string } | null)?.text ?? '';
    return `${String(x.path)}: ${String(x.flavor)} ${String(x.serverVersion)}, server ${String(x.serverId)}, ${String(x.eventCount)} events, ${String(x.size)} bytes, ` +
      `${String(x.firstEventTime)} .. ${String(x.lastEventTime)}, previous GTIDs [${prev}], added [${String(x.gtidsAdded)}], ${x.closed === true ? 'closed' : 'NOT closed'}\n`;
  }).join(''));
  return failed === 0 ? 0 : 1;
}

export async function archiveCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse('archive', argv, {
    ...common, 'binlog-dir': { type: 'string' }, store: { type: 'string' }, key: { type: 'string' }, format: { type: 'string' },
    level: { type: 'string' }, source: { type: 'string' }, 'segment-size': { type: 'string' },
    namespace: { type: 'string' }, policy: { type: 'string' }, 'summary-file': { type: 'string' },
  }, USAGE.archive);
  const progress = progressLine(io);
  const level = integer('archive', values, 'level');
  const segmentSize = integer('archive', values, 'segment-size');
  const source = optional(values, 'source');
  // The operator's Jobs bind the data key to the policy that asked for it (KMS EncryptionContext, Transit context).
  const context = Object.fromEntries((['namespace', 'policy'] as const).flatMap((k) => {
    const v = optional(values, k);
    return v === undefined ? [] : [[k, v]];
  }));
  const summary = await runArchive({
    context,
    binlogDir: required('archive', values, 'binlog-dir', USAGE.archive),
    store: openStore(required('archive', values, 'store', USAGE.archive)),
    keyUrl: required('archive', values, 'key', USAGE.archive),
    format: (optional(values, 'format') ?? 'gcm') as ArchiveFormat,
    ...(level === undefined ? {} : { level }),
    ...(segmentSize === undefined ? {} : { segmentSize }),
    ...(source === undefined ? {} : { source }),
    logger: logger(io, values.quiet === true),
    onProgress: ({ binlog, bytes, total }) => progress.update(`archiving ${binlog}: ${mib(bytes)} / ${mib(total)}`),
  });
  progress.done();
  // The operator's Jobs: a compact report (< 4096 bytes) as the container's termination message (run-report.ts).
  const summaryFile = optional(values, 'summary-file');
  if (summaryFile !== undefined) await fs.promises.writeFile(summaryFile, encodeReport(reportFromSummary(summary)));
  print(io, values.json === true, { ok: true, ...summary }, () =>
    `archived ${summary.archived}, skipped ${summary.skipped}, adopted ${summary.adopted} binlog(s) of ${summary.source ?? '(none)'}: ${mib(summary.bytes)} -> ${mib(summary.objectBytes)}` +
    `${summary.gaps.length > 0 ? `; ${summary.gaps.length} gap(s): ${summary.gaps.map((g) => g.detail).join('; ')}` : ''}\n`);
  return 0;
}

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
  const port = integer('restore', values, 'apply-port') ?? 3306;
  if (host === undefined && userFile === undefined && passwordFile === undefined) return undefined;
  if (host === undefined || userFile === undefined || passwordFile === undefined) {
    throw new ArchiverError('EUSAGE', 'restore: --apply-host, --apply-user-file and --apply-password-file go together', { hint: 'credentials come from files (mounted Secrets), never from the command line' });
  }
  if (port < 1 || port > 65535) throw new ArchiverError('EUSAGE', `restore: --apply-port ${port} is not a port`);
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

export async function restoreCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse('restore', argv, {
    ...common, store: { type: 'string' }, key: { type: 'string' }, out: { type: 'string' }, source: { type: 'string' },
    'from-gtid': { type: 'string' }, until: { type: 'string' }, 'until-gtid': { type: 'string' }, 'accept-gaps': { type: 'boolean' },
    'from-file': { type: 'string' }, 'from-position': { type: 'string' }, 'until-file': { type: 'string' }, 'until-position': { type: 'string' },
    'apply-host': { type: 'string' }, 'apply-port': { type: 'string' }, 'apply-user-file': { type: 'string' }, 'apply-password-file': { type: 'string' },
  }, USAGE.restore);
  const source = optional(values, 'source');
  const fromGtid = optional(values, 'from-gtid');
  const fromPosition = filePosition(values, 'from');
  const apply = applyTarget(values);
  const summary = await runRestore({
    ...(apply === undefined ? {} : { apply }),
    ...(fromPosition === undefined ? {} : { fromPosition }),
    store: openStore(required('restore', values, 'store', USAGE.restore)),
    keyUrl: required('restore', values, 'key', USAGE.restore),
    out: required('restore', values, 'out', USAGE.restore),
    target: restoreTarget(values),
    acceptGaps: values['accept-gaps'] === true,
    ...(source === undefined ? {} : { source }),
    ...(fromGtid === undefined ? {} : { fromGtid }),
    logger: logger(io, values.quiet === true),
  });
  print(io, values.json === true, { ok: true, ...summary }, () =>
    `restored ${summary.files.length} binlog(s) of ${summary.source} (${mib(summary.bytes)}) to ${summary.out}\n` +
    (summary.replayCommand === null ? 'nothing to replay\n' : `replay with: ${summary.replayScript ?? ''}\n  ${summary.replayCommand.join(' ')} | mysql\n`) +
    (summary.appliedTo === null ? '' : `applied to ${summary.appliedTo}\n`));
  return 0;
}

export async function verifyCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse('verify', argv, { ...common, store: { type: 'string' }, key: { type: 'string' }, source: { type: 'string' } }, USAGE.verify);
  const source = optional(values, 'source');
  const summary = await runVerify({
    store: openStore(required('verify', values, 'store', USAGE.verify)),
    keyUrl: required('verify', values, 'key', USAGE.verify),
    ...(source === undefined ? {} : { source }),
    logger: logger(io, values.quiet === true),
  });
  // An object no entry names means the archive is not what the manifest says: a failure too.
  const ok = summary.problems.length === 0 && summary.orphans.length === 0;
  print(io, values.json === true, { ok, ...summary }, () =>
    `verified ${summary.verified} object(s), ${mib(summary.bytes)}, in ${summary.sources.length} source(s)\n` +
    summary.problems.map((p) => `PROBLEM ${p.code} ${p.source}/${p.binlog ?? ''}: ${p.message}\n`).join('') +
    (summary.orphans.length > 0 ? `objects without a manifest entry: ${summary.orphans.join(', ')}\n` : ''));
  return ok ? 0 : 1;
}
