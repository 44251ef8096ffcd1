/**
 * The four commands. Each parses its options, runs the library function, and prints one summary:
 * JSON on stdout with --json, a few human lines otherwise. Failures throw; main.ts turns them into exit codes.
 */
import fs from 'node:fs';
import { inspectBinlog } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';
import { createLogger, type Logger } from '../logger.ts';
import { type ArchiveOptions, resolveArchiveOptions } from '../pipeline/archive-options.ts';
import { type ArchiveSummary, runArchive } from '../pipeline/archive-run.ts';
import { openArchiveKey } from '../keys/batch-keys.ts';
import { warnIfKeyFileExposed } from '../keys/key-file-mode.ts';
import { parseKeyProviderUrl } from '../keys/open-key-provider.ts';
import { encodeVerifyReport } from '../restore/verify-report.ts';
import { runVerify } from '../restore/verify-run.ts';
import { parseTime } from '../time.ts';
import { encodeReport, reportFromSummary } from '../controller/run-report.ts';
import type { ArchiveFormat } from '../store/layout.ts';
import { DEFAULT_SEGMENT_SIZE, MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE } from '../format/constants.ts';
import { loadStore } from '../store/load-store.ts';
import { integer, optional, parse, required } from './args.ts';
import { LEGACY_OPTIONS, archiveParity } from './legacy-options.ts';
import { type Io, errorJson, mib, printError, progressLine } from './output.ts';
import { USAGE } from './usage.ts';

export const common = { json: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' } } as const;

export function logger(io: Io, quiet: boolean): Logger {
  return createLogger({ write: io.stderr, level: quiet ? 'warn' : 'info' });
}

/**
 * The --key URL checked before the store is touched (usage errors first), and a local key or passphrase file
 * other users can read warned about, not refused (key-file-mode.ts).
 */
export function checkKeyUrl(keyUrl: string, log: Logger): void {
  const parsed = parseKeyProviderUrl(keyUrl);
  if (parsed.kind === 'file') warnIfKeyFileExposed(parsed.path, log);
}

export function print(io: Io, json: boolean, summary: unknown, human: () => string): void {
  io.stdout(json ? `${JSON.stringify(summary, null, 2)}\n` : human());
}

export { USAGE };

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
    namespace: { type: 'string' }, policy: { type: 'string' }, 'summary-file': { type: 'string' }, 'binlog-basename': { type: 'string' },
    ...LEGACY_OPTIONS,
  }, USAGE.archive);
  const progress = progressLine(io);
  const log = logger(io, values.quiet === true);
  const level = integer('archive', values, 'level');
  const segmentSize = integer('archive', values, 'segment-size', { min: MIN_SEGMENT_SIZE, max: MAX_SEGMENT_SIZE, hint: `bytes of binlog per segment (default ${DEFAULT_SEGMENT_SIZE})` });
  const source = optional(values, 'source');
  const binlogBasename = optional(values, 'binlog-basename');
  // The operator's Jobs bind the data key to the policy that asked for it (KMS EncryptionContext, Transit context).
  const context = Object.fromEntries((['namespace', 'policy'] as const).flatMap((k) => {
    const v = optional(values, k);
    return v === undefined ? [] : [[k, v]];
  }));
  const input: ArchiveOptions = {
    context,
    binlogDir: required('archive', values, 'binlog-dir', USAGE.archive),
    store: await loadStore(required('archive', values, 'store', USAGE.archive)),
    keyUrl: required('archive', values, 'key', USAGE.archive),
    format: (optional(values, 'format') ?? 'gcm') as ArchiveFormat,
    ...(level === undefined ? {} : { level }),
    ...(segmentSize === undefined ? {} : { segmentSize }),
    ...(source === undefined ? {} : { source }),
    ...(binlogBasename === undefined ? {} : { binlogBasename }),
    logger: log,
    onProgress: ({ binlog, bytes, total }) => progress.update(`archiving ${binlog}: ${mib(bytes)} / ${mib(total)}`),
  };
  // Usage errors first (exit 2), then the key, before any binlog is looked at (see openArchiveKey).
  const { format } = resolveArchiveOptions(input);
  const parityCheck = archiveParity(values, log);
  checkKeyUrl(input.keyUrl, log);
  const keyProvider = openArchiveKey(input.keyUrl, format);
  let summary: ArchiveSummary;
  try {
    summary = await runArchive({ ...input, ...(keyProvider === undefined ? {} : { keyProvider }) });
  } finally {
    keyProvider?.close?.();
  }
  progress.done();
  // spec.migration.legacy: the parity check with the legacy pipeline, reported with the run (never failing it).
  const parity = await parityCheck?.({ store: input.store, keyUrl: input.keyUrl, source: summary.source });
  // The operator's Jobs: a compact report (< 4096 bytes) as the container's termination message (run-report.ts).
  const summaryFile = optional(values, 'summary-file');
  if (summaryFile !== undefined) await fs.promises.writeFile(summaryFile, encodeReport({ ...reportFromSummary(summary), ...(parity === undefined ? {} : { parity }) }));
  print(io, values.json === true, { ok: true, ...summary, ...(parity === undefined ? {} : { parity }) }, () =>
    `archived ${summary.archived}, skipped ${summary.skipped}, adopted ${summary.adopted} binlog(s) of ${summary.source ?? '(none)'}: ${mib(summary.bytes)} -> ${mib(summary.objectBytes)}` +
    `${summary.gaps.length > 0 ? `; ${summary.gaps.length} gap(s): ${summary.gaps.map((g) => g.detail).join('; ')}` : ''}\n`);
  return 0;
}

export async function verifyCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse('verify', argv, {
    ...common, store: { type: 'string' }, key: { type: 'string' }, source: { type: 'string' }, since: { type: 'string' }, 'summary-file': { type: 'string' },
  }, USAGE.verify);
  const source = optional(values, 'source');
  const sinceText = optional(values, 'since');
  const since = sinceText === undefined ? undefined : parseTime(sinceText, '--since');
  const log = logger(io, values.quiet === true);
  const store = await loadStore(required('verify', values, 'store', USAGE.verify));
  const keyUrl = required('verify', values, 'key', USAGE.verify);
  checkKeyUrl(keyUrl, log);
  const summary = await runVerify({ store, keyUrl, ...(source === undefined ? {} : { source }), ...(since === undefined ? {} : { since }), logger: log });
  // An object no entry names means the archive is not what the manifest says: a failure too.
  const ok = summary.problems.length === 0 && summary.orphans.length === 0;
  const summaryFile = optional(values, 'summary-file');
  if (summaryFile !== undefined) await fs.promises.writeFile(summaryFile, encodeVerifyReport(summary, new Date()));
  print(io, values.json === true, { ok, ...summary }, () =>
    `verified ${summary.verified} object(s), ${mib(summary.bytes)}, in ${summary.sources.length} source(s)` +
    (summary.since === null ? '\n' : `, ${summary.skipped} archived before ${summary.since} not decoded\n`) +
    summary.problems.map((p) => `PROBLEM ${p.code} ${p.source}/${p.binlog ?? ''}: ${p.message}\n`).join('') +
    (summary.orphans.length > 0 ? `objects without a manifest entry: ${summary.orphans.join(', ')}\n` : ''));
  return ok ? 0 : 1;
}
