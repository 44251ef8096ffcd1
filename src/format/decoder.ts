/**
 * Streaming decoder. Step 1, readHeader: parse the header, so the caller learns the wrapped data key and
 * key reference and can unwrap the key. Step 2, decodeObject: check the identity and the key, then read
 * frames in order, decrypt + decompress them on worker threads, and yield plaintext in order.
 *
 * Every yielded chunk comes from an authenticated frame at its authenticated position, but the object is
 * only known to be complete and correct when iteration ends without error (trailer, totals, SHA-256):
 * treat output as provisional until then (write to a temporary file, rename after).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { ArchiverError } from '../errors.ts';
import { ByteReader, type ByteSource } from './byte-reader.ts';
import { PREFIX_LENGTH, RECORD_FRAME, RECORD_PREFIX_LENGTH, RECORD_TRAILER, TAG_LENGTH } from './constants.ts';
import { fail, fromTaskError, HINT, type Where } from './fail.ts';
import { maxRecordBody, openRecordBody, parseRecordPrefix, TRAILER_NONCE, trailerAad } from './frame.ts';
import { decodeHeaderBody, decodeHeaderPrefix, type ArchiveHeader } from './header.ts';
import { identityDifferences, identityEquals, identityProblem, pickIdentity, type ObjectIdentity } from './identity.ts';
import { checkDek, deriveObjectKeys } from './keys.ts';
import { sharedPool, type SegmentPool } from './pool.ts';
import { PinnedSha256 } from './pinned-hash.ts';
import { type HashPlacement, PlaintextSha256 } from './plaintext-hash.ts';
import { streamWithResult, type StreamWithResult } from './result-stream.ts';
import { newBuffer, release } from './buffers.js';
import { TaskError, type OpenResult } from './segment-tasks.ts';
import { inFlightLimit, mapOrdered } from './parallel.ts';
import { decodeTrailer, trailerLength } from './trailer.ts';
import type { EncodeResult } from './encoder.ts';

export interface OpenedObject {
  readonly objectName: string;
  /** Format version from the prefix (1 or 2); authenticated with the rest of the header. */
  readonly version: number;
  readonly header: ArchiveHeader;
  /** The exact header bytes as stored. */
  readonly headerBytes: Buffer;
  /** Hex SHA-256 of headerBytes. */
  readonly headerSha256: string;
  /** Stops reading the source, for a caller that will not decode the object after all. */
  close(): Promise<void>;
}

interface OpenState {
  reader: ByteReader;
  digest: Buffer;
  used: boolean;
}

const opened = new WeakMap<OpenedObject, OpenState>();

/**
 * Reads and validates the header (EFORMAT when the bytes are not a well-formed v1 or v2 header). Nothing in it
 * is trusted yet: the header is authenticated by the frames and trailer, which decodeObject checks.
 */
export async function readHeader(source: ByteSource, options: { objectName: string; pool?: SegmentPool; hashObject?: boolean }): Promise<OpenedObject> {
  const where: Where = { object: options.objectName };
  // A caller reading a header is about to unwrap the data key (a KMS or Vault call, often) and decode: the
  // worker threads start meanwhile. They are idle and unref'ed if it does not.
  (options.pool ?? sharedPool()).warm();
  // The object's own SHA-256 (the manifest's object.sha256) is for callers that compare it (verify, adopt); every
  // byte is authenticated by the frames and the trailer either way.
  const reader = new ByteReader(source, { hash: options.hashObject !== false });
  let prefix: Buffer;
  let body: Buffer;
  let version: number;
  let header: ArchiveHeader;
  try {
    prefix = Buffer.from(await reader.read(PREFIX_LENGTH));
    const decoded = decodeHeaderPrefix(prefix, where);
    version = decoded.version;
    body = Buffer.from(await reader.read(decoded.length));
    if (body.length < decoded.length) {
      throw fail('EFORMAT', { ...where, offset: reader.offset }, `object ends inside the header: ${decoded.length} header body bytes expected, ${body.length} present`, HINT.truncated);
    }
    header = decodeHeaderBody(body, where);
  } catch (err) {
    // A refused header must not leave the object's file or connection open.
    await reader.close().catch(() => undefined);
    throw err;
  }
  const headerBytes = Buffer.concat([prefix, body]);
  const digest = createHash('sha256').update(headerBytes).digest();
  const result: OpenedObject = {
    objectName: options.objectName,
    version,
    header,
    headerBytes,
    headerSha256: digest.toString('hex'),
    close: () => reader.close(),
  };
  opened.set(result, { reader, digest, used: false });
  return result;
}

