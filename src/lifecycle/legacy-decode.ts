/**
 * The plaintext SHA-256 of one legacy object, decoded as a stream (memory stays bounded whatever the object's
 * size: a chunk of input, one zstd block, the decompressor's window). Formats:
 *  - openssl-aes-256-cbc: `zstd -3 | openssl enc -aes-256-cbc -salt -pbkdf2 -iter 100000 -pass file:KEY`, i.e.
 *    "Salted__" | salt | AES-256-CBC/PKCS#7 with key and IV from opensslKeyIv, around a zstd stream;
 *  - zstd, gzip: what the command-line tools write (several concatenated frames or members too);
 *  - plain: the binlog itself.
 * A malformed object is a LegacyCorrupt error whose reason says what is wrong, in the terms of the tool that
 * would fail on it in a restore runbook (bad padding, not a zstd frame, truncated).
 */
import { createDecipheriv, createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGunzip, createZstdDecompress } from 'node:zlib';
import { ArchiverError } from '../errors.ts';
import { ByteReader } from '../format/byte-reader.ts';
import { opensslKeyIv, SALTED } from '../format/openssl-compat.ts';
import { blockContent, checkMagic, headerRestLength } from '../format/zstd-core.js';
import type { LegacyFormat } from './legacy-location.ts';

/** A legacy object that does not decode; `reason` is for people, `kind` for programs. */
export class LegacyCorrupt extends Error {
  readonly kind: 'bad-header' | 'bad-padding' | 'truncated' | 'wrong-key' | 'bad-zstd' | 'bad-gzip';
  constructor(kind: LegacyCorrupt['kind'], reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'LegacyCorrupt';
    this.kind = kind;
  }
}

export interface LegacyDigest {
  plaintextLength: number;
  plaintextSha256: string;
  objectLength: number;
}

/** zstd's own default limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT): a frame asking for a larger window is refused, not honoured. */
const WINDOW_LOG_MAX = 27;
const ZSTD_MAGIC_BYTES = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Decrypts `openssl enc -aes-256-cbc -salt -pbkdf2 -iter 100000` output; the first plaintext bytes must start a zstd frame. */
function opensslDecrypt(passphrase: Uint8Array): (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
  return async function* (source) {
    const reader = new ByteReader(source, { hash: false });
    const head = Buffer.from(await reader.read(16));
    if (head.length < 16 || !head.subarray(0, 8).equals(SALTED)) {
      throw new LegacyCorrupt('bad-header', `does not start with "Salted__" and an 8-byte salt (${head.length < 16 ? `only ${head.length} bytes` : `found ${head.subarray(0, 8).toString('hex')}`}): not written by openssl enc -salt`);
    }
    const { cipherKey, iv } = await opensslKeyIv(passphrase, head.subarray(8));
    const decipher = createDecipheriv('aes-256-cbc', cipherKey, iv);
    cipherKey.fill(0);
    iv.fill(0);
    let checked = false;
    let first = Buffer.alloc(0);
    const check = (plain: Buffer): Buffer => {
      if (checked) return plain;
      first = Buffer.concat([first, plain]);
      if (first.length < 4) return Buffer.alloc(0);
      checked = true;
      if (!first.subarray(0, 4).equals(ZSTD_MAGIC_BYTES)) {
        throw new LegacyCorrupt('wrong-key', 'decrypts to data that is not a zstd stream: the wrong --legacy-key passphrase (or not -pbkdf2 -iter 100000, or not zstd inside)');
      }
      return first;
    };
    for (;;) {
      const chunk = Buffer.from(await reader.read(1 << 20));
      if (chunk.length === 0) break;
      const out = check(decipher.update(chunk));
      if (out.length > 0) yield out;
    }
    let last: Buffer;
    try {
      last = decipher.final();
    } catch (err) {
      const truncated = (reader.offset - 16) % 16 !== 0;
      throw truncated
        ? new LegacyCorrupt('truncated', `ciphertext is ${reader.offset - 16} bytes, not a multiple of the 16-byte AES block: truncated or extended`, { cause: err })
        : new LegacyCorrupt('bad-padding', 'bad decrypt (the last block\'s PKCS#7 padding is wrong): the wrong --legacy-key passphrase, or the object is corrupt or truncated', { cause: err });
    }
    const out = check(last);
    if (!checked) throw new LegacyCorrupt('truncated', `decrypts to ${first.length} bytes: too short for a zstd stream`);
    if (out.length > 0) yield out;
  };
}

