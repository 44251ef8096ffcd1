/**
 * `binlog-archiver parity`: compares the archive with a legacy pipeline's (src/lifecycle/parity.ts). Exit 0 only
 * when every binlog in the overlapping range matches; 3 when something in it does not (missing on either side,
 * different, corrupt); 4 when the two share no binlog at all (nothing proven). The legacy passphrase comes from a
 * file (--legacy-key file:///path), never from the command line, and is zeroed after the run.
 */
import { ArchiverError } from '../errors.ts';
import { localFilePath } from '../file-url.ts';
import { readPassphrase } from '../keys/batch-keys.ts';
import { warnIfKeyFileExposed } from '../keys/key-file-mode.ts';
import { LEGACY_FORMATS, type LegacyFormat, openLegacyLocation } from '../lifecycle/legacy-location.ts';
import { type ParitySummary, runParity } from '../lifecycle/parity.ts';
import type { Logger } from '../logger.ts';
import { openStore } from '../store/open-store.ts';
import { integer, optional, parse, required } from './args.ts';
import { checkKeyUrl, common, logger, print } from './commands.ts';
import { type Io, mib } from './output.ts';
import { PARITY_USAGE } from './usage.ts';

export { PARITY_USAGE };

export const PARITY_EXIT = { ok: 0, mismatch: 3, noOverlap: 4 } as const;

function legacyFormat(value: string | undefined): LegacyFormat {
  const format = value ?? 'openssl-aes-256-cbc';
  if (!(LEGACY_FORMATS as readonly string[]).includes(format)) {
    throw new ArchiverError('EUSAGE', `parity: --legacy-format ${JSON.stringify(format)} is not one of ${LEGACY_FORMATS.join(', ')}`, { hint: `usage: ${PARITY_USAGE}` });
  }
  return format as LegacyFormat;
}

/**
 * The legacy passphrase file, checked as --key file:// URLs are: a file: URL only (a value that is not one may be
 * the passphrase itself, so it is never echoed), a warning when other users can read the file.
 */
function legacyPassphrase(url: string | undefined, format: LegacyFormat, log: Logger): Buffer | undefined {
  if (format !== 'openssl-aes-256-cbc') {
    if (url !== undefined) throw new ArchiverError('EUSAGE', `parity: --legacy-key is only for --legacy-format openssl-aes-256-cbc (not ${format})`);
    return undefined;
  }
  if (url === undefined) throw new ArchiverError('EUSAGE', 'parity: --legacy-format openssl-aes-256-cbc needs --legacy-key file:///path/to/passphrase-file', { hint: `usage: ${PARITY_USAGE}` });
  if (!/^file:/i.test(url)) {
    throw new ArchiverError('EUSAGE', 'parity: --legacy-key must be a file:// URL naming the passphrase file (the value given is not shown: it may be the passphrase)', {
      hint: 'secrets never go on the command line, where other users and shell history see them: write the passphrase to a file (chmod 600) and pass --legacy-key file:///path',
    });
  }
  const file = localFilePath(url, '--legacy-key');
  warnIfKeyFileExposed(file, log);
  return readPassphrase(`file://${file}`).passphrase;
}

function human(s: ParitySummary): string {
  const lines = [
    `parity of ${s.source} in ${s.store} with ${s.legacy} (${s.format}): ` +
      (s.overlap === null ? 'no binlog in common' : `overlap ${s.overlap.first} .. ${s.overlap.last}`),
    `  ${s.matched.length} match (${mib(s.plaintextBytes)}), ${s.consecutiveMatchingCycles} consecutive matching rotation cycle(s), newest first`,
    ...s.missingInLegacy.map((b) => `  MISSING in legacy: ${b}`),
    ...s.missingInArchive.map((b) => `  MISSING in archive: ${b}`),
    ...s.differing.map((d) => `  DIFFERS: ${d.binlog}: legacy ${d.legacyLength} bytes sha256 ${d.legacySha256}, archive ${d.archiveLength} bytes sha256 ${d.archiveSha256}`),
    ...s.corruptLegacy.map((c) => `  CORRUPT legacy object ${c.object} (${c.binlog}): ${c.reason}`),
    ...s.unreadableArchive.map((u) => `  UNREADABLE in archive: ${u.binlog}: ${u.code} ${u.message}`),
    ...s.ignoredLegacyObjects.map((i) => `  ignored legacy object ${JSON.stringify(i.name)}: ${i.reason}`),
  ];
  if (s.newerThanLegacy.length > 0) lines.push(`  not yet in legacy (newer than its newest): ${s.newerThanLegacy.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export async function parityCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse('parity', argv, {
    ...common, store: { type: 'string' }, key: { type: 'string' }, legacy: { type: 'string' }, 'legacy-format': { type: 'string' },
    'legacy-key': { type: 'string' }, source: { type: 'string' }, 'recent-cycles': { type: 'string' },
  }, PARITY_USAGE);
  const recentCycles = integer('parity', values, 'recent-cycles', { min: 1, max: 1000, hint: 'compare only the binlogs of the newest N rotation cycles the legacy pipeline has reached' });
  const log = logger(io, values.quiet === true);
  const format = legacyFormat(optional(values, 'legacy-format'));
  const store = openStore(required('parity', values, 'store', PARITY_USAGE));
  const keyUrl = required('parity', values, 'key', PARITY_USAGE);
  const legacy = openLegacyLocation(required('parity', values, 'legacy', PARITY_USAGE), format);
  checkKeyUrl(keyUrl, log);
  const passphrase = legacyPassphrase(optional(values, 'legacy-key'), format, log);
  const source = optional(values, 'source');
  let summary: ParitySummary;
  try {
    summary = await runParity({ store, keyUrl, legacy, format, logger: log, ...(passphrase === undefined ? {} : { passphrase }), ...(source === undefined ? {} : { source }), ...(recentCycles === undefined ? {} : { recentCycles }) });
  } finally {
    passphrase?.fill(0);
  }
  print(io, values.json === true, summary, () => human(summary));
  if (summary.overlap === null) {
    io.stderr('binlog-archiver: parity: the archive and the legacy location share no binlog: nothing was compared\n');
    return PARITY_EXIT.noOverlap;
  }
  if (!summary.ok) {
    io.stderr('binlog-archiver: parity: the archive and the legacy pipeline differ in the overlapping range (see above)\n');
    return PARITY_EXIT.mismatch;
  }
  return PARITY_EXIT.ok;
}
