/**
 * `expire` (retention by recovery window) and `backup-anchor` (record a base backup's position). Usage errors
 * (exit 2) come before the store is touched: a bad duration, a time in the future, a half-given position.
 */
import fs from 'node:fs';
import { parseDuration } from '../agent/duration.ts';
import { ArchiverError } from '../errors.ts';
import { type BackupAnchor, ANCHOR_SCHEMA, recordAnchor } from '../lifecycle/anchor.ts';
import { encodeExpireReport } from '../lifecycle/expire-report.ts';
import { type ExpireSummary, runExpire } from '../lifecycle/expire-run.ts';
import { assertSourceName } from '../store/layout.ts';
import { loadStore } from '../store/load-store.ts';
import { parseTime } from '../time.ts';
import { integer, optional, parse, required } from './args.ts';
import { checkKeyUrl, common, logger, print } from './commands.ts';
import { LIFECYCLE_USAGE as USAGE } from './lifecycle-usage.ts';
import { type Io, mib } from './output.ts';

/** Clocks disagree a little; a time further ahead than this is a mistake, not skew. */
const FUTURE_SKEW_MS = 60_000;
/** 100 years: beyond it the window start is not a date any binlog has. */
const MAX_WINDOW_MS = 100 * 365 * 86_400_000;

function pastTime(command: string, text: string, option: string, what: string): Date {
  const t = parseTime(text, option);
  if (t.getTime() > Date.now() + FUTURE_SKEW_MS) {
    throw new ArchiverError('EUSAGE', `${command}: ${option} ${t.toISOString()} is in the future (this host's clock says ${new Date().toISOString()})`, { hint: what });
  }
  return t;
}

function windowOf(text: string): number {
  const ms = parseDuration(text, '--recovery-window');
  if (ms < 1000 || ms > MAX_WINDOW_MS) {
    throw new ArchiverError('EUSAGE', `expire: --recovery-window ${text} is out of range (1s to 876000h)`, { hint: 'the window every restore point must stay in, e.g. 168h for a week' });
  }
  return ms;
}

function expireText(s: ExpireSummary): string {
  const lines = s.sources.map((x) => {
    const head = `${x.source}: ${s.dryRun ? 'would delete' : 'deleted'} ${x.deletedObjects} object(s), ${mib(x.deletedBytes)}` +
      `${x.expiredBinlogs.length > 0 ? ` (${x.expiredBinlogs.length} binlog(s): ${x.expiredBinlogs[0]} .. ${x.expiredBinlogs.at(-1)})` : ''}; ` +
      `retained from ${x.retainedFrom ?? '-'} (first recoverable point ${x.firstRecoverableTime ?? 'unknown'}), window start ${x.windowStart}, ` +
      `by ${x.basis === 'anchor' ? `backup anchor ${x.anchorKey ?? ''}` : x.basis}\n`;
    return head + x.retained.map((r) => `  kept ${r.key}: ${r.reason}${r.until === null ? '' : ` until ${r.until}`}\n`).join('') +
      x.keptGaps.map((g) => `  GAP in the kept range: ${g.detail}\n`).join('') + x.notes.map((n) => `  note: ${n}\n`).join('');
  });
  return lines.join('');
}

export async function expireCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse('expire', argv, {
    ...common, store: { type: 'string' }, key: { type: 'string' }, 'recovery-window': { type: 'string' }, source: { type: 'string' },
    now: { type: 'string' }, 'dry-run': { type: 'boolean' }, 'summary-file': { type: 'string' },
  }, USAGE.expire);
  const windowText = required('expire', values, 'recovery-window', USAGE.expire);
  const windowMs = windowOf(windowText);
  const nowText = optional(values, 'now');
  const now = nowText === undefined ? new Date() : pastTime('expire', nowText, '--now', 'a --now ahead of the clock would expire binlogs the real window still needs; leave it out to use the clock');
  const source = optional(values, 'source');
  if (source !== undefined) assertSourceName(source);
  const storeUrl = required('expire', values, 'store', USAGE.expire);
  const keyUrl = required('expire', values, 'key', USAGE.expire);
  const log = logger(io, values.quiet === true);
  checkKeyUrl(keyUrl, log);
  const summary = await runExpire({
    store: await loadStore(storeUrl), keyUrl, windowMs, windowText, now, dryRun: values['dry-run'] === true, logger: log,
    ...(source === undefined ? {} : { source }),
  });
  const summaryFile = optional(values, 'summary-file');
  if (summaryFile !== undefined) await fs.promises.writeFile(summaryFile, encodeExpireReport(summary));
  print(io, values.json === true, { ok: true, ...summary }, () => expireText(summary));
  return 0;
}

export async function backupAnchorCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse('backup-anchor', argv, {
    ...common, store: { type: 'string' }, source: { type: 'string' }, gtid: { type: 'string' }, file: { type: 'string' },
    position: { type: 'string' }, time: { type: 'string' },
  }, USAGE['backup-anchor']);
  const source = required('backup-anchor', values, 'source', USAGE['backup-anchor']);
  assertSourceName(source);
  const time = pastTime('backup-anchor', required('backup-anchor', values, 'time', USAGE['backup-anchor']), '--time', 'the time the base backup is consistent at, as its tool reports it');
  const gtid = typeof values.gtid === 'string' ? values.gtid : undefined;
  const anchor: BackupAnchor = {
    schema: ANCHOR_SCHEMA, source, time: time.toISOString(), gtidSet: gtid ?? null, file: optional(values, 'file') ?? null,
    position: integer('backup-anchor', values, 'position', { min: 4, max: Number.MAX_SAFE_INTEGER, hint: 'the binlog position the backup tool reports' }) ?? null,
    recordedAt: new Date().toISOString(),
  };
  const store = await loadStore(required('backup-anchor', values, 'store', USAGE['backup-anchor']));
  const { key, created } = await recordAnchor(store, anchor);
  print(io, values.json === true, { ok: true, key, created, anchor }, () =>
    `${created ? 'recorded' : 'already recorded'} backup anchor ${store.describe(key)}: ${source} at ${anchor.time}, ${anchor.gtidSet !== null ? `GTIDs ${anchor.gtidSet}` : `${anchor.file ?? ''}:${anchor.position ?? ''}`}\n`);
  return 0;
}
