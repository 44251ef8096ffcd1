/**
 * Streaming encoder: plaintext in, archive object bytes out (header, frames in order, trailer).
 * The main thread reads (straight into recycled segment buffers), hashes the whole plaintext and emits;
 * worker threads compress, encrypt and verify one segment each. The reader runs ahead of the consumer as
 * far as the window allows: at most `maxInFlight` segments are between the reader and the output, which
 * bounds memory whatever the input size; the consumer's pace propagates back to the reader.
 */
import { createHash } from 'node:crypto';
import { ArchiverError } from '../errors.ts';
import { DEFAULT_SEGMENT_SIZE, DEFAULT_ZSTD_LEVEL, FORMAT_VERSION, PLANNING_DIGEST_LENGTH } from './constants.ts';
import { sealRecord, TRAILER_NONCE, trailerAad } from './frame.ts';
import { encodeHeader, headerProblem, type ArchiveHeader, type KeyReference } from './header.ts';
import { describeIdentity, identityProblem, pickIdentity, type ObjectIdentity } from './identity.ts';
import { checkDek, deriveObjectKeys } from './keys.ts';
import { guardReads, inFlightLimit, mapOrdered } from './parallel.ts';
import { release } from './buffers.js';
import { sharedPool, type SegmentPool } from './pool.ts';
import { streamWithResult, type StreamWithResult } from './result-stream.ts';
import { Segmenter, segmentEncoded, type PlaintextSource } from './segmenter.ts';
import { encodeTrailer } from './trailer.ts';

export interface EncodeOptions {
  /**
   * The plaintext (the binlog): `{ path }` or an open FileHandle (fastest: read straight into segment
   * buffers), or chunks: a Readable such as fs.createReadStream(path), or any (async) iterable of Buffers.
   */
  source: PlaintextSource;
  /**
   * Plaintext 32-byte data key from the key provider. It is only read during this call (to derive the
   * per-object keys), so the caller may zero it as soon as encodeObject returns.
   */
  dek: Uint8Array;
  /** Data key as wrapped by the key provider; stored in the header. */
  wrappedKey: Uint8Array;
  /** Which provider key wrapped it. */
  key: KeyReference;
  identity: ObjectIdentity;
  /** Key provider encryption context, recorded in the header (authenticated, not secret). */
  encryptionContext?: Record<string, string>;
  /** Plaintext bytes per frame; default 4 MiB. */
  segmentSize?: number;
  /** zstd level; default 2 (DEFAULT_ZSTD_LEVEL). */
  level?: number;
  /**
   * Store (zstd's fastest level) each segment that `level` would shrink by less than 1/32, such as runs of
   * MySQL Transaction_payload events (zstd-adapt.js); default true. Frames stay standard zstd frames.
   */
  adapt?: boolean;
  /** Worker pool; default: the process-wide shared pool. */
  pool?: SegmentPool;
  /**
   * Segments being read or sealed at most (a frame the consumer holds no longer counts: its segment buffer went
   * back when its task ended); default the pool size + 1, one per worker and one read ahead. Each is 4 MiB of RSS:
   * on the archive bench 2 × pool size was no faster, the pool size alone 10-20 % slower on bulk binlogs
   * (docs/PERFORMANCE.md 4d).
   */
  maxInFlight?: number;
  /** Name used in error messages (e.g. the object key); default derived from the identity. */
  objectName?: string;
  /**
   * The planning digest to bind (docs/FORMAT.md 5.3): called once, after the last plaintext byte was read, for
   * its 32 bytes, which the version 2 trailer authenticates. Without it the object is written as version 1.
   */
  planningSha256?: () => Uint8Array;
}

export interface EncodeResult {
  frames: number;
  plaintextLength: number;
  /** Hex SHA-256 of the plaintext. */
  plaintextSha256: string;
  /** Sum of the zstd frame lengths. */
  compressedLength: number;
  /**
   * Frames stored rather than compressed at the header's level (EncodeOptions.adapt). Set by the encoder; a
   * decode (DecodeResult is this type) cannot tell how a frame was made and leaves it out.
   */
  storedFrames?: number;
  /** Frames compressed at the header's level with the small match table (adapt); encoder only, like storedFrames. */
  smallTableFrames?: number;
  objectLength: number;
  /** Hex SHA-256 of the object bytes. */
  objectSha256: string;
  /** Hex SHA-256 of the header bytes (bound into every frame). */
  headerSha256: string;
  /** 1 or 2 (docs/FORMAT.md 2.1). */
  formatVersion: number;
  /** Hex planning digest the trailer authenticates (version 2); null for version 1. */
  planningSha256: string | null;
}

export interface EncodedObject extends StreamWithResult<EncodeResult> {
  /** The header as written (wrapped key, key reference, identity, settings). */
  readonly header: ArchiveHeader;
}

/** The caller's planning digest, checked; null when there is none to bind (version 1). */
export function planningDigestOf(get: (() => Uint8Array) | undefined, objectName: string): Buffer | null {
  if (get === undefined) return null;
  const digest = get();
  if (!(digest instanceof Uint8Array) || digest.length !== PLANNING_DIGEST_LENGTH) {
    throw new ArchiverError('EBADINPUT', `cannot encode archive object ${JSON.stringify(objectName)}: the planning digest must be ${PLANNING_DIGEST_LENGTH} bytes`);
  }
  return Buffer.from(digest);
}

