/**
 * zstd frame boundaries (RFC 8878 section 3.1.1). Needed because node:zlib's zstd decompressors stop
 * silently at the end of the first frame and ignore whatever follows (checked on Node 24.21), so a
 * multi-frame stream must be split into frames before decompressing, and a payload that must be one frame
 * is checked to be exactly one frame. Skippable frames are never written by this format and are rejected.
 */
import type { ByteReader } from './byte-reader.ts';
import { blockContent, checkMagic, headerRestLength } from './zstd-core.js';

// The frame walk itself is in zstd-core.js (the worker threads check payloads with it too).
export { zstdFrameLength } from './zstd-core.js';

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
