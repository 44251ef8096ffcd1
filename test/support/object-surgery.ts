/** Byte-level edits of archive objects for tamper tests: splits a v1 object into header and records (docs/FORMAT.md). */
import fs from 'node:fs';

export interface ObjectParts {
  header: Buffer;
  /** Frame records then the trailer record, each nonce(12) | length u32 BE | body. */
  records: Buffer[];
}

export function splitObject(file: string): ObjectParts {
  const bytes = fs.readFileSync(file);
  const headerLength = 16 + bytes.readUInt32BE(12);
  const records: Buffer[] = [];
  for (let at = headerLength; at < bytes.length;) {
    const length = bytes.readUInt32BE(at + 12);
    records.push(bytes.subarray(at, at + 16 + length));
    at += 16 + length;
  }
  return { header: bytes.subarray(0, headerLength), records };
}

export function joinObject(parts: ObjectParts): Buffer {
  return Buffer.concat([parts.header, ...parts.records]);
}
