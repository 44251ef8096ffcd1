/**
 * The work done per segment on a worker thread, as plain functions (testable without threads).
 * seal:     compress + encrypt one segment and, when asked, verify the frame by decrypting and
 *           decompressing it again and comparing with the source bytes;
 * open:     decrypt + decompress one frame and check its length against the segment size;
 * compress: compress (+ verify) only, for the openssl compatibility mode, whose CBC layer is serial;
 * decompress: one zstd frame, for decoding that mode.
 * Buffers travel as whole ArrayBuffers so they can be transferred rather than copied.
 */
import type { ErrorCode } from '../errors.ts';
import { frameAad, frameNonce, openRecordBody, sealRecord } from './frame.ts';
import { compressSegment, decompressSegment } from './zstd.ts';
import { zstdFrameLength } from './zstd-frames.ts';
import { RECORD_PREFIX_LENGTH } from './constants.ts';

export interface SealTask {
  kind: 'seal';
  key: Uint8Array;
  headerDigest: Uint8Array;
  index: number;
  final: boolean;
  level: number;
  segment: ArrayBuffer;
  length: number;
  verify: boolean;
}
export interface SealResult {
  kind: 'seal';
  record: ArrayBuffer;
  compressedLength: number;
  /** The source segment, handed back for reuse. */
  segment: ArrayBuffer;
}

export interface OpenTask {
  kind: 'open';
  key: Uint8Array;
  headerDigest: Uint8Array;
  index: number;
  final: boolean;
  segmentSize: number;
  body: ArrayBuffer;
}
export interface OpenResult {
  kind: 'open';
  plaintext: ArrayBuffer;
  length: number;
  compressedLength: number;
}

export interface CompressTask {
  kind: 'compress';
  index: number;
  level: number;
  segment: ArrayBuffer;
  length: number;
  verify: boolean;
}
export interface CompressResult {
  kind: 'compress';
  compressed: ArrayBuffer;
  length: number;
  segment: ArrayBuffer;
}

export interface DecompressTask {
  kind: 'decompress';
  index: number;
  maxLength: number;
  frame: ArrayBuffer;
}
export interface DecompressResult {
  kind: 'decompress';
  plaintext: ArrayBuffer;
  length: number;
}

export type Task = SealTask | OpenTask | CompressTask | DecompressTask;
export type TaskResult = SealResult | OpenResult | CompressResult | DecompressResult;
export type ResultOf<T extends Task> = T extends SealTask
  ? SealResult
  : T extends OpenTask
    ? OpenResult
    : T extends CompressTask
      ? CompressResult
      : DecompressResult;

/** A failure with a code; the caller adds the object name and offset. */
export class TaskError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, reason: string) {
    super(reason);
    this.code = code;
  }
}

/** The ArrayBuffer of `b` when `b` covers all of it, otherwise a copy that does (pooled buffers cannot move). */
export function ownArrayBuffer(b: Uint8Array): ArrayBuffer {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return b.buffer;
  const copy = new Uint8Array(new ArrayBuffer(b.byteLength));
  copy.set(b);
  return copy.buffer;
}

/** Decompresses `data`, which must be exactly one zstd frame (node:zlib would ignore anything after it). */
function decompressOneFrame(data: Uint8Array, maxLength: number): Buffer {
  const frameLength = zstdFrameLength(data);
  if (frameLength !== data.length) throw new TypeError(`${data.length - frameLength} bytes follow the zstd frame`);
  return decompressSegment(data, maxLength, maxLength);
}

function verifyDecompressed(source: Uint8Array, compressed: Uint8Array, index: number): void {
  let again: Buffer;
  try {
    again = decompressOneFrame(compressed, source.length);
  } catch (err) {
    throw new TaskError('EVERIFY', `segment ${index}: the frame just compressed does not decompress (${(err as Error).message})`);
  }
  if (!again.equals(source)) {
    throw new TaskError('EVERIFY', `segment ${index}: decompressing the frame just written does not reproduce the ${source.length} source bytes`);
  }
}

export function seal(task: SealTask): SealResult {
  const source = new Uint8Array(task.segment, 0, task.length);
  try {
    const compressed = compressSegment(source, task.level);
    const aad = frameAad(task.headerDigest, task.index, task.final);
    const nonce = frameNonce(task.index);
    const record = sealRecord(task.key, nonce, aad, compressed);
    if (task.verify) {
      const opened = openRecordBody(task.key, nonce, aad, record.subarray(RECORD_PREFIX_LENGTH));
      if (opened === undefined) throw new TaskError('EVERIFY', `segment ${task.index}: the frame just encrypted fails authentication`);
      verifyDecompressed(source, opened, task.index);
    }
    return { kind: 'seal', record: record.buffer as ArrayBuffer, compressedLength: compressed.length, segment: task.segment };
  } finally {
    task.key.fill(0);
  }
}

export function open(task: OpenTask): OpenResult {
  try {
    const body = new Uint8Array(task.body);
    const compressed = openRecordBody(task.key, frameNonce(task.index), frameAad(task.headerDigest, task.index, task.final), body);
    if (compressed === undefined) throw new TaskError('EAUTH', 'failed authentication (AES-256-GCM tag mismatch)');
    // Non-final frames hold exactly one segment; the final frame 1..S bytes (0 only when it is the only frame).
    const min = task.final ? (task.index === 0 ? 0 : 1) : task.segmentSize;
    let plain: Buffer;
    try {
      plain = decompressOneFrame(compressed, task.segmentSize);
    } catch (err) {
      throw new TaskError('EFORMAT', `authenticated frame payload is not a valid zstd frame of at most ${task.segmentSize} bytes (${(err as Error).message})`);
    }
    if (plain.length < min || plain.length > task.segmentSize) {
      throw new TaskError('EFORMAT', `authenticated frame decompresses to ${plain.length} bytes, expected ${task.final ? `${min}..${task.segmentSize}` : task.segmentSize} for a ${task.final ? 'final' : 'non-final'} frame`);
    }
    return { kind: 'open', plaintext: ownArrayBuffer(plain), length: plain.length, compressedLength: compressed.length };
  } finally {
    task.key.fill(0);
  }
}

export function compress(task: CompressTask): CompressResult {
  const source = new Uint8Array(task.segment, 0, task.length);
  const compressed = compressSegment(source, task.level);
  if (task.verify) verifyDecompressed(source, compressed, task.index);
  return { kind: 'compress', compressed: ownArrayBuffer(compressed), length: compressed.length, segment: task.segment };
}

export function decompress(task: DecompressTask): DecompressResult {
  let plain: Buffer;
  try {
    plain = decompressOneFrame(new Uint8Array(task.frame), task.maxLength);
  } catch (err) {
    throw new TaskError('EFORMAT', `zstd frame ${task.index} does not decompress to at most ${task.maxLength} bytes (${(err as Error).message})`);
  }
  return { kind: 'decompress', plaintext: ownArrayBuffer(plain), length: plain.length };
}

export function runTask(task: Task): TaskResult {
  switch (task.kind) {
    case 'seal':
      return seal(task);
    case 'open':
      return open(task);
    case 'compress':
      return compress(task);
    case 'decompress':
      return decompress(task);
  }
}

/** ArrayBuffers in a result that can be moved to the receiving thread. */
export function resultTransferList(r: TaskResult): ArrayBuffer[] {
  switch (r.kind) {
    case 'seal':
      return [r.record, r.segment];
    case 'open':
      return [r.plaintext];
    case 'compress':
      return r.compressed === r.segment ? [r.compressed] : [r.compressed, r.segment];
    case 'decompress':
      return [r.plaintext];
  }
}