export interface DecodeOptions {
  /** From readHeader. */
  object: OpenedObject;
  /** Plaintext data key (unwrapped from object.header.wrappedKey); only read during this call. */
  dek: Uint8Array;
  /** The identity the caller expects (from the manifest / object key); any difference is EVERIFY. */
  expected: ObjectIdentity;
  pool?: SegmentPool;
  /** Frames between reader and output at most; default 2 × pool size. */
  maxInFlight?: number;
  /**
   * Where the plaintext SHA-256 runs: 'adaptive' (the default) on this thread or on the pool's pinned worker,
   * whichever a frame of the object shows to be faster (plaintext-hash.ts); 'worker' (pinned-hash.ts) or 'here'
   * as told. In these three, chunks are views of SharedArrayBuffers, which the consumer must not write to.
   * 'here-moved': on this thread, the plaintext in transferable buffers.
   */
  plaintextHash?: HashPlacement | 'here-moved';
}

/**
 * The same totals the encoder reports, as recomputed and checked while decoding, and the authenticated planning
 * digest; objectSha256 is null when readHeader was asked not to hash the object.
 */
export type DecodeResult = Omit<EncodeResult, 'objectSha256'> & {
  objectSha256: string | null;
  /** Where 'adaptive' put the plaintext hash, weighing a frame; null when it was told, or too few frames to weigh. */
  plaintextHashChoice: 'here' | 'worker' | null;
};

export type DecodedObject = StreamWithResult<DecodeResult>;

/**
 * Checks identity (EVERIFY) and data key (EKEY) immediately (after a refusal the same OpenedObject may be
 * tried again, e.g. with another key version), then decodes as the result is iterated.
 * Errors: EFORMAT (malformed, truncated, trailing bytes), EAUTH (modified, reordered, duplicated or
 * spliced data), EVERIFY (totals or SHA-256 differ from the trailer).
 */
