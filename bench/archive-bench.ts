/**
 * `npm run bench [-- FILE] [--workload bulk|oltp|both|txc|all] [--rounds N] [--level N] [--archive-level N] [--times N] [--s3] [--format F] [--cli PATH]`
 *
 * Archives real binlogs to a file:// store with full verification, running the CLI as the image runs it
 * (`node bin/binlog-archiver.js archive ...` of the JavaScript build, dist/, built first if the tree changed:
 * scripts/build.ts), and in the same run, alternating, the reference shell pipeline
 *   zstd -<level> | openssl enc -aes-256-cbc -salt -pbkdf2 -iter 100000
 * and its dry-run decode (its own verification); then decodes ours (`verify`) against
 *   openssl enc -d ... | zstd -d > /dev/null
 * Two workloads of 256 MiB, each generated once by the test MariaDB and cached (~/.cache/binlog-archiver/bench/):
 *   bulk: bench/generate-binlog.ts, bulk inserts of 20,000 rows per statement (few, large events);
 *   oltp: bench/oltp-binlogs.ts oltpBinlog(), many small transactions of mixed statements and row widths.
 * `--workload txc` (or `all`, with the two above) adds two MySQL binlogs written with binlog_transaction_compression,
 * synthesised from the compressed fixtures without a server (bench/txc-binlog.ts): txc-large (large transactions,
 * whose Transaction_payload events file-level zstd cannot shrink) and txc-small (small ones, which it still can).
 * Per workload it prints wall-time ratios, CPU time (user + sys of every process and thread, from wait4 via
 * /usr/bin/time) against the reference's, peak RSS, size against `zstd -<level>`, and the CLI's start time
 * (`--help`, and an archive run with nothing to archive), each beside the target of issue 13. Figures, not a
 * test. --times N archives a binlog N times the size (bench/big-binlog.ts; 4 gives the 1 GiB of the memory
 * target). With --s3 it also archives to the test environment's S3 server in each round (bench/s3-bench.ts).
 * --archive-level N archives at another zstd level than our default (2); the reference uses --level (3) (its size is still compared with
 * `zstd -<level>`); --cli PATH measures another checkout's bin/binlog-archiver.js (a before/after comparison).
 * docs/PERFORMANCE.md has the method and the figures. `--restore` runs bench/restore-bench.ts instead.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_ZSTD_LEVEL } from '../src/format/constants.ts';
import { ensureBuilt } from '../scripts/build.ts';
import { bigBinlog } from './big-binlog.ts';
import { generateBinlog } from './generate-binlog.ts';
import { oltpBinlog } from './oltp-binlogs.ts';
import { txcBinlog } from './txc-binlog.ts';
import { type Timed, median, timed } from './timed.ts';

if (process.argv.includes('--restore')) {
  // The restore bench (apply and decode against their peers) has its own options: bench/restore-bench.ts.
  const { restoreBench } = await import('./restore-bench.ts');
  await restoreBench(process.argv.slice(2));
  process.exit(process.exitCode ?? 0);
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '3' }, level: { type: 'string', default: '3' }, 'generate-mib': { type: 'string', default: '256' },
    format: { type: 'string', default: 'gcm' }, s3: { type: 'boolean', default: false }, times: { type: 'string', default: '1' },
    workload: { type: 'string', default: 'both' }, 'archive-level': { type: 'string' }, cli: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const level = Number(values.level);
// Ours at its default level unless asked; the reference is the legacy pipeline's `zstd -3`.
const archiveLevel = Number(values['archive-level'] ?? DEFAULT_ZSTD_LEVEL);
const times = Number(values.times);
const mibTarget = Number(values['generate-mib']);
const MiB = 1048576;
const CLI = path.resolve(values.cli ?? ensureBuilt());
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'blarc-bench-'));
const keyFile = path.join(work, 'key');
fs.writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
const passFile = path.join(work, 'pass');
fs.writeFileSync(passFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
const keyUrl = `file://${values.format === 'gcm' ? keyFile : passFile}`;
const s3 = values.s3 === true ? await (await import('./s3-bench.ts')).s3Setup(work) : null;

const workloads: { name: string; file: () => Promise<string> }[] = positionals[0] !== undefined
  ? [{ name: path.basename(positionals[0]), file: () => Promise.resolve(positionals[0]!) }]
  : [
    { name: 'bulk', file: () => generateBinlog(mibTarget), sets: ['both', 'all'] },
    { name: 'oltp', file: () => oltpBinlog(mibTarget), sets: ['both', 'all'] },
    { name: 'txc-large', file: () => Promise.resolve(txcBinlog({ mib: mibTarget, shape: 'large' })), sets: ['txc', 'all'] },
    { name: 'txc-small', file: () => Promise.resolve(txcBinlog({ mib: mibTarget, shape: 'small' })), sets: ['txc', 'all'] },
  ].filter((w) => values.workload === w.name || w.sets.includes(values.workload));

const cli = (args: string[], env?: NodeJS.ProcessEnv): Timed => timed(process.execPath, [CLI, ...args], env);
const shell = (script: string): Timed => timed('sh', ['-c', script]);
const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
const f2 = (x: number): string => x.toFixed(2);
const range = (xs: number[]): string => `${f2(Math.min(...xs))}–${f2(Math.max(...xs))}`;

/** Process start to exit for `--help` and for an archive with nothing to archive (a Job's start), 5 runs each. */
function startTimes(): string {
  const empty = path.join(work, 'empty');
  fs.mkdirSync(empty, { recursive: true });
  fs.writeFileSync(path.join(empty, 'bench-bin.000001'), ''); // the live binlog: never archived
  const help = Array.from({ length: 5 }, () => cli(['--help']));
  const noop = Array.from({ length: 5 }, () => cli(['archive', '--binlog-dir', empty, '--store', `file://${path.join(work, 'empty-store')}`, '--key', `file://${keyFile}`, '--source', 'bench', '-q']));
  const line = (xs: Timed[]): string => `${median(xs.map((t) => t.ms)).toFixed(0)} ms (CPU ${median(xs.map((t) => t.cpuMs)).toFixed(0)} ms, RSS ${(median(xs.map((t) => t.maxRssKiB)) / 1024).toFixed(0)} MiB)`;
  const ok = median(help.map((t) => t.ms)) < 150 && median(noop.map((t) => t.ms)) < 150;
  return `start: --help ${line(help)}; archive with nothing to do ${line(noop)} (target < 150 ms: ${verdict(ok)}; wall times include the machine's load)\n`;
}

