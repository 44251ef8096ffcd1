/**
 * Compatibility mode "openssl-aes-256-cbc": the object is byte for byte what
 *   zstd -<level> | openssl enc -aes-256-cbc -salt -pbkdf2 -iter 100000 -pass file:KEY
 * writes ("Salted__" | salt(8) | AES-256-CBC/PKCS#7 with key+iv = PBKDF2-HMAC-SHA256(pass, salt, 100000, 48)),
 * so a runbook can restore with `openssl enc -d ... | zstd -d` alone. The zstd stream is one independent
 * frame per segment (compressed, and on decode decompressed, in parallel); CBC itself is serial and runs
 * on the main thread.
 * CBC has no integrity: the sidecar (sidecar.ts) carries an HMAC-SHA256 over the object. The salt is derived
 * from the passphrase and the identity, so a rerun writes identical bytes.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, pbkdf2, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { ArchiverError } from '../errors.ts';
import { ByteReader, type ByteSource } from './byte-reader.ts';
import { DEFAULT_SEGMENT_SIZE, DEFAULT_ZSTD_LEVEL, MAX_SEGMENT_SIZE, MAX_ZSTD_LEVEL, MIN_SEGMENT_SIZE, MIN_ZSTD_LEVEL } from './constants.ts';
import { fail, fromTaskError, HINT, type Where } from './fail.ts';
import type { KeyReference } from './header.ts';
import { describeIdentity, encodeIdentity, identityDifferences, identityEquals, identityProblem, pickIdentity, type ObjectIdentity } from './identity.ts';
import { checkOpensslPassphrase } from './openssl-pass.ts';
import { planningDigestOf } from './encoder.ts';
import { maxRecordBody } from './frame.ts';
import { guardReads, inFlightLimit, mapOrdered } from './parallel.ts';
import { newBuffer, release } from './buffers.js';
import { ownArrayBuffer, type DecompressResult } from './segment-tasks.ts';
import { readZstdFrame } from './zstd-frames.ts';
import { sharedPool, type SegmentPool } from './pool.ts';
import { streamWithResult, type StreamWithResult } from './result-stream.ts';
import { Segmenter, segmentEncoded, type PlaintextSource } from './segmenter.ts';
import { parseSidecar, serializeSidecar, type OpensslSidecar } from './sidecar.ts';

const pbkdf2Async = promisify(pbkdf2);

export const OPENSSL_ITERATIONS = 100000;
/** What `openssl enc -salt` writes first, before the 8-byte salt. */
export const SALTED = Buffer.from('Salted__', 'ascii');
const COMPAT_LABEL = Buffer.from('binlog-archiver/openssl-compat/v1', 'ascii');

interface CompatKeys {
  salt: Buffer;
  macKey: Buffer;
  keyCheck: Buffer;
  cipherKey: Buffer;
  iv: Buffer;
  dispose(): void;
}

/**
 * AES-256-CBC key and IV exactly as `openssl enc -aes-256-cbc -pbkdf2 -iter 100000` derives them from the passphrase
 * and the 8-byte salt after "Salted__" (also what `parity` uses to read a legacy pipeline's objects).
 */
export async function opensslKeyIv(passphrase: Uint8Array, salt: Uint8Array): Promise<{ cipherKey: Buffer; iv: Buffer }> {
  const keyIv = await pbkdf2Async(passphrase, salt, OPENSSL_ITERATIONS, 48, 'sha256');
  const cipherKey = Buffer.from(keyIv.subarray(0, 32));
  const iv = Buffer.from(keyIv.subarray(32, 48));
  keyIv.fill(0);
  return { cipherKey, iv };
}

/**
 * docs/FORMAT.md "openssl mode: keys". M = PBKDF2(P, label, 100000, 32) costs a guesser as much as openssl's
 * own KDF, so the salt and key check published from it do not make passphrase guessing cheaper.
 */
