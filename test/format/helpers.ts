/** Shared fixtures for the format tests: identities, keys, encode/decode to buffers, error assertions. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ArchiverError, type ErrorCode } from '../../src/errors.ts';
import {
  decodeObject,
  encodeObject,
  readHeader,
  type EncodeOptions,
  type EncodeResult,
  type DecodeResult,
  type ObjectIdentity,
} from '../../src/format/index.ts';

export const IDENTITY: ObjectIdentity = {
  source: '3e11fa47-71ca-11e1-9e33-c80aa9429562',
  binlogFile: 'binlog.000042',
  sequence: 42,
  correlationId: 'corr-7f3a',
  batchId: 'batch-2024-06-01T00:00:00Z',
};

export const OTHER_IDENTITY: ObjectIdentity = { ...IDENTITY, binlogFile: 'binlog.000043', sequence: 43 };

export const DEK = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
export const OTHER_DEK = Buffer.alloc(32, 0xee);

export const KEY_REF = { provider: 'local', keyId: 'file:/etc/binlog-archiver/master.key', keyVersion: '1' };
export const WRAPPED = Buffer.from('wrapped-data-key-bytes');

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
export function pseudoRandom(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Compressible text-like bytes. */
export function compressible(length: number): Buffer {
  const words = ['INSERT', 'INTO', 't1', 'VALUES', '(1,', "'abc'", 'UPDATE', 'SET', 'x=', 'WHERE', 'id=', ';\n'];
  const parts: string[] = [];
  let n = 0;
  let i = 0;
  while (n < length) {
    const w = `${words[i % words.length]}${i % 97} `;
    parts.push(w);
    n += w.length;
    i++;
  }
  return Buffer.from(parts.join('')).subarray(0, length);
}

/** Splits `data` into chunks of irregular sizes, as a stream would deliver it. */
export function chunked(data: Buffer, sizes = [1, 7, 4096, 13, 65536, 3]): Buffer[] {
  const out: Buffer[] = [];
  let offset = 0;
  let i = 0;
  while (offset < data.length) {
    const n = sizes[i++ % sizes.length] ?? 1;
    out.push(data.subarray(offset, offset + n));
    offset += n;
  }
  return out;
}

export async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of stream) parts.push(b);
  return Buffer.concat(parts);
}

export async function encodeToBuffer(
  data: Buffer,
  overrides: Partial<EncodeOptions> = {},
): Promise<{ object: Buffer; result: EncodeResult }> {
  const encoded = encodeObject({
    source: chunked(data),
    dek: DEK,
    wrappedKey: WRAPPED,
    key: KEY_REF,
    identity: IDENTITY,
    encryptionContext: { namespace: 'db', policy: 'nightly' },
    segmentSize: 4096,
    ...overrides,
  });
  const object = await collect(encoded);
  return { object, result: await encoded.result };
}

export async function decodeBuffer(
  object: Buffer,
  options: { dek?: Buffer; expected?: ObjectIdentity; objectName?: string; chunks?: number[] } = {},
): Promise<{ plaintext: Buffer; result: DecodeResult }> {
  const opened = await readHeader(chunked(object, options.chunks ?? [5, 1000, 3, 70000]), { objectName: options.objectName ?? 'test/object' });
  const decoded = decodeObject({ object: opened, dek: options.dek ?? DEK, expected: options.expected ?? IDENTITY });
  const plaintext = await collect(decoded);
  return { plaintext, result: await decoded.result };
}

/** Asserts that `fn` rejects with an ArchiverError of `code` whose message matches `pattern`. */
export async function rejectsWith(fn: () => Promise<unknown>, code: ErrorCode, pattern?: RegExp): Promise<ArchiverError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ArchiverError, `expected an ArchiverError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  if (pattern !== undefined) assert.match(caught.message, pattern);
  return caught;
}

/** Offsets of the records of a well-formed object: header end, each frame start, trailer start. */
export function recordOffsets(object: Buffer): { headerEnd: number; frames: number[]; trailer: number } {
  const headerEnd = 16 + object.readUInt32BE(12);
  const frames: number[] = [];
  let offset = headerEnd;
  for (;;) {
    const kind = object.readUInt32BE(offset);
    if (kind === 1) return { headerEnd, frames, trailer: offset };
    frames.push(offset);
    offset += 16 + object.readUInt32BE(offset + 12);
  }
}
