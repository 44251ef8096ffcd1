/**
 * The decode half of `npm run bench -- --restore`: `binlog-archiver restore --out DIR` (download, authenticate,
 * decompress, SHA-256, planning fields re-derived, boundary scan, fsync'd files renamed into place) against the
 * reference decode of the same binlogs, `openssl enc -d -aes-256-cbc | zstd -d -o FILE`, one file after the other,
 * on the archive bench's two binlogs (bulk inserts, and mixed-width OLTP transactions: 256 MiB each by default) and
 * on the OLTP series the apply half of the restore bench uses (bench/oltp-binlogs.ts).
 * The reference is given a raw key (-K/-iv): no PBKDF2 per file, so it is the faster peer (with
 * `-pbkdf2 -iter 100000` as in the archive bench, each file costs it tens of milliseconds more).
 * Ours runs as the image runs it (`node bin/binlog-archiver.js` of the JavaScript build, dist/, built first if the
 * tree changed: scripts/build.ts), start-up included; the in-process time
 * (the summary's durationMs) is printed beside it, and the CPU time (user + system, all threads and processes) of
 * each, which a loaded machine disturbs much less than the wall clock. Peak RSS and CPU come from /usr/bin/time.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runArchive } from '../src/pipeline/archive-run.ts';
import { openStore } from '../src/store/open-store.ts';
import { ensureBuilt } from '../scripts/build.ts';
import { generateBinlog } from './generate-binlog.ts';
import { oltpBinlog, oltpBinlogs } from './oltp-binlogs.ts';

const MiB = 1048576;

export interface DecodeWorkload { name: string; dir: string; files: string[]; bytes: number }

export interface Prepared extends DecodeWorkload { store: string; key: string; refDir: string; refKey: string; refIv: string; work: string }

/** One binlog as a one-file series (an empty successor closes it). */
function oneFile(name: string, file: string, work: string): DecodeWorkload {
  const dir = fs.mkdtempSync(path.join(work, 'binlogs-'));
  fs.linkSync(file, path.join(dir, 'bench-bin.000001'));
  fs.writeFileSync(path.join(dir, 'bench-bin.000002'), '');
  return { name: `${name} (${(fs.statSync(file).size / MiB).toFixed(0)} MiB, one binlog)`, dir, files: ['bench-bin.000001'], bytes: fs.statSync(file).size };
}

/** The archive bench's two workloads: its bulk-insert binlog and its mixed-width OLTP binlog (issue 13). */
export async function archiveBenchWorkloads(mib: number, work: string): Promise<DecodeWorkload[]> {
  return [oneFile('bulk', await generateBinlog(mib), work), oneFile('OLTP', await oltpBinlog(mib), work)];
}

/** The apply bench's OLTP series (8 MiB binlogs). */
export async function oltpSeriesWorkload(mib: number): Promise<DecodeWorkload> {
  const input = await oltpBinlogs(mib);
  return { name: `OLTP series (${input.files.length} binlogs, ${(input.bytes / MiB).toFixed(0)} MiB)`, dir: input.dir, files: input.files, bytes: input.bytes };
}

function sh(script: string): void {
  const r = spawnSync('sh', ['-c', script], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`command failed: ${script}`);
}

export async function prepare(w: DecodeWorkload, root: string): Promise<Prepared> {
  const work = fs.mkdtempSync(path.join(root, 'decode-'));
  const keyFile = path.join(work, 'master.key');
  fs.writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const store = `file://${path.join(work, 'store')}`;
  await runArchive({ binlogDir: w.dir, store: openStore(store), keyUrl: `file://${keyFile}`, source: 'bench' });
  const refDir = path.join(work, 'ref');
  fs.mkdirSync(refDir);
  const refKey = randomBytes(32).toString('hex');
  const refIv = randomBytes(16).toString('hex');
  for (const f of w.files) sh(`zstd -3 -q -c "${path.join(w.dir, f)}" | openssl enc -aes-256-cbc -K ${refKey} -iv ${refIv} -out "${path.join(refDir, f)}"`);
  return { ...w, store, key: `file://${keyFile}`, refDir, refKey, refIv, work };
}

export interface Timed { ms: number; cpuMs: number; rssKiB: number; stdout: string }