async function deriveCompatKeys(passphrase: Uint8Array, identity: ObjectIdentity): Promise<CompatKeys> {
  const master = await pbkdf2Async(passphrase, COMPAT_LABEL, OPENSSL_ITERATIONS, 32, 'sha256');
  const info = encodeIdentity(identity);
  const expand = (label: string, length: number): Buffer =>
    Buffer.from(hkdfSync('sha256', master, COMPAT_LABEL, Buffer.concat([Buffer.from(label, 'ascii'), Buffer.from([0]), info]), length));
  const salt = expand('openssl salt', 8);
  const macKey = expand('sidecar hmac', 32);
  const keyCheck = expand('key check', 32);
  master.fill(0);
  const { cipherKey, iv } = await opensslKeyIv(passphrase, salt);
  return {
    salt,
    macKey,
    keyCheck,
    cipherKey,
    iv,
    dispose() {
      macKey.fill(0);
      cipherKey.fill(0);
      iv.fill(0);
    },
  };
}

/**
 * The HMAC input after the object bytes (fixed size per sidecar version, so the input splits unambiguously):
 * u64 objectLength | u64 plaintextLength | plaintextSha256 | u32 segmentSize | u32 zstdLevel, then in version 2
 * planningSha256 (32). The version itself is bound by the suffix length: 56 or 88 bytes.
 */
function macSuffix(objectLength: number, plaintextLength: number, plaintextSha256: Buffer, segmentSize: number, zstdLevel: number, planningSha256: Buffer | null): Buffer {
  const b = Buffer.alloc(planningSha256 === null ? 56 : 88);
  b.writeBigUInt64BE(BigInt(objectLength), 0);
  b.writeBigUInt64BE(BigInt(plaintextLength), 8);
  plaintextSha256.copy(b, 16);
  b.writeUInt32BE(segmentSize, 48);
  b.writeUInt32BE(zstdLevel, 52);
  planningSha256?.copy(b, 56);
  return b;
}

export interface OpensslEncodeOptions {
  /** As for encodeObject: `{ path }`, a FileHandle, a Readable or an iterable of Buffers. */
  source: PlaintextSource;
  /** Passphrase bytes, as readOpensslPassFile returns them from the key file. Copied; zero yours any time. */
  passphrase: Uint8Array;
  identity: ObjectIdentity;
  /** Which secret holds the passphrase; recorded in the sidecar. */
  key?: KeyReference;
  level?: number;
  segmentSize?: number;
  pool?: SegmentPool;
  maxInFlight?: number;
  objectName?: string;
  /** As for encodeObject: the planning digest the sidecar's HMAC covers (sidecar version 2); none: version 1. */
  planningSha256?: () => Uint8Array;
}

export interface OpensslEncodeResult {
  frames: number;
  plaintextLength: number;
  plaintextSha256: string;
  compressedLength: number;
  objectLength: number;
  objectSha256: string;
  /** Hex planning digest the sidecar HMAC covers; null without one. */
  planningSha256: string | null;
  sidecar: OpensslSidecar;
  /** The sidecar document to store beside the object. */
  sidecarBytes: Buffer;
}

function badInput(objectName: string, problem: string): ArchiverError {
  return new ArchiverError('EBADINPUT', `cannot encode archive object ${JSON.stringify(objectName)}: ${problem}`, { context: { object: objectName } });
}


