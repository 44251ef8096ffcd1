/**
 * zstd frame boundaries (RFC 8878 section 3.1.1). Needed because node:zlib's zstd decompressors stop
 * silently at the end of the first frame and ignore whatever follows (checked on Node 24.21), so a
 * multi-frame stream must be split into frames before decompressing, and a payload that must be one frame
 * is checked to be exactly one frame. Skippable frames are never written by this format and are rejected.
 */
import type { ByteReader } from './byte-reader.ts';

const ZSTD_MAGIC = 0xfd2fb528;
const DICT_ID_BYTES = [0, 1, 2, 4] as const;

/** Bytes of the frame header after the descriptor byte, from the Frame_Header_Descriptor. */
function headerRestLength(descriptor: number): number {
  if ((descriptor & 0x08) !== 0) throw new TypeError('zstd frame header reserved bit is set');
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const fcsBytes = fcsFlag === 0 ? singleSegment : [0, 2, 4, 8][fcsFlag] ?? 0;
  return (singleSegment === 1 ? 0 : 1) + (DICT_ID_BYTES[descriptor & 3] ?? 0) + fcsBytes;
}

/** Parses a block header; returns the bytes of block content that follow it and whether it is the last. */
function blockContent(b0: number, b1: number, b2: number): { content: number; last: boolean } {
  const v = b0 | (b1 << 8) | (b2 << 16);
  const type = (v >> 1) & 3;
  if (type === 3) throw new TypeError('zstd block type 3 (reserved)');
  return { content: type === 1 ? 1 : v >>> 3, last: (v & 1) === 1 };
}

function checkMagic(magic: number): void {
  if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) throw new TypeError('skippable zstd frame (not used by this format)');
  if (magic !== ZSTD_MAGIC) throw new TypeError(`not a zstd frame (magic ${magic.toString(16).padStart(8, '0')})`);
}

/** Length of the zstd frame at the start of `buf`; TypeError when it is malformed or runs past the end. */
export function zstdFrameLength(buf: Uint8Array): number {
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const need = (pos: number, n: number): void => {
    if (pos + n > view.length) throw new TypeError('zstd frame is truncated');
  };
  need(0, 5);
  checkMagic(view.readUInt32LE(0));
  const descriptor = view[4] as number;
  let pos = 5 + headerRestLength(descriptor);
  for (;;) {
    need(pos, 3);
    const block = blockContent(view[pos] as number, view[pos + 1] as number, view[pos + 2] as number);
    pos += 3 + block.content;
    need(pos, 0);
    if (block.last) break;
  }
  if ((descriptor & 0x04) !== 0) pos += 4;
  need(pos, 0);
  return pos;
}

/**
 * Reads the next complete zstd frame from `reader`; undefined at a clean end of stream. TypeError when
 * the bytes are not a zstd frame, end inside one, or the frame exceeds `maxLength` bytes.
 */
export async function readZstdFrame(reader: ByteReader, maxLength: number): Promise<Buffer | undefined> {
  const parts: Uint8Array[] = [];
  let length = 0;
  const take = async (n: number): Promise<Buffer> => {
    if (length + n > maxLength) throw new TypeError(`zstd frame is longer than ${maxLength} bytes`);
    const b = await reader.read(n);
    if (b.length < n) throw new TypeError('zstd stream ends inside a frame');
    parts.push(b);
    length += n;
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  };
  if (await reader.atEnd()) return undefined;
  const start = await take(5);
  checkMagic(start.readUInt32LE(0));
  const descriptor = start[4] as number;
  await take(headerRestLength(descriptor));
  for (;;) {
    const h = await take(3);
    const block = blockContent(h[0] as number, h[1] as number, h[2] as number);
    if (block.content > 0) await take(block.content);
    if (block.last) break;
  }
  if ((descriptor & 0x04) !== 0) await take(4);
  return Buffer.concat(parts, length);
}