async function benchWorkload(name: string, base: string): Promise<void> {
  const file = times > 1 ? bigBinlog(base, times) : base;
  const size = fs.statSync(file).size;
  const binlogDir = path.join(work, `binlogs-${name}`);
  fs.mkdirSync(binlogDir);
  fs.linkSync(file, path.join(binlogDir, 'bench-bin.000001'));
  fs.writeFileSync(path.join(binlogDir, 'bench-bin.000002'), '');
  const rate = (ms: number): string => `${(size / MiB / (ms / 1000)).toFixed(0)} MiB/s`;
  const perMiB = (cpuMs: number): string => `${(cpuMs / (size / MiB)).toFixed(1)} CPU-ms/MiB`;
  const refOut = path.join(work, 'ref.zst.aes');
  const zstdSize = Number(spawnSync('sh', ['-c', `zstd -${level} -q -c "${file}" | wc -c`], { encoding: 'utf8' }).stdout.trim());
  process.stdout.write(`\n== ${name}: ${file} (${(size / MiB).toFixed(1)} MiB), zstd level ${archiveLevel} (reference ${level}), ${rounds} rounds, ${CLI}, ${os.availableParallelism()} cores, load ${f2(os.loadavg()[0]!)}\n`);
  const rows: { a: Timed; r: Timed; rd: Timed; d: Timed; s3?: Timed }[] = [];
  let ours = 0;
  for (let round = 1; round <= rounds; round++) {
    const store = path.join(work, `store-${name}-${round}`);
    const archive = (url: string, env?: NodeJS.ProcessEnv): Timed => cli(['archive', '--binlog-dir', binlogDir, '--store', url, '--key', keyUrl, '--source', 'bench', '--format', values.format, '--level', String(archiveLevel), '-q'], env);
    // Ours and the reference alternate which goes first, so each round's ratio compares runs with the same neighbours.
    const reference = (): Timed => shell(`zstd -${level} -q -c "${file}" | openssl enc -aes-256-cbc -salt -pbkdf2 -iter 100000 -pass file:"${passFile}" > "${refOut}"`);
    let a: Timed;
    let r: Timed;
    if (round % 2 === 1) {
      a = archive(`file://${store}`);
      r = reference();
    } else {
      r = reference();
      a = archive(`file://${store}`);
    }
    const rd = shell(`openssl enc -d -aes-256-cbc -pbkdf2 -iter 100000 -pass file:"${passFile}" -in "${refOut}" | zstd -d -q > /dev/null`);
    const d = cli(['verify', '--store', `file://${store}`, '--key', keyUrl, '-q']);
    const objects = fs.readdirSync(path.join(store, 'binlogs', 'bench')).filter((n) => !n.endsWith('.json'));
    ours = fs.statSync(path.join(store, 'binlogs', 'bench', objects[0] ?? '')).size;
    fs.rmSync(store, { recursive: true, force: true });
    const row = { a, r, rd, d, ...(s3 === null ? {} : { s3: await s3.round(`${name}-${round}`, (url, env) => archive(url, env)) }) };
    rows.push(row);
    process.stdout.write(`round ${round}: archive ${rate(a.ms)} (${perMiB(a.cpuMs)}, rss ${(a.maxRssKiB / 1024).toFixed(0)} MiB) vs reference ${rate(r.ms)} + dry-run decode ${rate(rd.ms)} (${perMiB(r.cpuMs + rd.cpuMs)}); ` +
      `ratio ${f2((r.ms + rd.ms) / a.ms)}x wall, ${f2(a.cpuMs / (r.cpuMs + rd.cpuMs))}x CPU; verify ${rate(d.ms)} (rss ${(d.maxRssKiB / 1024).toFixed(0)} MiB)${s3 === null || row.s3 === undefined ? '' : `; ${s3.line(row.s3, a)}`}\n`);
  }
  const wall = rows.map((x) => (x.r.ms + x.rd.ms) / x.a.ms);
  const wallPlain = rows.map((x) => x.r.ms / x.a.ms);
  const cpu = rows.map((x) => x.a.cpuMs / (x.r.cpuMs + x.rd.cpuMs));
  const decode = rows.map((x) => x.rd.ms / x.d.ms);
  const rss = Math.max(...rows.map((x) => x.a.maxRssKiB)) / 1024;
  const sizeRatio = ours / zstdSize;
  const med = (pick: (x: (typeof rows)[number]) => number): number => median(rows.map(pick));
  process.stdout.write(`${name}: archive ${rate(med((x) => x.a.ms))} (${perMiB(med((x) => x.a.cpuMs))}), reference ${rate(med((x) => x.r.ms))}, its dry-run decode ${rate(med((x) => x.rd.ms))} (reference ${perMiB(med((x) => x.r.cpuMs + x.rd.cpuMs))})
  wall ratio, reference with its dry-run decode ÷ ours: median ${f2(median(wall))}x, rounds ${range(wall)} (target >= 1.3x: ${verdict(median(wall) >= 1.3)}); without its decode ${f2(median(wallPlain))}x
  CPU ratio, ours ÷ reference with its decode (user + sys): median ${f2(median(cpu))}x, rounds ${range(cpu)} (target <= 1.15x: ${verdict(median(cpu) <= 1.15)})
  peak RSS: archive ${rss.toFixed(0)} MiB (target < 128 MiB: ${verdict(rss < 128)}), verify ${(Math.max(...rows.map((x) => x.d.maxRssKiB)) / 1024).toFixed(0)} MiB
  size: ours ${ours} B, zstd -${level} ${zstdSize} B: ${sizeRatio.toFixed(4)}x (target <= 1.02x: ${verdict(sizeRatio <= 1.02)})
  decode (verify) vs openssl enc -d | zstd -d: median ${f2(median(decode))}x, rounds ${range(decode)}${s3 === null ? '' : `\n  ${s3.summary()}`}
`);
  fs.rmSync(binlogDir, { recursive: true, force: true });
}

try {
  process.stdout.write(startTimes());
  for (const w of workloads) await benchWorkload(w.name, await w.file());
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