/** Encodes in openssl-compatible form; the sidecar is in the result once the stream has been read to the end. */
export function encodeOpensslObject(options: OpensslEncodeOptions): StreamWithResult<OpensslEncodeResult> {
  const idProblem = identityProblem(options.identity);
  const identity = pickIdentity(options.identity);
  const objectName = options.objectName ?? (idProblem === undefined ? describeIdentity(identity) : 'unnamed');
  if (idProblem !== undefined) throw badInput(objectName, idProblem);
  const level = options.level ?? DEFAULT_ZSTD_LEVEL;
  const segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  if (!Number.isSafeInteger(level) || level < MIN_ZSTD_LEVEL || level > MAX_ZSTD_LEVEL) throw badInput(objectName, `zstd level ${level} is outside ${MIN_ZSTD_LEVEL}..${MAX_ZSTD_LEVEL}`);
  if (!Number.isSafeInteger(segmentSize) || segmentSize < MIN_SEGMENT_SIZE || segmentSize > MAX_SEGMENT_SIZE) {
    throw badInput(objectName, `segment size ${segmentSize} is outside ${MIN_SEGMENT_SIZE}..${MAX_SEGMENT_SIZE}`);
  }
  if (options.key !== undefined && (typeof options.key.provider !== 'string' || options.key.provider === '' || typeof options.key.keyId !== 'string' || options.key.keyId === '')) {
    throw badInput(objectName, 'key reference needs a non-empty provider and keyId');
  }
  checkOpensslPassphrase(options.passphrase);
  const passphrase = Buffer.from(options.passphrase);
  const pool = options.pool ?? sharedPool();
  const maxInFlight = inFlightLimit(options.maxInFlight, pool.size);

  // Ciphertext chunks this encoder emitted and may free when the consumer hands them back (ReleasableChunks).
  const emitted = new WeakSet<ArrayBufferLike>();

  async function* body(): AsyncGenerator<Buffer, OpensslEncodeResult> {
    let keys: CompatKeys | undefined;
    try {
      keys = await deriveCompatKeys(passphrase, identity);
    } finally {
      passphrase.fill(0);
    }
    const objectHash = createHash('sha256');
    const mac = createHmac('sha256', keys.macKey);
    let objectLength = 0;
    const emit = (b: Buffer): Buffer => {
      objectHash.update(b);
      mac.update(b);
      objectLength += b.length;
      return b;
    };
    // Verification of the CBC layer: decrypt what was written and compare digests with the compressed stream.
    const cipher = createCipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
    const check = createDecipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
    const compressedHash = createHash('sha256');
    const checkHash = createHash('sha256');
    const segmenter = new Segmenter(options.source, segmentSize);
    // Compressed frames come back in buffers that go out again with a later segment.
    const outputs: ArrayBuffer[] = [];
    let frames = 0;
    let compressedLength = 0;
    try {
      yield emit(Buffer.concat([SALTED, keys.salt]));
      const compressed = mapOrdered(
        guardReads(segmenter.segments(), objectName),
        ({ index, buffer, length }) => {
          const output = outputs.pop();
          return segmentEncoded(
            pool.run({ kind: 'compress', index, level, segment: buffer, length, verify: true, ...(output === undefined ? {} : { output }) }, output === undefined ? [buffer] : [buffer, output]),
            segmenter, { object: objectName, frame: index },
          );
        },
        maxInFlight,
      );
      pool.warm();
      for await (const r of compressed) {
        const z = Buffer.from(r.compressed, 0, r.length);
        frames++;
        compressedLength += z.length;
        compressedHash.update(z);
        const out = cipher.update(z);
        outputs.push(r.compressed);
        checkHash.update(check.update(out));
        if (out.length > 0) {
          emitted.add(out.buffer);
          yield emit(out);
        }
      }
      const last = cipher.final();
      checkHash.update(check.update(last));
      checkHash.update(check.final());
      yield emit(last);
      if (!checkHash.digest().equals(compressedHash.digest())) {
        throw fail('EVERIFY', { object: objectName }, 'decrypting the CBC stream just written does not reproduce the compressed stream', HINT.verify);
      }
      const plaintextSha256 = segmenter.plaintextSha256();
      const planningSha256 = planningDigestOf(options.planningSha256, objectName);
      mac.update(macSuffix(objectLength, segmenter.plaintextLength, plaintextSha256, segmentSize, level, planningSha256));
      const sidecar: OpensslSidecar = {
        identity,
        zstdLevel: level,
        segmentSize,
        pbkdf2Iterations: OPENSSL_ITERATIONS,
        salt: keys.salt.toString('hex'),
        keyCheck: keys.keyCheck.toString('hex'),
        plaintextLength: segmenter.plaintextLength,
        plaintextSha256: plaintextSha256.toString('hex'),
        objectLength,
        objectSha256: objectHash.digest('hex'),
        hmacSha256: mac.digest('hex'),
      };
      if (planningSha256 !== null) sidecar.planningSha256 = planningSha256.toString('hex');
      if (options.key !== undefined) sidecar.key = { ...options.key };
      return {
        frames,
        plaintextLength: sidecar.plaintextLength,
        plaintextSha256: sidecar.plaintextSha256,
        compressedLength,
        objectLength,
        objectSha256: sidecar.objectSha256,
        planningSha256: sidecar.planningSha256 ?? null,
        sidecar,
        sidecarBytes: serializeSidecar(sidecar),
      };
    } finally {
      segmenter.dispose();
      for (const b of outputs.splice(0)) release(new Uint8Array(b));
      keys.dispose();
    }
  }
  return streamWithResult(`archive object ${JSON.stringify(objectName)}`, body, (chunk) => {
    if (emitted.delete(chunk.buffer)) release(chunk);
  });
}

