/**
 * Runs one archive or verify in its own process and prints {ms, maxRssKiB, cpuMs} as JSON, so the benchmark
 * gets the peak resident set and the CPU time (all threads: main, workers, GC, libuv) of exactly that work.
 */
import { runArchive } from '../src/pipeline/archive-run.ts';
import { runVerify } from '../src/restore/verify-run.ts';
import { openStore } from '../src/store/open-store.ts';

const [mode, binlogDir, store, key, format, level] = process.argv.slice(2);
const started = process.hrtime.bigint();
const cpu = process.cpuUsage();
if (mode === 'archive') {
  await runArchive({ binlogDir: binlogDir ?? '', store: openStore(store ?? ''), keyUrl: key ?? '', source: 'bench', format: format as 'gcm', level: Number(level) });
} else {
  const summary = await runVerify({ store: openStore(store ?? ''), keyUrl: key ?? '' });
  if (summary.problems.length > 0) throw new Error(JSON.stringify(summary.problems));
}
const ms = Number(process.hrtime.bigint() - started) / 1e6;
const used = process.cpuUsage(cpu);
process.stdout.write(`${JSON.stringify({ ms, maxRssKiB: process.resourceUsage().maxRSS, cpuMs: (used.user + used.system) / 1000 })}\n`);
