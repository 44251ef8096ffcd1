/**
 * Runs one archive or verify in its own process and prints {ms, maxRssKiB} as JSON, so the benchmark gets the
 * peak resident set of exactly that work (worker threads included).
 */
import { runArchive } from '../src/pipeline/archive-run.ts';
import { runVerify } from '../src/restore/verify-run.ts';
import { openStore } from '../src/store/open-store.ts';

const [mode, binlogDir, store, key, format, level] = process.argv.slice(2);
const started = process.hrtime.bigint();
if (mode === 'archive') {
  await runArchive({ binlogDir: binlogDir ?? '', store: openStore(store ?? ''), keyUrl: key ?? '', source: 'bench', format: format as 'gcm', level: Number(level) });
} else {
  const summary = await runVerify({ store: openStore(store ?? ''), keyUrl: key ?? '' });
  if (summary.problems.length > 0) throw new Error(JSON.stringify(summary.problems));
}
const ms = Number(process.hrtime.bigint() - started) / 1e6;
process.stdout.write(`${JSON.stringify({ ms, maxRssKiB: process.resourceUsage().maxRSS })}\n`);