export interface OpensslDecodeOptions {
  source: ByteSource;
  /** The sidecar stored beside the object (bytes or parsed). */
  sidecar: Uint8Array | OpensslSidecar;
  passphrase: Uint8Array;
  expected: ObjectIdentity;
  objectName: string;
  pool?: SegmentPool;
  maxInFlight?: number;
}

export interface OpensslDecodeResult {
  plaintextLength: number;
  plaintextSha256: string;
  objectLength: number;
  objectSha256: string;
  /** Hex planning digest the sidecar HMAC authenticated (sidecar version 2); null for a version 1 sidecar. */
  planningSha256: string | null;
}

/**
 * Decodes a compatibility object. Checks: identity (EVERIFY), passphrase (EKEY, via the sidecar's key
 * check), salt (EAUTH), then, at the end, the HMAC over the object (EAUTH), and plaintext length and
 * SHA-256 (EVERIFY). CBC is not authenticated per block: output is provisional until iteration ends.
 */
export function decodeOpensslObject(options: OpensslDecodeOptions): StreamWithResult<OpensslDecodeResult> {
  const where: Where = { object: options.objectName };
  const sidecar = options.sidecar instanceof Uint8Array ? parseSidecar(options.sidecar, where) : options.sidecar;
  const expectedProblem = identityProblem(options.expected);
  if (expectedProblem !== undefined) throw new ArchiverError('EUSAGE', `expected identity for archive object ${JSON.stringify(options.objectName)} is invalid: ${expectedProblem}`);
  const expected = pickIdentity(options.expected);
  if (!identityEquals(sidecar.identity, expected)) {
    throw fail('EVERIFY', where, `sidecar names a different binlog than expected: ${identityDifferences(sidecar.identity, expected)}`, HINT.wrongObject);
  }
  if (sidecar.pbkdf2Iterations !== OPENSSL_ITERATIONS) {
    throw fail('EFORMAT', where, `sidecar says ${sidecar.pbkdf2Iterations} PBKDF2 iterations; this mode always uses ${OPENSSL_ITERATIONS}`, HINT.corrupt);
  }
  checkOpensslPassphrase(options.passphrase);
  const passphrase = Buffer.from(options.passphrase);
  const pool = options.pool ?? sharedPool();
  const maxInFlight = inFlightLimit(options.maxInFlight, pool.size);

  async function* body(): AsyncGenerator<Buffer, OpensslDecodeResult> {
    let keys: CompatKeys | undefined;
    try {
      keys = await deriveCompatKeys(passphrase, expected);
    } finally {
      passphrase.fill(0);
    }
    const reader = new ByteReader(options.source);
    try {
      if (!timingSafeEqual(keys.keyCheck, Buffer.from(sidecar.keyCheck, 'hex'))) {
        throw fail('EKEY', where, 'the passphrase does not match the sidecar key check', 'Use the passphrase file this object was archived with (named in the sidecar key reference, if any)');
      }
      if (sidecar.salt !== keys.salt.toString('hex')) {
        throw fail('EAUTH', where, `sidecar salt ${sidecar.salt} differs from the salt derived for this identity (${keys.salt.toString('hex')})`, HINT.corrupt);
      }
      const mac = createHmac('sha256', keys.macKey);
      const head = Buffer.from(await reader.read(16));
      mac.update(head);
      if (head.length < 16 || !head.subarray(0, 8).equals(SALTED)) {
        throw fail('EFORMAT', { ...where, offset: 0 }, `object does not start with "Salted__" and an 8-byte salt (found ${head.toString('hex')})`, HINT.notArchive);
      }
      if (!head.subarray(8).equals(keys.salt)) {
        throw fail('EAUTH', { ...where, offset: 8 }, `object salt ${head.subarray(8).toString('hex')} is not the salt derived for this identity and passphrase`, HINT.corrupt);
      }
      const decipher = createDecipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
      let decryptError: Error | undefined;
      // Raw object bytes -> MAC -> CBC decryption -> zstd stream (split into frames below).
      const decrypted = (async function* (): AsyncGenerator<Buffer> {
        for (;;) {
          const read = await reader.read(1 << 20);
          const chunk = Buffer.from(read.buffer, read.byteOffset, read.byteLength);
          if (chunk.length === 0) break;
          mac.update(chunk);
          const plain = decipher.update(chunk);
          release(read); // ours, and done with: freed now rather than at a later GC
          yield plain;
        }
        try {
          yield decipher.final();
        } catch (err) {
          decryptError = err as Error;
        }
      })();
      const zstdStream = new ByteReader(decrypted, { hash: false });
      const maxFrame = maxRecordBody(sidecar.segmentSize);
      const frames = async function* (): AsyncGenerator<{ index: number; frame: Buffer }> {
        for (let index = 0; ; index++) {
          let frame: Buffer | undefined;
          try {
            frame = await readZstdFrame(zstdStream, maxFrame);
          } catch (err) {
            throw fail('EFORMAT', { ...where, frame: index }, `decrypted data is not a valid zstd stream (${(err as Error).message})`, HINT.corrupt, { cause: err });
          }
          if (frame === undefined) return;
          yield { index, frame };
        }
      };
      const decompress = ({ index, frame }: { index: number; frame: Buffer }): Promise<DecompressResult> => {
        const buffer = ownArrayBuffer(frame);
        // The plaintext goes to the consumer, who keeps it: a new buffer per frame, filled on the worker.
        const output = newBuffer(sidecar.segmentSize);
        return pool.run({ kind: 'decompress', index, maxLength: sidecar.segmentSize, frame: buffer, output }, [buffer, output]).catch((err: unknown) => {
          throw fromTaskError(err, { ...where, frame: index }, HINT.corrupt);
        });
      };
      pool.warm();
      const plainHash = createHash('sha256');
      let plaintextLength = 0;
      // A decoding failure may be the symptom of tampering: note it, authenticate everything, then decide.
      let problem: Error | undefined;
      try {
        for await (const r of mapOrdered(frames(), decompress, maxInFlight)) {
          const plain = Buffer.from(r.plaintext, 0, r.length);
          plainHash.update(plain);
          plaintextLength += r.length;
          yield plain;
        }
      } catch (err) {
        problem = err as Error;
      }
      for await (const _ of decrypted); // drains the rest of the object into the MAC
      const objectLength = reader.offset;
      const planningSha256 = sidecar.planningSha256 === undefined ? null : Buffer.from(sidecar.planningSha256, 'hex');
      mac.update(macSuffix(objectLength, sidecar.plaintextLength, Buffer.from(sidecar.plaintextSha256, 'hex'), sidecar.segmentSize, sidecar.zstdLevel, planningSha256));
      if (!timingSafeEqual(mac.digest(), Buffer.from(sidecar.hmacSha256, 'hex'))) {
        throw fail('EAUTH', where, 'HMAC-SHA256 over the object does not match the sidecar: the object or the sidecar was modified, truncated or extended', HINT.corrupt);
      }
      const objectSha256 = reader.digest().toString('hex');
      if (objectLength !== sidecar.objectLength || objectSha256 !== sidecar.objectSha256) {
        throw fail('EAUTH', where, `object is ${objectLength} bytes with SHA-256 ${objectSha256}; the sidecar says ${sidecar.objectLength} bytes, ${sidecar.objectSha256}`, HINT.corrupt);
      }
      if (decryptError !== undefined) {
        throw fail('EFORMAT', where, `authenticated object does not decrypt (${decryptError.message})`, HINT.bug, { cause: decryptError });
      }
      if (problem !== undefined) {
        if (!(problem instanceof ArchiverError)) throw problem;
        throw fail(problem.code, where, `the object authenticates but does not decode (${problem.message})`, HINT.bug, { cause: problem });
      }
      const plaintextSha256 = plainHash.digest('hex');
      if (plaintextLength !== sidecar.plaintextLength || plaintextSha256 !== sidecar.plaintextSha256) {
        throw fail('EVERIFY', where, `decoded ${plaintextLength} bytes with SHA-256 ${plaintextSha256}; the sidecar says ${sidecar.plaintextLength} bytes, ${sidecar.plaintextSha256}`, HINT.bug);
      }
      return { plaintextLength, plaintextSha256, objectLength, objectSha256, planningSha256: sidecar.planningSha256 ?? null };
    } finally {
      keys.dispose();
      await reader.close().catch(() => undefined);
    }
  }
  return streamWithResult(`archive object ${JSON.stringify(options.objectName)}`, body);
}
