/**
 * Segment tasks: the work posted to the worker threads and what comes back. The task functions (seal, open,
 * compress, decompress) are plain functions, testable without threads; they live in segment-core.js, plain
 * JavaScript like everything the workers load (segment-worker.js says why), and are re-exported here with
 * the shapes declared below.
 * Buffers travel as whole ArrayBuffers so they can be transferred rather than copied; the big ones make
 * round trips and are reused.
 */
export { compress, decompress, hashStep, open, ownArrayBuffer, resultTransferList, runTask, seal, TaskError } from './segment-core.js';

export interface SealTask {
  kind: 'seal';
  key: Uint8Array;
  headerDigest: Uint8Array;
  index: number;
  final: boolean;
  level: number;
  /** Store the segment (zstd's fastest level) when `level` would gain less than 1/32 on it (zstd-adapt.js). */
  adapt?: boolean;
  segment: ArrayBuffer;
  length: number;
  verify: boolean;
}
export interface SealResult {
  kind: 'seal';
  /** The whole record: nonce || u32 length || ciphertext || tag. */
  record: ArrayBuffer;
  compressedLength: number;
  /** The segment was stored (adapt) rather than compressed at the task's level. */
  stored: boolean;
  /** The segment was compressed at the task's level with the small match table (adapt, zstd-adapt.js). */
  smallTable: boolean;
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
  /** ciphertext || tag in its first `bodyLength` bytes (default: all of it). Handed back for reuse. */
  body: ArrayBuffer;
  bodyLength?: number;
  /** Where the plaintext goes (at least segmentSize bytes); default: a new buffer. A SharedArrayBuffer is shared, not moved. */
  output?: ArrayBuffer | SharedArrayBuffer;
}
export interface OpenResult {
  kind: 'open';
  /** The output buffer; the plaintext is its first `length` bytes. */
  plaintext: ArrayBuffer | SharedArrayBuffer;
  length: number;
  compressedLength: number;
  body: ArrayBuffer;
  /** The worker's time opening the frame (ms): the decoder weighs it against its own (plaintext-hash.ts). */
  busyMs: number;
}

export interface CompressTask {
  kind: 'compress';
  index: number;
  level: number;
  segment: ArrayBuffer;
  length: number;
  verify: boolean;
  /** Where the zstd frame goes (at least zstdCompressBound(length) bytes); default: a new buffer. */
  output?: ArrayBuffer;
}
export interface CompressResult {
  kind: 'compress';
  /** The output buffer; the zstd frame is its first `length` bytes. */
  compressed: ArrayBuffer;
  length: number;
  segment: ArrayBuffer;
}

export interface DecompressTask {
  kind: 'decompress';
  index: number;
  maxLength: number;
  /** The zstd frame, in the first `frameLength` bytes (default: all of it). Handed back for reuse. */
  frame: ArrayBuffer;
  frameLength?: number;
  /** Where the plaintext goes (at least maxLength bytes); default: a new buffer. */
  output?: ArrayBuffer;
}
export interface DecompressResult {
  kind: 'decompress';
  plaintext: ArrayBuffer;
  length: number;
  frame: ArrayBuffer;
}

/**
 * One step of a SHA-256 kept on a worker between tasks (pool.runPinned sends every step of a hash to the same
 * worker, in order): `update` hashes the first `length` bytes of a SharedArrayBuffer the sender also reads;
 * `digest` ends the hash and returns it; `drop` ends it without.
 */
export type HashTask =
  | { kind: 'hash'; op: 'update'; hash: number; buffer: SharedArrayBuffer | ArrayBuffer; length: number }
  | { kind: 'hash'; op: 'digest' | 'drop'; hash: number };
export interface HashResult {
  kind: 'hash';
  /** The digest (op `digest`), else null. */
  digest: Uint8Array | null;
}

export type Task = SealTask | OpenTask | CompressTask | DecompressTask | HashTask;
export type TaskResult = SealResult | OpenResult | CompressResult | DecompressResult | HashResult;
export type ResultOf<T extends Task> = T extends SealTask
  ? SealResult
  : T extends OpenTask
    ? OpenResult
    : T extends CompressTask
      ? CompressResult
      : T extends HashTask
        ? HashResult
        : DecompressResult;

/** A message to a worker. */
export interface TaskRequest {
  id: number;
  task: Task;
}

/** A worker's answer. */
export type TaskReply =
  | { id: number; ok: true; result: TaskResult }
  | { id: number; ok: false; code: string; reason: string };
