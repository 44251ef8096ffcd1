/**
 * `node bench/reader-costs.ts [FILE...]`: the binlog reader's CPU cost alone on one thread (ms per MiB, median
 * and minimum of 5), as the archive runs it (CRC32 of every event checked), without the CRC32 check, and as a
 * restore runs it (no CRC32, the boundary scan fed as the inspector's observer). Without FILE: the bench's two
 * cached workloads, bulk and OLTP. docs/PERFORMANCE.md 8.1 (third pass).
 */
import fs from 'node:fs';
import { createBinlogInspector } from '../src/binlog/index.ts';
import type { InspectorOptions } from '../src/binlog/inspector.ts';
import { FileBoundaryScan } from '../src/restore/boundaries.ts';
import { generateBinlog } from './generate-binlog.ts';
import { oltpBinlog } from './oltp-binlogs.ts';

const MiB = 1 << 20;
const files = process.argv.length > 2 ? process.argv.slice(2) : [await generateBinlog(256), await oltpBinlog(256)];
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

for (const file of files) {
  const data = fs.readFileSync(file);
  const mib = data.length / MiB;
  // The FDE's server version, 2 bytes into its body (after the magic and the 19-byte header).
  const flavor = /mariadb/i.test(data.toString('latin1', 25, 75)) ? 'mariadb' : 'mysql';
  process.stdout.write(`${file}: ${mib.toFixed(1)} MiB\n`);
  const read = (opts: InspectorOptions): void => {
    const ins = createBinlogInspector(opts);
    for (let o = 0; o < data.length; o += MiB) ins.write(data.subarray(o, o + MiB));
    ins.finish();
  };
  const run = (name: string, fn: () => void): void => {
    const xs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = cpu();
      fn();
      xs.push(cpu() - t);
    }
    xs.sort((a, b) => a - b);
    process.stdout.write(`${name.padEnd(46)} ${((xs[2] ?? NaN) / mib).toFixed(3)} ms/MiB (min ${((xs[0] ?? NaN) / mib).toFixed(3)})\n`);
  };
  run('inspector, CRC32 checked (archive)', () => read({ path: file }));
  run('inspector, CRC32 not checked', () => read({ path: file, verifyChecksums: false }));
  run('inspector + boundary scan, no CRC32 (restore)', () => {
    const scan = new FileBoundaryScan({ flavor, from: null, target: { kind: 'latest' }, targetGtids: null }, file);
    read({ path: file, verifyChecksums: false, observer: scan, onTransaction: (t) => scan.onTransaction(t) });
    scan.finish();
  });
}
