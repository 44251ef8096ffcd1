/**
 * `node bench/restore-decode-compare.ts [--rounds 3] [--mib 256] [--workload bulk|oltp|series]... CLI...`: the
 * decode bench (restore-decode.ts) for several builds of the CLI in the same rounds, e.g. a tree before and after
 * a change (each `dist/bin/binlog-archiver.js`). Every round runs the reference decode and each CLI on the same
 * archive, in an order that rotates from round to round, so all see the same load; it prints each one's wall, CPU
 * and in-process times and its ratios against that round's reference, then medians.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { archiveBenchWorkloads, oltpSeriesWorkload, ours, prepare, reference } from './restore-decode.ts';
import type { DecodeWorkload } from './restore-decode.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { rounds: { type: 'string', default: '3' }, mib: { type: 'string', default: '256' }, workload: { type: 'string', multiple: true } } });
const rounds = Number(values.rounds);
const clis = positionals.map((c) => path.resolve(c));
if (clis.length === 0) throw new Error('give at least one CLI (a dist/bin/binlog-archiver.js)');
const want = new Set(values.workload ?? ['bulk', 'oltp', 'series']);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'blarc-decode-compare-'));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
try {
  const [bulk, oltp] = await archiveBenchWorkloads(Number(values.mib), root);
  const workloads: DecodeWorkload[] = [];
  if (want.has('bulk')) workloads.push(bulk!);
  if (want.has('oltp')) workloads.push(oltp!);
  if (want.has('series')) workloads.push(await oltpSeriesWorkload(90));
  for (const w of workloads) {
    const p = await prepare(w, root);
    const runners = [{ name: 'reference', cli: '' }, ...clis.map((cli) => ({ name: cli, cli }))];
    const res = new Map(runners.map((r) => [r.name, { ms: [] as number[], cpu: [] as number[], inProcess: [] as number[], rss: [] as number[], ratio: [] as number[], cpuRatio: [] as number[], ipRatio: [] as number[] }]));
    console.log(`decode ${w.name}: ${(p.bytes / 1048576).toFixed(1)} MiB; load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    for (let r = 0; r < rounds; r++) {
      const order = runners.map((_, i) => runners[(i + r) % runners.length]!);
      const round = new Map<string, { ms: number; cpuMs: number; inProcessMs: number; rssKiB: number }>();
      for (const x of order) {
        const out = fs.mkdtempSync(path.join(p.work, 'out-'));
        round.set(x.name, x.cli === '' ? { ...reference(p, out), inProcessMs: NaN } : ours(p, out, x.cli));
        fs.rmSync(out, { recursive: true });
      }
      const ref = round.get('reference')!;
      for (const [name, m] of round) {
        const e = res.get(name)!;
        e.ms.push(m.ms); e.cpu.push(m.cpuMs); e.inProcess.push(m.inProcessMs); e.rss.push(m.rssKiB);
        e.ratio.push(ref.ms / m.ms); e.cpuRatio.push(m.cpuMs / ref.cpuMs); e.ipRatio.push(ref.ms / m.inProcessMs);
      }
      console.log(`  round ${r + 1} (load ${os.loadavg()[0]!.toFixed(1)}): ` + [...round].map(([name, m]) => `${name === 'reference' ? 'ref' : path.basename(path.dirname(path.dirname(path.dirname(name))))} ${(m.ms / 1000).toFixed(2)} s wall / ${(m.cpuMs / 1000).toFixed(2)} s CPU${Number.isNaN(m.inProcessMs) ? '' : ` / ${(m.inProcessMs / 1000).toFixed(2)} s in-process`}`).join('; '));
    }
    for (const [name, e] of res) {
      if (name === 'reference') { console.log(`  median reference: ${(median(e.ms) / 1000).toFixed(2)} s wall, ${(median(e.cpu) / 1000).toFixed(2)} s CPU`); continue; }
      console.log(`  median ${name}: ${(median(e.ms) / 1000).toFixed(2)} s wall (ratio ref/ours ${median(e.ratio).toFixed(2)}x, ${Math.min(...e.ratio).toFixed(2)}-${Math.max(...e.ratio).toFixed(2)}), in-process ${(median(e.inProcess) / 1000).toFixed(2)} s (${median(e.ipRatio).toFixed(2)}x), CPU ${(median(e.cpu) / 1000).toFixed(2)} s (${median(e.cpuRatio).toFixed(2)}x the reference's), peak RSS ${(Math.max(...e.rss) / 1024).toFixed(0)} MiB`);
    }
    fs.rmSync(p.work, { recursive: true, force: true });
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
