/**
 * `node bench/big-binlog.ts [SOURCE] [--times N] [--out FILE]`: a larger real-shaped binlog made from a
 * generated one (default: the cached 256 MiB MariaDB binlog, 4 times: ~1 GiB), for the memory target, which
 * is stated for a 1 GiB binlog. The header events (Format_description, Gtid_list, Binlog_checkpoint) are kept
 * once, the transactions are repeated with their GTID sequence numbers moved past the previous copy, every
 * event's end position rewritten and its CRC32 recomputed, and the closing Rotate event kept last: the
 * archiver's inspector accepts it as a closed binlog. Written once, next to the source, and reused.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { crc32 } from 'node:zlib';

const TYPE_GTID = 162; // MariaDB GTID_EVENT: body starts with seq_no u64 LE
const TYPE_ROTATE = 4;
const FIRST_TRANSACTION_TYPES = new Set([TYPE_GTID, 33 /* MySQL GTID_LOG_EVENT */]);

export function bigBinlog(source: string, times: number, out?: string): string {
  const target = out ?? `${source.replace(/\.\d+$/, '')}-x${times}.000001`;
  if (fs.existsSync(target)) return target;
  const b = fs.readFileSync(source);
  const events: { at: number; type: number; size: number }[] = [];
  for (let at = 4; at < b.length;) {
    const size = b.readUInt32LE(at + 9);
    if (size < 19 || at + size > b.length) throw new Error(`${source}: not a binlog this tool understands (event at ${at})`);
    events.push({ at, type: b[at + 4] as number, size });
    at += size;
  }
  const first = events.findIndex((e) => FIRST_TRANSACTION_TYPES.has(e.type));
  const rotate = events.at(-1);
  if (first < 0 || rotate?.type !== TYPE_ROTATE) throw new Error(`${source}: expected transactions and a closing Rotate event`);
  if (events[first]?.type !== TYPE_GTID) throw new Error(`${source}: only MariaDB binlogs are supported`);
  const head = events.slice(0, first);
  const transactions = events.slice(first, -1);
  let maxSeq = 0n;
  for (const e of events) if (e.type === TYPE_GTID) maxSeq = b.readBigUInt64LE(e.at + 19) > maxSeq ? b.readBigUInt64LE(e.at + 19) : maxSeq;
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const fd = fs.openSync(`${target}.partial`, 'w');
  let position = 0;
  const write = (bytes: Buffer): void => {
    fs.writeSync(fd, bytes);
    position += bytes.length;
  };
  const copy = (e: { at: number; type: number; size: number }, seqShift: bigint): void => {
    const ev = Buffer.from(b.subarray(e.at, e.at + e.size));
    ev.writeUInt32LE(position + e.size, 13);
    if (e.type === TYPE_GTID && seqShift > 0n) ev.writeBigUInt64LE(ev.readBigUInt64LE(19) + seqShift, 19);
    ev.writeUInt32LE(crc32(ev.subarray(0, e.size - 4)) >>> 0, e.size - 4);
    write(ev);
  };
  write(b.subarray(0, 4));
  for (const e of head) copy(e, 0n);
  for (let k = 0; k < times; k++) for (const e of transactions) copy(e, BigInt(k) * maxSeq);
  copy(rotate, 0n);
  fs.closeSync(fd);
  fs.renameSync(`${target}.partial`, target);
  return target;
}

if (import.meta.filename === process.argv[1]) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { times: { type: 'string', default: '4' }, out: { type: 'string' } } });
  const source = positionals[0] ?? path.join(process.env.HOME ?? '', '.cache/binlog-archiver/bench/mariadb-orders-256mib.000001');
  process.stdout.write(`${bigBinlog(source, Number(values.times), values.out)}\n`);
}