/**
 * Starts encoding. Options are validated now (EBADINPUT, EKEY thrown synchronously); the work happens as
 * the returned iterable is read. Every frame is verified (decrypted, decompressed and compared with the
 * source bytes) before it is emitted, so an object read to the end without error is a verified object.
 * The same DEK, identity, settings and plaintext always give the same bytes. Never encode two different
 * plaintexts under the same DEK and identity: the nonces would repeat under the same key.
 */
export function encodeObject(options: EncodeOptions): EncodedObject {
  const idProblem = identityProblem(options.identity);
  const identity = pickIdentity(options.identity);
  const objectName = options.objectName ?? (idProblem === undefined ? describeIdentity(identity) : 'unnamed object');
  if (idProblem !== undefined) {
    throw new ArchiverError('EBADINPUT', `cannot encode archive object ${JSON.stringify(objectName)}: ${idProblem}`, { context: { object: objectName } });
  }
  checkDek(options.dek, objectName);
  const keys = deriveObjectKeys(options.dek, identity);
  const header: ArchiveHeader = {
    segmentSize: options.segmentSize ?? DEFAULT_SEGMENT_SIZE,
    zstdLevel: options.level ?? DEFAULT_ZSTD_LEVEL,
    identity,
    key: { ...options.key },
    wrappedKey: options.wrappedKey instanceof Uint8Array ? Buffer.from(options.wrappedKey) : Buffer.alloc(0),
    keyCheck: keys.keyCheck,
    encryptionContext: Object.fromEntries(Object.entries(options.encryptionContext ?? {})),
  };
  const version = options.planningSha256 === undefined ? 1 : FORMAT_VERSION;
  let encoded;
  try {
    const problem = headerProblem(header);
    if (problem !== undefined) throw new Error(problem);
    encoded = encodeHeader(header, version);
  } catch (err) {
    keys.dispose();
    throw new ArchiverError('EBADINPUT', `cannot encode archive object ${JSON.stringify(objectName)}: ${(err as Error).message}`, {
      cause: err,
      context: { object: objectName },
    });
  }
  const pool = options.pool ?? sharedPool();
  const maxInFlight = inFlightLimit(options.maxInFlight ?? pool.size + 1, pool.size);
  pool.warm();
  const headerBytes = encoded.bytes;
  // Exactly-sized copies: structured clone sends a typed array's whole ArrayBuffer, which may be shared.
  const headerDigest = new Uint8Array(encoded.digest);
  const frameKey = keys.frameKey;
  const adapt = options.adapt ?? true;

  async function* body(): AsyncGenerator<Buffer, EncodeResult> {
    const objectHash = createHash('sha256');
    let objectLength = 0;
    const emit = (b: Buffer): Buffer => {
      objectHash.update(b);
      objectLength += b.length;
      return b;
    };
    const segmenter = new Segmenter(options.source, header.segmentSize);
    let frames = 0;
    let compressedLength = 0;
    let storedFrames = 0;
    let smallTableFrames = 0;
    try {
      yield emit(headerBytes);
      const sealed = mapOrdered(
        guardReads(segmenter.segments(), objectName),
        ({ index, final, buffer, length }) => segmentEncoded(
          pool.run({ kind: 'seal', key: frameKey, headerDigest, index, final, level: header.zstdLevel, adapt, segment: buffer, length, verify: true }, [buffer]),
          segmenter, { object: objectName, frame: index },
        ),
        maxInFlight,
        false, // a record the consumer holds is not a segment buffer (recycled when its task ended)
      );
      for await (const result of sealed) {
        frames++;
        compressedLength += result.compressedLength;
        if (result.stored) storedFrames++;
        if (result.smallTable) smallTableFrames++;
        emitted.add(result.record);
        yield emit(Buffer.from(result.record));
      }
      const plaintextSha256 = segmenter.plaintextSha256();
      const planningSha256 = planningDigestOf(options.planningSha256, objectName);
      const trailer = encodeTrailer({ plaintextLength: segmenter.plaintextLength, frameCount: frames, compressedLength, plaintextSha256, planningSha256 });
      yield emit(Buffer.from(sealRecord(frameKey, TRAILER_NONCE, trailerAad(headerDigest, frames), trailer)));
      return {
        frames,
        plaintextLength: segmenter.plaintextLength,
        plaintextSha256: plaintextSha256.toString('hex'),
        compressedLength,
        storedFrames,
        smallTableFrames,
        objectLength,
        objectSha256: objectHash.digest('hex'),
        headerSha256: Buffer.from(headerDigest).toString('hex'),
        formatVersion: version,
        planningSha256: planningSha256?.toString('hex') ?? null,
      };
    } finally {
      segmenter.dispose();
      keys.dispose();
    }
  }

  // Records this encoder emitted and may free when the consumer hands them back (ReleasableChunks).
  const emitted = new WeakSet<ArrayBufferLike>();
  const releaseChunk = (chunk: Uint8Array): void => {
    if (emitted.delete(chunk.buffer)) release(chunk);
  };
  const stream = streamWithResult(`archive object ${JSON.stringify(objectName)}`, body, releaseChunk);
  return Object.assign(stream, { header });
}
