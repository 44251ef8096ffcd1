/**
 * `node bench/stage-costs.ts [FILE...]`: the CPU cost of each stage of archiving and decoding, measured alone on
 * one thread over the same binlog (ms per MiB of plaintext, median of 3). It tells what the ideal pipeline
 * costs, so the real pipeline's CPU time (`npm run bench` prints it per MiB) can be compared against the sum
 * of its parts (docs/PERFORMANCE.md). Without FILE: the bench's two cached workloads, bulk and OLTP (generated
 * on first use as `npm run bench` does).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { crc32 } from 'node:zlib';
import { createBinlogInspector } from '../src/binlog/index.ts';
import { compressSegment, decompressSegment, ZstdCompressor, zstdCompressBound, ZstdDecompressor } from '../src/format/zstd.ts';
import { generateBinlog } from './generate-binlog.ts';
import { oltpBinlog } from './oltp-binlogs.ts';

const MiB = 1048576;
const S = 4 * MiB;
const files = process.argv.length > 2 ? process.argv.slice(2) : [await generateBinlog(256), await oltpBinlog(256)];

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
}
