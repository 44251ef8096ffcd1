/**
 * `node bench/stage-costs.ts [FILE...] [--txc] [--levels]`: the CPU cost of each stage of archiving and decoding,
 * measured alone on one thread over the same binlog (ms per MiB of plaintext, median of 3). It tells what the
 * ideal pipeline costs, so the real pipeline's CPU time (`npm run bench` prints it per MiB) can be compared
 * against the sum of its parts (docs/PERFORMANCE.md). Without FILE: the bench's two cached workloads, bulk and
 * OLTP (generated on first use as `npm run bench` does); `--txc` adds the two MySQL
 * binlog_transaction_compression workloads synthesised by bench/txc-binlog.ts (large and small transactions).
 * `--levels` adds, per file, a zstd level sweep: compression and verification (decompression) cost and size for
 * levels 3, 2, 1, -3, -7, levels 3, 2, 1 with the small match table, stored (src/format/zstd-adapt.js), and for the encoder's per-segment choice at
 * level 2 (probe included).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { crc32 } from 'node:zlib';
import { parseArgs } from 'node:util';
import { createBinlogInspector } from '../src/binlog/index.ts';
import { segmentEncoding, SMALL_TABLE_HASH_LOG, STORED_LEVEL } from '../src/format/zstd-adapt.js';
import { compressSegment, decompressSegment, ZstdCompressor, zstdCompressBound, ZstdDecompressor } from '../src/format/zstd.ts';
import { generateBinlog } from './generate-binlog.ts';
import { oltpBinlog } from './oltp-binlogs.ts';
import { txcBinlog } from './txc-binlog.ts';

const MiB = 1048576;
const S = 4 * MiB;
const { values, positionals } = parseArgs({ allowPositionals: true, options: { txc: { type: 'boolean', default: false }, levels: { type: 'boolean', default: false } } });
const txc = values.txc === true ? [txcBinlog({ mib: 256, shape: 'large' }), txcBinlog({ mib: 256, shape: 'small' })] : [];
const files = positionals.length > 0 ? [...positionals, ...txc] : [await generateBinlog(256), await oltpBinlog(256), ...txc];

function cpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
function stage(mib: number, name: string, fn: () => void): void {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = cpu();
    fn();
    runs.push(cpu() - t0);
  }
  runs.sort((a, b) => a - b);
  const ms = runs[1] ?? NaN;
  process.stdout.write(`${name.padEnd(50)} ${(ms / mib).toFixed(2).padStart(6)} ms/MiB  ${(mib / (ms / 1000)).toFixed(0).padStart(6)} MiB/s\n`);
}

for (const file of files) costs(file);

function costs(file: string): void {
  const data = fs.readFileSync(file);
  const mib = data.length / MiB;
  const segments: Buffer[] = [];
  for (let o = 0; o < data.length; o += S) segments.push(data.subarray(o, Math.min(o + S, data.length)));
  process.stdout.write(`${file}: ${mib.toFixed(1)} MiB, ${segments.length} segments of 4 MiB\n`);
  stage(mib, 'read file (fs.readSync into one buffer)', () => {
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.allocUnsafe(S);
    while (fs.readSync(fd, buf, 0, S, null) > 0);
    fs.closeSync(fd);
  });
  stage(mib, 'SHA-256 of the plaintext', () => void createHash('sha256').update(data).digest());
  stage(mib, 'binlog inspector (event walk + CRC32)', () => {
    const ins = createBinlogInspector({ path: file });
    for (let o = 0; o < data.length; o += MiB) ins.write(data.subarray(o, o + MiB));
    ins.finish();
  });
  stage(mib, 'CRC32 of the whole file at once (the floor for the CRCs)', () => void crc32(data));
  const compressed = segments.map((s) => compressSegment(s, 3));
  const clen = compressed.reduce((n, c) => n + c.length, 0);
  stage(mib, 'zstd -3 compress, zstdCompressSync per segment', () => segments.forEach((s) => compressSegment(s, 3)));
  const compressor = new ZstdCompressor(3);
  const scratch = new Uint8Array(zstdCompressBound(S));
  stage(mib, 'zstd -3 compress, reused context (workers)', () => segments.forEach((s) => compressor.compressInto(s, scratch)));
  stage(mib, 'zstd decompress, zstdDecompressSync per segment', () => compressed.forEach((c, i) => decompressSegment(c, segments[i]?.length ?? 0, S)));
  const decompressor = new ZstdDecompressor();
  const out = new Uint8Array(S);
  stage(mib, 'zstd decompress, reused context (workers)', () => compressed.forEach((c) => decompressor.decompressInto(c, out)));
  const copies = segments.map((s) => Buffer.from(s));
  stage(mib, 'compare decompressed with source (equals)', () => segments.forEach((s, i) => void copies[i]?.equals(s)));
  const key = randomBytes(32);
  const iv = randomBytes(12);
  stage(mib, 'AES-256-GCM encrypt compressed', () => compressed.forEach((c) => {
    const e = createCipheriv('aes-256-gcm', key, iv);
    e.update(c);
    e.final();
  }));
  stage(mib, 'AES-256-GCM decrypt compressed', () => compressed.forEach((c) => {
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.update(c);
  }));
  stage(mib, 'SHA-256 of the compressed stream', () => {
    const h = createHash('sha256');
    for (const c of compressed) h.update(c);
    h.digest();
  });
  process.stdout.write(`compressed: ${(clen / MiB).toFixed(1)} MiB (${(clen / data.length).toFixed(3)})\n`);
  if (values.levels === true) levelSweep(segments, mib);
}

/** Median CPU ms of 3 runs of fn, and its last result. */
function median3<T>(fn: () => T): { ms: number; value: T } {
  const runs: number[] = [];
  let value = fn();
  for (let i = 0; i < 3; i++) {
    const t0 = cpu();
    value = fn();
    runs.push(cpu() - t0);
  }
  return { ms: runs.sort((a, b) => a - b)[1] ?? NaN, value };
}

