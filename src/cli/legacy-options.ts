/**
 * The options that name a legacy pipeline's archive (--legacy, --legacy-format, --legacy-key), shared by `parity`
 * and by `archive`, which runs a parity check after the run when it is given one (the operator's Jobs for a policy
 * with spec.migration.legacy). The passphrase comes from a file, never from the command line.
 */
import { ArchiverError } from '../errors.ts';
import { localFilePath } from '../file-url.ts';
import { readPassphrase } from '../keys/batch-keys.ts';
import { warnIfKeyFileExposed } from '../keys/key-file-mode.ts';
import { LEGACY_FORMATS, type LegacyFormat, openLegacyLocation } from '../lifecycle/legacy-location.ts';
import { type ParitySummary, runParity } from '../lifecycle/parity.ts';
import type { Logger } from '../logger.ts';
import type { ReportParity } from '../contracts/run-report.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { optional } from './args.ts';
import { errorJson } from './output.ts';

export const LEGACY_OPTIONS = { legacy: { type: 'string' }, 'legacy-format': { type: 'string' }, 'legacy-key': { type: 'string' } } as const;

/** Rotation cycles the check after an archive run compares: the number the migration waits for. */
export const ARCHIVE_PARITY_CYCLES = 3;

export function legacyFormat(command: string, value: string | undefined): LegacyFormat {
  const format = value ?? 'openssl-aes-256-cbc';
  if (!(LEGACY_FORMATS as readonly string[]).includes(format)) {
    throw new ArchiverError('EUSAGE', `${command}: --legacy-format ${JSON.stringify(format)} is not one of ${LEGACY_FORMATS.join(', ')}`);
  }
  return format as LegacyFormat;
}

/**
 * Checks --legacy-key as --key file:// URLs are checked: a file: URL only (a value that is not one may be the
 * passphrase itself, so it is never echoed), and required exactly for the openssl format.
 */
export function legacyKeyFile(command: string, url: string | undefined, format: LegacyFormat): string | undefined {
  if (format !== 'openssl-aes-256-cbc') {
    if (url !== undefined) throw new ArchiverError('EUSAGE', `${command}: --legacy-key is only for --legacy-format openssl-aes-256-cbc (not ${format})`);
    return undefined;
  }
  if (url === undefined) throw new ArchiverError('EUSAGE', `${command}: --legacy-format openssl-aes-256-cbc needs --legacy-key file:///path/to/passphrase-file`);
  if (!/^file:/i.test(url)) {
    throw new ArchiverError('EUSAGE', `${command}: --legacy-key must be a file:// URL naming the passphrase file (the value given is not shown: it may be the passphrase)`, {
      hint: 'secrets never go on the command line, where other users and shell history see them: write the passphrase to a file (chmod 600) and pass --legacy-key file:///path',
    });
  }
  return localFilePath(url, '--legacy-key');
}

/** The passphrase bytes (the caller zeroes them); a file other users can read is warned about. */
export function legacyPassphrase(file: string | undefined, log: Logger): Buffer | undefined {
  if (file === undefined) return undefined;
  warnIfKeyFileExposed(file, log);
  return readPassphrase(`file://${file}`).passphrase;
}

function problemsOf(s: ParitySummary): string[] {
  return [
    ...s.differing.map((d) => `differs: ${d.binlog}`),
    ...s.missingInLegacy.map((b) => `missing in legacy: ${b}`),
    ...s.missingInArchive.map((b) => `missing in archive: ${b}`),
    ...s.corruptLegacy.map((c) => `corrupt legacy object ${c.binlog}: ${c.reason}`),
    ...s.unreadableArchive.map((u) => `unreadable in archive: ${u.binlog} (${u.code})`),
  ];
}

export function reportParity(s: ParitySummary): ReportParity {
  const problems = problemsOf(s);
  return {
    ok: s.ok, consecutiveMatchingCycles: s.consecutiveMatchingCycles, matched: s.matched.length, problems: problems.length,
    pending: s.newerThanLegacy.length, detail: problems.length === 0 ? null : problems.slice(0, 3).join('; '), error: null,
  };
}

export type ArchiveParityCheck = (ctx: { store: ObjectStore; keyUrl: string; source: string | null }) => Promise<ReportParity>;

/**
 * For `archive`: the check to run after the run, or undefined without --legacy. Option mistakes are usage errors now,
 * before any binlog is read; anything that goes wrong in the check itself (an unreadable passphrase file, the legacy
 * location unreachable) is reported in its result and logged, never failing the archive run.
 */
export function archiveParity(values: Record<string, unknown>, log: Logger): ArchiveParityCheck | undefined {
  const url = optional(values, 'legacy');
  if (url === undefined) {
    if (optional(values, 'legacy-format') !== undefined || optional(values, 'legacy-key') !== undefined) {
      throw new ArchiverError('EUSAGE', 'archive: --legacy-format and --legacy-key need --legacy URL');
    }
    return undefined;
  }
  const format = legacyFormat('archive', optional(values, 'legacy-format'));
  const keyFile = legacyKeyFile('archive', optional(values, 'legacy-key'), format);
  if (!/^(file|s3|gs):/i.test(url)) throw new ArchiverError('EUSAGE', `archive: --legacy ${JSON.stringify(url)}: not a file://, s3:// or gs:// URL`);
  return async ({ store, keyUrl, source }) => {
    let passphrase: Buffer | undefined;
    try {
      const legacy = await openLegacyLocation(url, format);
      passphrase = legacyPassphrase(keyFile, log);
      const summary = await runParity({
        store, keyUrl, legacy, format, recentCycles: ARCHIVE_PARITY_CYCLES, logger: log,
        ...(source === null ? {} : { source }), ...(passphrase === undefined ? {} : { passphrase }),
      });
      const report = reportParity(summary);
      log.log(report.ok ? 'info' : 'warn', 'Parity with the legacy pipeline', { ...report });
      return report;
    } catch (err) {
      const { code, message } = errorJson(err);
      log.log('error', 'Parity check with the legacy pipeline failed', { code, error: message });
      return { ok: false, consecutiveMatchingCycles: 0, matched: 0, problems: 0, pending: 0, detail: null, error: { code, message } };
    } finally {
      passphrase?.fill(0);
    }
  };
}