export function decodeObject(options: DecodeOptions): DecodedObject {
  const state = opened.get(options.object);
  const { header, objectName, version } = options.object;
  if (state === undefined) throw new ArchiverError('EUSAGE', 'decodeObject needs an object returned by readHeader');
  if (state.used) throw new ArchiverError('EUSAGE', `archive object ${JSON.stringify(objectName)} is already being decoded`);
  const where: Where = { object: objectName };
  const expectedProblem = identityProblem(options.expected);
  if (expectedProblem !== undefined) throw new ArchiverError('EUSAGE', `expected identity for archive object ${JSON.stringify(objectName)} is invalid: ${expectedProblem}`);
  const expected = pickIdentity(options.expected);
  if (!identityEquals(header.identity, expected)) {
    throw fail('EVERIFY', where, `object holds a different binlog than expected: ${identityDifferences(header.identity, expected)}`, HINT.wrongObject, {
      context: { actual: header.identity, expected },
    });
  }
  checkDek(options.dek, objectName);
  // Keys come from the expected identity: an object under another name could not decrypt even if its header lied.
  const keys = deriveObjectKeys(options.dek, expected);
  if (!timingSafeEqual(keys.keyCheck, header.keyCheck)) {
    keys.dispose();
    const ref = header.key;
    throw fail(
      'EKEY',
      { ...where, offset: PREFIX_LENGTH },
      `the data key does not match this object's key check (key provider ${ref.provider}, key id ${ref.keyId}${ref.keyVersion === undefined ? '' : `, version ${ref.keyVersion}`})`,
      "Unwrap the data key stored in this object's header with the key named there; if that key was used, the header's key check is corrupt and the object must not be used",
    );
  }
  const pool = options.pool ?? sharedPool();
  let maxInFlight: number;
  try {
    maxInFlight = inFlightLimit(options.maxInFlight, pool.size);
  } catch (err) {
    keys.dispose();
    throw err;
  }
  // Only now: a caller whose identity or key was refused may try again with the right one.
  state.used = true;
  pool.warm();
  const headerDigest = new Uint8Array(state.digest);
  const { reader } = state;
  const segmentSize = header.segmentSize;

  interface FrameJob {
    index: number;
    final: boolean;
    /** ciphertext || tag in the first bodyLength bytes; a recycled buffer of maxRecordBody bytes. */
    body: ArrayBuffer;
    bodyLength: number;
    where: Where;
  }
  const trailer = { offset: -1, body: new Uint8Array(0), frames: 0 };
  const bodyCapacity = maxRecordBody(segmentSize);
  // Record bodies make round trips to the workers and are read into again (no allocation per frame).
  const freeBodies: ArrayBuffer[] = [];

  /** Reads records in order and checks their structure; stops after reading the trailer record. */
  async function* readFrames(): AsyncGenerator<FrameJob> {
    for (let index = 0; ; index++) {
      const offset = reader.offset;
      const prefix = Buffer.from(await reader.read(RECORD_PREFIX_LENGTH));
      if (prefix.length === 0) {
        const what = index === 0 ? 'object ends right after the header, without frames or trailer' : `object ends after frame ${index - 1} without a trailer`;
        throw fail('EFORMAT', { ...where, offset }, what, HINT.truncated);
      }
      if (prefix.length < RECORD_PREFIX_LENGTH) {
        throw fail('EFORMAT', { ...where, frame: index, offset }, `object ends inside a record prefix (${prefix.length} of ${RECORD_PREFIX_LENGTH} bytes)`, HINT.truncated);
      }
      const record = parseRecordPrefix(prefix);
      if (record.kind === RECORD_TRAILER) {
        if (index === 0) throw fail('EFORMAT', { ...where, offset }, 'a trailer follows the header directly; an object has at least one frame', HINT.corrupt);
        if (!record.nonce.equals(TRAILER_NONCE)) {
          throw fail('EAUTH', { ...where, offset }, `trailer nonce is ${record.nonce.toString('hex')}, expected ${TRAILER_NONCE.toString('hex')}`, HINT.corrupt);
        }
        const expectedLength = trailerLength(version) + TAG_LENGTH;
        if (record.bodyLength !== expectedLength) {
          throw fail('EFORMAT', { ...where, offset: offset + 12 }, `trailer length is ${record.bodyLength}, expected ${expectedLength}`, HINT.corrupt);
        }
        const body = await reader.read(record.bodyLength);
        if (body.length < record.bodyLength) {
          throw fail('EFORMAT', { ...where, offset: reader.offset }, `object ends inside the trailer (${body.length} of ${record.bodyLength} bytes)`, HINT.truncated);
        }
        Object.assign(trailer, { offset, body, frames: index });
        return;
      }
      const frameWhere: Where = { ...where, frame: index, offset };
      if (record.kind !== RECORD_FRAME) {
        throw fail('EFORMAT', frameWhere, `record kind ${record.kind} is unknown (nonce bytes 0..3 must be 0 for a frame or 1 for the trailer)`, HINT.corrupt);
      }
      if (record.counter !== BigInt(index)) {
        throw fail('EAUTH', frameWhere, `frame carries index ${record.counter} where frame ${index} belongs: frames were reordered, duplicated, dropped or spliced from another object`, HINT.corrupt);
      }
      if (record.bodyLength <= TAG_LENGTH || record.bodyLength > bodyCapacity) {
        throw fail('EFORMAT', { ...frameWhere, offset: offset + 12 }, `frame length ${record.bodyLength} is outside ${TAG_LENGTH + 1}..${bodyCapacity} for segment size ${segmentSize}`, HINT.corrupt);
      }
      const body = freeBodies.pop() ?? newBuffer(bodyCapacity);
      const got = await reader.readInto(new Uint8Array(body, 0, record.bodyLength));
      if (got < record.bodyLength) {
        throw fail('EFORMAT', { ...frameWhere, offset: reader.offset }, `object ends inside frame ${index} (${got} of ${record.bodyLength} bytes)`, HINT.truncated);
      }
      // Whether this frame is the final one is known from the next record's kind (a frame or the trailer).
      const next = await reader.peek(4);
      if (next.length < 4) {
        throw fail('EFORMAT', { ...where, offset: reader.offset }, `object ends after frame ${index} without a trailer`, HINT.truncated);
      }
      yield { index, final: next.readUInt32BE(0) === RECORD_TRAILER, body, bodyLength: record.bodyLength, where: frameWhere };
    }
  }

  // Plaintext buffers go to the consumer, who owns them; one the consumer hands back (release) is reused.
  const emitted = new WeakSet<ArrayBufferLike>();
  const freeOutputs: (ArrayBuffer | SharedArrayBuffer)[] = [];
  // Plaintext in SharedArrayBuffers (every placement but 'here-moved'): the consumer and a hashing worker may read
  // one at once; a buffer is reused once both are done with it.
  const placement = options.plaintextHash ?? 'adaptive';
  const hasher = placement === 'here-moved' ? null : new PlaintextSha256(placement, () => new PinnedSha256(pool), pool.size);
  const hashing = new WeakMap<ArrayBufferLike, Promise<void>>();
  let finished = false;

  const openFrame = (job: FrameJob): Promise<OpenResult> => {
    const output = freeOutputs.pop() ?? (hasher === null ? newBuffer(segmentSize) : takeShared(segmentSize));
    return pool
      .run(
        { kind: 'open', key: keys.frameKey, headerDigest, index: job.index, final: job.final, segmentSize, body: job.body, bodyLength: job.bodyLength, output },
        output instanceof ArrayBuffer ? [job.body, output] : [job.body],
      )
      .then(
        (result) => {
          freeBodies.push(result.body);
          return result;
        },
        (err: unknown) => {
          const hint = err instanceof TaskError && err.code === 'EAUTH' ? HINT.corrupt : HINT.bug;
          throw fromTaskError(err, job.where, hint);
        },
      );
  };

  async function* body(): AsyncGenerator<Buffer, DecodeResult> {
    const plainHash = hasher === null ? createHash('sha256') : null;
    let plaintextLength = 0;
    let compressedLength = 0;
    let lastHashed: Promise<void> = Promise.resolve();
    activeDecodes++;
    try {
      for await (const r of mapOrdered(readFrames(), openFrame, maxInFlight)) {
        emitted.add(r.plaintext);
        const plain = Buffer.from(r.plaintext, 0, r.length);
        if (hasher !== null) {
          const hashed = hasher.update(r.plaintext, r.length).catch((err: unknown) => {
            throw fromTaskError(err, where, HINT.bug);
          });
          hashed.catch(() => undefined); // awaited below, one frame later
          hashing.set(r.plaintext, hashed);
          // The hash runs at most one frame behind: that bounds the buffers it holds. The first two frames are
          // held instead until it is decided where the hash runs (plaintext-hash.ts): at the third, or at the end.
          if (hasher.placement !== 'undecided') await lastHashed;
          lastHashed = hashed;
        } else {
          plainHash?.update(plain);
        }
        plaintextLength += r.length;
        compressedLength += r.compressedLength;
        // Where the hash runs is decided from one frame: this thread's busy time while its consumer has it.
        const weighed = hasher?.weighing === true ? performance.eventLoopUtilization() : null;
        yield plain;
        if (weighed !== null) hasher!.settle(performance.eventLoopUtilization(weighed).active, r.busyMs);
      }
      const frames = trailer.frames;
      const trailerWhere: Where = { ...where, offset: trailer.offset };
      const trailerPlain = openRecordBody(keys.frameKey, TRAILER_NONCE, trailerAad(headerDigest, frames), trailer.body);
      if (trailerPlain === undefined) {
        throw fail('EAUTH', trailerWhere, `trailer failed authentication after ${frames} frames (modified, or taken from another object)`, HINT.corrupt);
      }
      if (!(await reader.atEnd())) {
        throw fail('EFORMAT', { ...where, offset: reader.offset }, 'unexpected bytes after the trailer', HINT.corrupt);
      }
      let fields;
      try {
        fields = decodeTrailer(trailerPlain, version);
      } catch (err) {
        throw fail('EFORMAT', trailerWhere, (err as Error).message, HINT.bug);
      }
      // Asked for first: it lets go of frames still held for the choice, which lastHashed may be.
      const digested = hasher === null ? Promise.resolve(plainHash!.digest()) : hasher.digest();
      digested.catch(() => undefined);
      await lastHashed;
      const plaintextSha256 = await digested.catch((err: unknown) => {
        throw fromTaskError(err, where, HINT.bug);
      });
      const mismatches: string[] = [];
      if (fields.frameCount !== frames) mismatches.push(`${frames} frames read, trailer says ${fields.frameCount}`);
      if (fields.plaintextLength !== plaintextLength) mismatches.push(`plaintext length ${plaintextLength}, trailer says ${fields.plaintextLength}`);
      if (fields.compressedLength !== compressedLength) mismatches.push(`compressed length ${compressedLength}, trailer says ${fields.compressedLength}`);
      if (!fields.plaintextSha256.equals(plaintextSha256)) {
        mismatches.push(`plaintext SHA-256 ${plaintextSha256.toString('hex')}, trailer says ${fields.plaintextSha256.toString('hex')}`);
      }
      if (mismatches.length > 0) throw fail('EVERIFY', trailerWhere, `decoded data disagrees with the trailer: ${mismatches.join('; ')}`, HINT.bug);
      return {
        frames,
        plaintextLength,
        plaintextSha256: plaintextSha256.toString('hex'),
        compressedLength,
        objectLength: reader.offset,
        objectSha256: reader.hashing ? reader.digest().toString('hex') : null,
        headerSha256: options.object.headerSha256,
        formatVersion: version,
        planningSha256: fields.planningSha256?.toString('hex') ?? null,
        plaintextHashChoice: hasher?.choice ?? null,
      };
    } finally {
      finished = true;
      keys.dispose();
      hasher?.dispose();
      for (const b of [...freeBodies.splice(0), ...freeOutputs.splice(0)]) {
        if (b instanceof SharedArrayBuffer) giveBackShared(b);
        else release(new Uint8Array(b));
      }
      if (--activeDecodes === 0) spareShared.clear();
      await reader.close().catch(() => undefined);
    }
  }

  const releaseChunk = (chunk: Uint8Array): void => {
    const buffer = chunk.buffer;
    if (!emitted.delete(buffer) || buffer.byteLength !== segmentSize) return;
    if (buffer instanceof SharedArrayBuffer) {
      const hashed = hashing.get(buffer) ?? Promise.resolve();
      hashing.delete(buffer);
      // Reused only once the hashing worker no longer reads it (a failed hash fails the decode; the buffer is dropped).
      hashed.then(() => {
        if (!finished && freeOutputs.length < maxInFlight) freeOutputs.push(buffer);
        else giveBackShared(buffer);
      }, () => undefined);
      return;
    }
    if (!(buffer instanceof ArrayBuffer)) return;
    if (freeOutputs.length < maxInFlight) freeOutputs.push(buffer);
    else release(new Uint8Array(buffer));
  };
  return streamWithResult(`archive object ${JSON.stringify(objectName)}`, body, releaseChunk);
}

