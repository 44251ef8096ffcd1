/**
 * A pool of worker threads running segment tasks. Size defaults to the available parallelism. The pool
 * itself queues without limit: each encoder/decoder bounds how many of its segments are in flight, which
 * is what bounds memory. Idle workers are unref'ed so an idle pool never keeps the process alive.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { TaskError, type ResultOf, type Task, type TaskReply, type TaskResult } from './segment-tasks.ts';
import type { ErrorCode } from '../errors.ts';

interface Pending {
  task: Task;
  transfer: ArrayBuffer[];
  resolve: (r: TaskResult) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  current: Pending | undefined;
  /** Tasks only this worker may run (runPinned), before any of the shared queue. */
  pinned: Pending[];
}

/** Plain JavaScript, so workers do not load Node's TypeScript stripper (see segment-worker.js). */
const WORKER_URL = new URL('./segment-worker.js', import.meta.url);

/**
 * Workers hold almost no JS objects and, since they reuse their zstd contexts and scratch buffers and free what
 * node:crypto returns (segment-core.js), leave next to no garbage either: their old space holds ~5.5 MiB (Node's
 * worker bootstrap and the task modules), their young generation the few objects of a task. Small limits keep
 * V8 from growing their heaps lazily: measured on the archive bench (2026-12-04), 48 MiB old space and the
 * default young generation cost ~7 MiB more peak RSS than 16 and 1 at the same CPU time. Buffers do not count
 * toward the limits (64 MiB segments run fine).
 */
const WORKER_OLD_SPACE_MB = 16;
const WORKER_YOUNG_SPACE_MB = 1;

export interface PoolOptions {
  /** Number of worker threads; defaults to os.availableParallelism(). */
  size?: number;
}

export class SegmentPool {
  readonly size: number;
  #slots: Slot[] = [];
  #queue: Pending[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: PoolOptions = {}) {
    const size = options.size ?? availableParallelism();
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`pool size must be a positive integer, got ${size}`);
    this.size = size;
  }

  /** Runs `task` on a worker; the ArrayBuffers in `transfer` move to the worker and are unusable here after. */
  run<T extends Task>(task: T, transfer: ArrayBuffer[]): Promise<ResultOf<T>> {
    if (this.#closed) return Promise.reject(new TaskError('EINTERNAL', 'the segment worker pool is closed'));
    return new Promise<TaskResult>((resolve, reject) => {
      this.#queue.push({ task, transfer, resolve, reject });
      this.#dispatch();
    }) as Promise<ResultOf<T>>;
  }

  /**
   * Runs `task` on the pool's first worker, after the pinned tasks sent before it: for state that lives on one
   * thread from task to task (a hash, hashStep). The pinned worker also runs shared tasks when it has no pinned one.
   * If that worker is lost, its pinned tasks are rejected; later ones go to a fresh worker without that state.
   */
  runPinned<T extends Task>(task: T): Promise<ResultOf<T>> {
    if (this.#closed) return Promise.reject(new TaskError('EINTERNAL', 'the segment worker pool is closed'));
    const slot = this.#slots[0] ?? this.#spawn();
    return new Promise<TaskResult>((resolve, reject) => {
      slot.pinned.push({ task, transfer: [], resolve, reject });
      this.#dispatch();
    }) as Promise<ResultOf<T>>;
  }

  /**
   * Starts the worker threads now rather than on the first tasks, so their start-up (a new V8 isolate, loading
   * the task modules: tens of milliseconds) overlaps with the caller's own preparation (reading the first
   * segment, the header). Idle workers do not keep the process alive.
   */
  warm(): void {
    while (!this.#closed && this.#slots.length < this.size) this.#spawn();
  }

  /** Terminates the workers; queued and running tasks are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    const error = new TaskError('EINTERNAL', 'the segment worker pool was closed while the task was pending');
    for (const p of this.#queue.splice(0)) p.reject(error);
    const slots = this.#slots.splice(0);
    for (const s of slots) {
      s.current?.reject(error);
      for (const p of s.pinned.splice(0)) p.reject(error);
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      const pending = slot.current === undefined ? slot.pinned.shift() : undefined;
      if (pending !== undefined) this.#post(slot, pending);
    }
    while (this.#queue.length > 0) {
      let slot = this.#slots.find((s) => s.current === undefined);
      if (slot === undefined) {
        if (this.#slots.length >= this.size) return;
        slot = this.#spawn();
      }
      const pending = this.#queue.shift();
      if (pending === undefined) return;
      this.#post(slot, pending);
    }
  }

  #post(slot: Slot, pending: Pending): void {
    slot.current = pending;
    slot.worker.ref();
    slot.worker.postMessage({ id: this.#nextId++, task: pending.task }, pending.transfer);
  }

  #spawn(): Slot {
    const worker = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: WORKER_OLD_SPACE_MB, maxYoungGenerationSizeMb: WORKER_YOUNG_SPACE_MB } });
    const slot: Slot = { worker, current: undefined, pinned: [] };
    worker.on('message', (reply: TaskReply) => {
      const pending = slot.current;
      slot.current = undefined;
      worker.unref();
      if (pending !== undefined) {
        if (reply.ok) pending.resolve(reply.result);
        else pending.reject(new TaskError(reply.code as ErrorCode, reply.reason));
      }
      this.#dispatch();
    });
    const lost = (why: string): void => {
      const index = this.#slots.indexOf(slot);
      if (index < 0) return;
      this.#slots.splice(index, 1);
      const error = new TaskError('EINTERNAL', `a segment worker thread ${why}`);
      slot.current?.reject(error);
      slot.current = undefined;
      for (const p of slot.pinned.splice(0)) p.reject(error);
      if (!this.#closed) this.#dispatch();
    };
    worker.on('error', (err: Error) => lost(`failed: ${err.message}`));
    worker.on('exit', (code) => lost(`exited with code ${code}`));
    // After the listeners: attaching a 'message' listener refs the worker's port again.
    worker.unref();
    this.#slots.push(slot);
    return slot;
  }
}

let shared: SegmentPool | undefined;

/** Process-wide pool used when a caller passes none. */
export function sharedPool(): SegmentPool {
  shared ??= new SegmentPool();
  return shared;
}

/**
 * Sizes the process-wide pool before its first use; no effect once it exists (its workers are not moved). For a
 * command that knows how much parallelism it can use: each worker isolate costs ~11-15 MiB of RSS.
 */
export function sizeSharedPool(size: number): void {
  shared ??= new SegmentPool({ size });
}
