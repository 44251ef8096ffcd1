/**
 * The checksums S3 reports, computed locally so what the server holds can be confirmed: ETag (MD5 of a single
 * PUT; MD5 of the parts' binary MD5s plus "-N" for multipart) and CRC32 (of the object, or "composite":
 * CRC32 of the parts' binary CRC32s plus "-N").
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

export interface PartDigest {
  /** Binary MD5 (16 bytes). */
  md5: Buffer;
  /** CRC32 as S3 writes it: 4 bytes big-endian, base64. */
  crc32: string;
  size: number;
}

export function digestPart(data: Buffer): PartDigest {
  return { md5: createHash('md5').update(data).digest(), crc32: crc32Base64(data), size: data.length };
}

export function crc32Base64(data: Buffer): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data) >>> 0, 0);
  return out.toString('base64');
}

/** S3 returns ETags in double quotes. */
export function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '').toLowerCase();
}

export function multipartEtag(parts: readonly PartDigest[]): string {
  const md5s = createHash('md5');
  for (const p of parts) md5s.update(p.md5);
  return `${md5s.digest('hex')}-${parts.length}`;
}

export function compositeCrc32(parts: readonly PartDigest[]): string {
  const raw = Buffer.concat(parts.map((p) => Buffer.from(p.crc32, 'base64')));
  return `${crc32Base64(raw)}-${parts.length}`;
}
