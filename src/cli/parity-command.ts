/**
 * `binlog-archiver parity`: compares the archive with a legacy pipeline's (src/lifecycle/parity.ts). Exit 0 only
 * when every binlog in the overlapping range matches; 3 when something in it does not (missing on either side,
 * different, corrupt); 4 when the two share no binlog at all (nothing proven). The legacy passphrase comes from a
 * file (--legacy-key file:///path), never from the command line, and is zeroed after the run.
 */
import { openLegacyLocation } from '../lifecycle/legacy-location.ts';
import { type ParitySummary, runParity } from '../lifecycle/parity.ts';
import { loadStore } from '../store/load-store.ts';
import { integer, optional, parse, required } from './args.ts';
import { checkKeyUrl, common, logger, print } from './commands.ts';
import { LEGACY_OPTIONS, legacyFormat, legacyKeyFile, legacyPassphrase } from './legacy-options.ts';
import { type Io, mib } from './output.ts';
import { PARITY_USAGE } from './usage.ts';

export { PARITY_USAGE };

export const PARITY_EXIT = { ok: 0, mismatch: 3, noOverlap: 4 } as const;

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
    ...common, ...LEGACY_OPTIONS, store: { type: 'string' }, key: { type: 'string' }, source: { type: 'string' }, 'recent-cycles': { type: 'string' },
  }, PARITY_USAGE);
  const recentCycles = integer('parity', values, 'recent-cycles', { min: 1, max: 1000, hint: 'compare only the binlogs of the newest N rotation cycles the legacy pipeline has reached' });
  const log = logger(io, values.quiet === true);
  const format = legacyFormat('parity', optional(values, 'legacy-format'));
  const store = await loadStore(required('parity', values, 'store', PARITY_USAGE));
  const keyUrl = required('parity', values, 'key', PARITY_USAGE);
  const legacy = await openLegacyLocation(required('parity', values, 'legacy', PARITY_USAGE), format);
  checkKeyUrl(keyUrl, log);
  const passphrase = legacyPassphrase(legacyKeyFile('parity', optional(values, 'legacy-key'), format), log);
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
