/**
 * Throughput of the binlog inspector on large synthetic binlogs (not part of `npm test`):
 *
 *   ./node_modules/.bin/node test/binlog/bench-inspect.ts [--dir=/tmp/binlog-bench] [--mib=1024] [--runs=3]
 *       [--impl=src/binlog/index.ts] [--only=small,row] [--file=PATH]
 *
 * Writes two files once (kept in --dir for later runs), each with correct lengths, log_pos and CRC32:
 * - `small`: MariaDB-shaped transactions whose events are all 218 bytes (per-event overhead dominates);
 * - `row`: MariaDB 10.11 ROW binlog shape — GTID 42 B, Annotate_rows ~100 B, Table_map 48 B, Write_rows_v1 events
 *   of 200 B..8 KiB (MariaDB splits row events at binlog_row_event_max_size = 8 KiB), Xid 31 B.
 * --file benchmarks an existing binlog instead (e.g. one of the test environment's MariaDB binlogs).
 * Then reports MiB/s of inspectBinlog (CRC on and off) and, when the implementation has it, of the push-mode
 * inspector fed by fs.createReadStream in 1 MiB chunks. The files are read once first so they are in the page cache.
 */
import { createReadStream, existsSync, mkdirSync, openSync, closeSync, statSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { crc32 } from 'node:zlib';

const args = new Map(process.argv.slice(2).map((a) => {
  const m = /^--([^=]+)=(.*)$/.exec(a);
  if (m === null) throw new Error(`bad argument ${a}`);
  return [m[1] as string, m[2] as string] as const;
}));
const dir = args.get('dir') ?? '/tmp/binlog-bench';
const mib = Number(args.get('mib') ?? 1024);
const runs = Number(args.get('runs') ?? 3);
const only = (args.get('only') ?? 'small,row').split(',');
const impl = resolve(args.get('impl') ?? 'src/binlog/index.ts');

interface Impl {
  inspectBinlog(path: string, opts?: { verifyChecksums?: boolean }): Promise<{ size: number }>;
  createBinlogInspector?: (opts?: { path?: string; verifyChecksums?: boolean }) => { write(chunk: Uint8Array): void; finish(): { size: number } };
}

/** Sequential writer of a synthetic MariaDB binlog with 8 MiB buffered writes. */
class Writer {
  readonly #fd: number;
  readonly #buf = Buffer.allocUnsafe(8 * 1024 * 1024);
  #len = 0;
  pos = 0;
  #ts = 1_700_000_000;

  constructor(path: string) {
    this.#fd = openSync(path, 'w');
    this.#raw(Buffer.from([0xfe, 0x62, 0x69, 0x6e]));
    const fde = Buffer.alloc(57 + 41 + 1);
    fde.writeUInt16LE(4, 0);
    fde.write('10.11.19-MariaDB-log', 2, 'latin1');
    fde[56] = 19;
    fde[fde.length - 1] = 1;
    this.event(15, fde.length, (b, o) => fde.copy(b, o));
    const list = Buffer.alloc(4);
    this.event(163, 4, (b, o) => list.copy(b, o));
  }

  #raw(bytes: Buffer): void {
    if (this.#len + bytes.length > this.#buf.length) this.#flush();
    bytes.copy(this.#buf, this.#len);
    this.#len += bytes.length;
    this.pos += bytes.length;
  }

  #flush(): void {
    writeSync(this.#fd, this.#buf, 0, this.#len);
    this.#len = 0;
  }

  /** One event with a body of `bodyLen` bytes filled by `fill(buf, offset)`. */
  event(type: number, bodyLen: number, fill: (b: Buffer, o: number) => void): void {
    const len = 19 + bodyLen + 4;
    if (this.#len + len > this.#buf.length) this.#flush();
    const b = this.#buf;
    const at = this.#len;
    if ((this.pos & 0xffff) < 300) this.#ts++;
    b.writeUInt32LE(this.#ts, at);
    b[at + 4] = type;
    b.writeUInt32LE(1, at + 5);
    b.writeUInt32LE(len, at + 9);
    b.writeUInt32LE((this.pos + len) % 2 ** 32, at + 13);
    b.writeUInt16LE(0, at + 17);
    b.fill(0x5a, at + 19, at + 19 + bodyLen);
    fill(b, at + 19);
    b.writeUInt32LE(crc32(b.subarray(at, at + len - 4)), at + len - 4);
    this.#len += len;
    this.pos += len;
  }

  gtid(seq: number, bodyLen = 19): void {
    this.event(162, bodyLen, (b, o) => {
      b.writeBigUInt64LE(BigInt(seq), o);
      b.writeUInt32LE(0, o + 8);
      b[o + 12] = 0;
    });
  }

  close(): void {
    const name = Buffer.from('mysql-bin.000002');
    this.event(4, 8 + name.length, (b, o) => {
      b.writeBigUInt64LE(4n, o);
      name.copy(b, o + 8);
    });
    this.#flush();
    closeSync(this.#fd);
  }
}

function generate(path: string, kind: string, bytes: number): void {
  const w = new Writer(path);
  let seq = 1;
  let rnd = 12345;
  const next = (): number => {
    rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
    return rnd;
  };
  const nop = (): void => {};
  while (w.pos < bytes) {
    if (kind === 'small') {
      // GTID, Table_map, 2 × Write_rows, Xid: 5 events of 218 bytes.
      w.gtid(seq++, 195);
      w.event(19, 195, nop);
      w.event(23, 195, nop);
      w.event(23, 195, nop);
      w.event(16, 195, nop);
    } else {
      w.gtid(seq++);
      w.event(160, 60 + (next() % 200), nop);
      w.event(19, 25, nop);
      const rows = 1 + (next() % 8);
      for (let i = 0; i < rows; i++) w.event(23, 200 + (next() % 8000), nop);
      w.event(16, 8, nop);
    }
  }
  w.close();
}

/** MiB/s by the wall clock, and per CPU-second of this process (steadier on a shared machine). */
async function time(fn: () => Promise<number>): Promise<{ mibs: number; cpuMibs: number }> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const size = await fn();
  const c = process.cpuUsage(c0);
  const ms = performance.now() - t0;
  const mib = size / 1024 / 1024;
  return { mibs: mib / (ms / 1000), cpuMibs: mib / ((c.user + c.system) / 1e6) };
}

async function readAll(path: string): Promise<number> {
  let n = 0;
  for await (const c of createReadStream(path, { highWaterMark: 1024 * 1024 })) n += (c as Buffer).length;
  return n;
}

const mod = (await import(pathToFileURL(impl).href)) as Impl;
mkdirSync(dir, { recursive: true });
console.log(`implementation ${impl}, node ${process.version}`);
const given = args.get('file');
for (const kind of given === undefined ? only : ['file']) {
  const path = given ?? join(dir, `${kind}-${mib}MiB.bin`);
  if (!existsSync(path)) {
    const t0 = performance.now();
    generate(path, kind, mib * 1024 * 1024);
    console.log(`wrote ${path} (${statSync(path).size} bytes) in ${Math.round(performance.now() - t0)} ms`);
  }
  await readAll(path);
  const cases: Array<[string, () => Promise<number>]> = [
    ['inspectBinlog, CRC', async () => (await mod.inspectBinlog(path)).size],
    ['inspectBinlog, no CRC', async () => (await mod.inspectBinlog(path, { verifyChecksums: false })).size],
    ['read stream only (1 MiB chunks)', () => readAll(path)],
  ];
  const create = mod.createBinlogInspector;
  if (create !== undefined) {
    cases.push(['push inspector over read stream, CRC', async () => {
      const ins = create({ path });
      for await (const c of createReadStream(path, { highWaterMark: 1024 * 1024 })) ins.write(c as Buffer);
      return ins.finish().size;
    }]);
  }
  for (const [name, fn] of cases) {
    const results = [];
    for (let i = 0; i < runs; i++) results.push(await time(fn));
    const best = Math.max(...results.map((r) => r.mibs));
    const median = results.map((r) => r.mibs).sort((a, b) => a - b)[Math.floor(runs / 2)] ?? 0;
    const cpu = Math.max(...results.map((r) => r.cpuMibs));
    console.log(`${kind.padEnd(6)} ${name.padEnd(40)} best ${best.toFixed(0).padStart(5)} MiB/s, median ${median.toFixed(0).padStart(5)}, per CPU-second ${cpu.toFixed(0).padStart(5)}`);
  }
}