/**
 * SharedArrayBuffers of finished decodes, kept for the decodes that run meanwhile or start next (a restore decodes
 * two files at a time, file after file): they cannot be freed at once as ArrayBuffers can (their memory goes at
 * a garbage collection), and reusing them saves faulting fresh pages in. Bounded: at most SPARE_SHARED of each
 * size, and dropped when no decode is running and none is held (holdDecodeBuffers), so a long-running process
 * (the agent adopting an object) does not hold them.
 */
const spareShared = new Map<number, SharedArrayBuffer[]>();
const SPARE_SHARED = 8;
let activeDecodes = 0;

/**
 * Keeps the spare decode buffers between the decodes of a series (a restore's files, one after another) until
 * the returned function is called. Without it they are dropped whenever no decode happens to run (both files of
 * a restore's window being synced), and the next decode allocates new ones while the old wait for a garbage
 * collection: an OLTP series of 14 small binlogs peaked 60-100 MiB higher (docs/PERFORMANCE.md §8.1).
 */
export function holdDecodeBuffers(): () => void {
  activeDecodes++;
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    if (--activeDecodes === 0) spareShared.clear();
  };
}

function takeShared(size: number): SharedArrayBuffer {
  return spareShared.get(size)?.pop() ?? new SharedArrayBuffer(size);
}

function giveBackShared(b: SharedArrayBuffer): void {
  if (activeDecodes === 0) return;
  const spare = spareShared.get(b.byteLength) ?? [];
  if (spare.length < SPARE_SHARED && !spare.includes(b)) spare.push(b);
  spareShared.set(b.byteLength, spare);
}

/** readHeader + decodeObject for callers that already hold the data key. */
export async function openAndDecode(
  source: ByteSource,
  options: Omit<DecodeOptions, 'object'> & { objectName: string },
): Promise<DecodedObject> {
  const object = await readHeader(source, { objectName: options.objectName });
  return decodeObject({ ...options, object });
}
