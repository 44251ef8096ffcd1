/**
 * Test binlog directories hold copies of real fixtures, many of which were copied from a server that still had
 * them open (in-use flag set, no Rotate at the end). The archiver refuses such a file unless it is the newest of
 * its series, so a directory of fixtures is made to look as a server leaves it after rotating: the copy gets the
 * in-use flag cleared (the FDE's CRC32 is computed with that flag masked, so it stays valid) and a Rotate event
 * naming the next file, stamped like the last event. Encrypted, empty, non-binlog and already closed files are
 * copied unchanged.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { encodeEvent } from '../binlog/helpers.ts';

const MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);
const ROTATE = 4;
const STOP = 3;
const IN_USE_BYTE = 4 + 17;

/** Start offsets of the events of a plain binlog, or null when it does not walk cleanly. */
function eventStarts(bytes: Buffer): number[] | null {
  const starts: number[] = [];
  let at = 4;
  while (at + 19 <= bytes.length) {
    const len = bytes.readUInt32LE(at + 9);
    if (len < 19 || at + len > bytes.length) return null;
    starts.push(at);
    at += len;
  }
  return at === bytes.length && starts.length > 0 ? starts : null;
}

/** The bytes of `bytes` (a binlog) closed by a rotation to `nextName`; the same bytes if nothing is to do. */
export function closedBinlogBytes(bytes: Buffer, nextName: string): Buffer {
  if (bytes.length < 4 + 19 || !bytes.subarray(0, 4).equals(MAGIC)) return bytes;
  const starts = eventStarts(bytes);
  if (starts === null) return bytes;
  const last = starts.at(-1) as number;
  const lastType = bytes[last + 4];
  const out = Buffer.from(bytes);
  out[IN_USE_BYTE] = (out[IN_USE_BYTE] as number) & ~1;
  if (lastType === ROTATE || lastType === STOP) return out;
  const lastEnd = bytes.length;
  const withCrc = crc32(bytes.subarray(last, lastEnd - 4)) === bytes.readUInt32LE(lastEnd - 4);
  const body = Buffer.concat([Buffer.alloc(8), Buffer.from(nextName, 'latin1')]);
  body.writeBigUInt64LE(4n, 0);
  const rotate = encodeEvent({ type: ROTATE, body, timestamp: bytes.readUInt32LE(last), serverId: bytes.readUInt32LE(4 + 5) }, lastEnd, withCrc);
  return Buffer.concat([out, rotate]);
}

/** Copies binlog `src` to `dest` closed by a rotation to `nextName` (see the file comment). */
export function copyClosed(src: string, dest: string, nextName: string): void {
  fs.writeFileSync(dest, closedBinlogBytes(fs.readFileSync(src), nextName));
}

/** A closed copy of `src` named `name`, made once per content in the temp directory. */
export function closedFixture(src: string, name: string, nextName: string): string {
  const bytes = fs.readFileSync(src);
  const closed = closedBinlogBytes(bytes, nextName);
  if (closed === bytes) return src;
  const dir = path.join(os.tmpdir(), `blarc-closed-${createHash('sha256').update(closed).digest('hex').slice(0, 16)}`);
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(`${file}.${process.pid}`, closed);
    fs.renameSync(`${file}.${process.pid}`, file);
  }
  return file;
}