/**
 * The bytes of one zstd frame, walked block by block (RFC 8878 3.1.1): node:zlib's decompressor stops at the end
 * of the first frame and ignores what follows, so each frame gets its own decompressor and trailing bytes that
 * are not a frame are refused, as `zstd -d` refuses them.
 */
async function* frameBytes(reader: ByteReader): AsyncGenerator<Uint8Array> {
  const take = async (n: number): Promise<Uint8Array> => {
    const b = await reader.read(n);
    if (b.length < n) throw new LegacyCorrupt('truncated', `the zstd stream ends inside a frame (at byte ${reader.offset}): truncated`);
    return b;
  };
  const start = await take(5);
  const at = reader.offset - 5;
  try {
    checkMagic(Buffer.from(start.buffer, start.byteOffset, 4).readUInt32LE(0));
    yield start;
    yield await take(headerRestLength(start[4] as number));
    for (;;) {
      const h = await take(3);
      const block = blockContent(h[0] as number, h[1] as number, h[2] as number);
      yield h;
      // A block is at most 128 KiB, so this read is bounded.
      if (block.content > 0) yield await take(block.content);
      if (block.last) break;
    }
    if (((start[4] as number) & 0x04) !== 0) yield await take(4);
  } catch (err) {
    if (err instanceof TypeError) throw new LegacyCorrupt('bad-zstd', `not a valid zstd stream at byte ${at}: ${err.message}`, { cause: err });
    throw err;
  }
}

async function zstdFrames(source: AsyncIterable<Buffer>, sink: (chunk: Buffer) => void): Promise<void> {
  const reader = new ByteReader(source, { hash: false });
  if (await reader.atEnd()) throw new LegacyCorrupt('bad-zstd', 'is empty: not a zstd stream');
  while (!(await reader.atEnd())) {
    await pipeline(
      Readable.from(frameBytes(reader)),
      createZstdDecompress({ params: { [constants.ZSTD_d_windowLogMax]: WINDOW_LOG_MAX } }),
      new Writable({ write(chunk: Buffer, _e, done) { sink(chunk); done(); } }),
    ).catch((err: unknown) => {
      if (err instanceof LegacyCorrupt || err instanceof ArchiverError) throw err;
      throw new LegacyCorrupt('bad-zstd', `zstd cannot decompress it: ${(err as Error).message}`, { cause: err });
    });
  }
}

async function gunzip(source: AsyncIterable<Buffer>, sink: (chunk: Buffer) => void): Promise<void> {
  await pipeline(source, createGunzip(), new Writable({ write(chunk: Buffer, _e, done) { sink(chunk); done(); } })).catch((err: unknown) => {
    if (err instanceof ArchiverError) throw err;
    throw new LegacyCorrupt('bad-gzip', `gzip cannot decompress it: ${(err as Error).message}`, { cause: err });
  });
}

/** Counts the raw object bytes on their way into the decoder. */
async function* counted(source: AsyncIterable<Buffer>, count: { n: number }): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    count.n += chunk.length;
    yield chunk;
  }
}

/**
 * Streams `body` through the decoder of `format`; throws LegacyCorrupt when it does not decode, and passes
 * the body's own errors (reading the store) through unchanged.
 */
export async function legacyDigest(body: AsyncIterable<Buffer>, format: LegacyFormat, passphrase?: Uint8Array): Promise<LegacyDigest> {
  const hash = createHash('sha256');
  let plaintextLength = 0;
  const sink = (chunk: Buffer): void => {
    hash.update(chunk);
    plaintextLength += chunk.length;
  };
  const objectLength = { n: 0 };
  const raw = counted(body, objectLength);
  switch (format) {
    case 'plain':
      for await (const chunk of raw) sink(chunk);
      break;
    case 'gzip':
      await gunzip(raw, sink);
      break;
    case 'zstd':
      await zstdFrames(raw, sink);
      break;
    case 'openssl-aes-256-cbc':
      if (passphrase === undefined) throw new ArchiverError('EUSAGE', 'format openssl-aes-256-cbc needs --legacy-key');
      // The last block (its padding) is held back until the end, so a bad padding is reported before zstd can
      // fail on the truncated plaintext: the reason is openssl's "bad decrypt", as a runbook would see it.
      await zstdFrames(opensslDecrypt(passphrase)(raw), sink);
      break;
  }
  return { plaintextLength, plaintextSha256: hash.digest('hex'), objectLength: objectLength.n };
}