/** Wall time, CPU time (user + system, of the command and the children it waited for) and peak RSS, by /usr/bin/time. */
function timed(command: string, args: string[]): Timed {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'blarc-time %M %U %S', command, ...args], { encoding: 'utf8', maxBuffer: 16 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${command} failed (${r.status}): ${r.stderr}`);
  const [, rss = 'NaN', user = 'NaN', sys = 'NaN'] = /blarc-time (\d+) ([\d.]+) ([\d.]+)/.exec(r.stderr) ?? [];
  return { ms, cpuMs: (Number(user) + Number(sys)) * 1000, rssKiB: Number(rss), stdout: r.stdout };
}

export function reference(p: Prepared, out: string): Timed {
  return timed('sh', ['-c', p.files.map((f) => `openssl enc -d -aes-256-cbc -K ${p.refKey} -iv ${p.refIv} -in "${path.join(p.refDir, f)}" | zstd -d -q -o "${path.join(out, f)}"`).join(' && ')]);
}

export function ours(p: Prepared, out: string, cli: string): Timed & { inProcessMs: number } {
  const m = timed(process.execPath, [cli, 'restore', '--store', p.store, '--key', p.key, '--source', 'bench', '--out', out, '--json', '-q']);
  return { ...m, inProcessMs: (JSON.parse(m.stdout) as { durationMs: number }).durationMs };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Each round: ours and the reference, alternating which goes first, each into a fresh directory. */
/** `cli`: the binlog-archiver.js to measure (another checkout's, to compare before and after a change). */
export async function decodeBench(workloads: DecodeWorkload[], rounds: number, root: string, cli = ensureBuilt()): Promise<boolean> {
  let met = true;
  for (const w of workloads) {
    const p = await prepare(w, root);
    const rate = (ms: number): string => `${(p.bytes / MiB / (ms / 1000)).toFixed(0)} MiB/s`;
    const res = { ours: [] as number[], inProcess: [] as number[], ref: [] as number[], rss: [] as number[], ratio: [] as number[], cpu: [] as number[], refCpu: [] as number[] };
    console.log(`decode ${w.name}: ${(p.bytes / MiB).toFixed(1)} MiB; load ${os.loadavg()[0]!.toFixed(2)}`);
    for (let r = 0; r < rounds; r++) {
      const runRef = (): void => {
        const out = fs.mkdtempSync(path.join(p.work, 'ref-out-'));
        const m = reference(p, out);
        res.ref.push(m.ms); res.refCpu.push(m.cpuMs);
        fs.rmSync(out, { recursive: true });
      };
      const runOurs = (): void => {
        const out = fs.mkdtempSync(path.join(p.work, 'out-'));
        const m = ours(p, out, cli);
        res.ours.push(m.ms); res.inProcess.push(m.inProcessMs); res.rss.push(m.rssKiB); res.cpu.push(m.cpuMs);
        fs.rmSync(out, { recursive: true });
      };
      if (r % 2 === 0) { runRef(); runOurs(); } else { runOurs(); runRef(); }
      res.ratio.push(res.ref[r]! / res.ours[r]!);
      console.log(`  round ${r + 1}: restore ${(res.ours[r]! / 1000).toFixed(2)} s (${rate(res.ours[r]!)}; in-process ${(res.inProcess[r]! / 1000).toFixed(2)} s; CPU ${(res.cpu[r]! / 1000).toFixed(2)} s; rss ${(res.rss[r]! / 1024).toFixed(0)} MiB)` +
        `  reference ${(res.ref[r]! / 1000).toFixed(2)} s (${rate(res.ref[r]!)}; CPU ${(res.refCpu[r]! / 1000).toFixed(2)} s)  ratio ${res.ratio[r]!.toFixed(2)}x`);
    }
    const ratio = median(res.ratio);
    const inProcessRatio = median(res.ref.map((ms, i) => ms / res.inProcess[i]!));
    const cpuRatio = median(res.cpu.map((ms, i) => ms / res.refCpu[i]!));
    const peak = Math.max(...res.rss) / 1024;
    const ok = ratio >= 1 && peak < 128;
    met &&= ok;
    console.log(`  median: restore ${rate(median(res.ours))}, reference ${rate(median(res.ref))}; ratio reference/restore ${ratio.toFixed(2)}x (target >= 1.0x: ${ratio >= 1 ? 'met' : 'NOT met'});` +
      ` without process start-up ${inProcessRatio.toFixed(2)}x; CPU time ${cpuRatio.toFixed(2)}x the reference's; peak RSS ${peak.toFixed(0)} MiB (target < 128 MiB: ${peak < 128 ? 'met' : 'NOT met'})`);
    fs.rmSync(p.work, { recursive: true, force: true });
  }
  return met;
}