/** Compression and verification cost and size per zstd level, and for the encoder's per-segment choice. */
function levelSweep(segments: Buffer[], mib: number): void {
  const plainLength = segments.reduce((n, s) => n + s.length, 0);
  const out = new Uint8Array(zstdCompressBound(S));
  const decompressor = new ZstdDecompressor();
  const plain = new Uint8Array(S);
  const compressors = new Map<string, ZstdCompressor>();
  const at = (level: number, hashLog = 0): ZstdCompressor => {
    const key = `${level}/${hashLog}`;
    return compressors.get(key) ?? compressors.set(key, new ZstdCompressor(level, hashLog)).get(key)!;
  };
  type Choice = (s: Buffer) => { level: number; hashLog: number };
  const frames = (choose: Choice): Buffer[] => segments.map((s) => {
    const { level, hashLog } = choose(s);
    return Buffer.from(out.subarray(0, at(level, hashLog).compressInto(s, out)));
  });
  const choices: [string, Choice][] = [
    ...[3, 2, 1, -3, -7].map((l): [string, Choice] => [`level ${l}`, () => ({ level: l, hashLog: 0 })]),
    ...[3, 2, 1].map((l): [string, Choice] => [`level ${l}, hashLog ${SMALL_TABLE_HASH_LOG}`, () => ({ level: l, hashLog: SMALL_TABLE_HASH_LOG })]),
    ['stored (level -131072)', () => ({ level: STORED_LEVEL, hashLog: 0 })],
    ['level 2, per-segment choice (zstd-adapt.js)', (s) => segmentEncoding(s, 2, (sample, hashLog) => at(2, hashLog).compressInto(sample, out))],
  ];
  let base = 0;
  process.stdout.write(`zstd levels (one thread, 4 MiB segments; verify = decompress; size vs level 3):\n`);
  for (const [name, choose] of choices) {
    const c = median3(() => frames(choose));
    const size = c.value.reduce((n, f) => n + f.length, 0);
    if (base === 0) base = size;
    const d = median3(() => c.value.forEach((f) => decompressor.decompressInto(f, plain)));
    process.stdout.write(`  ${name.padEnd(44)} compress ${(c.ms / mib).toFixed(2).padStart(5)} ms/MiB, verify ${(d.ms / mib).toFixed(2).padStart(5)} ms/MiB, size ${(size / plainLength).toFixed(4)} of input, ${(size / base).toFixed(4)}x level 3\n`);
  }
}
