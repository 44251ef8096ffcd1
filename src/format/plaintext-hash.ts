/**
 * The decoder's plaintext SHA-256, hashed where it costs the decode's wall clock least. The digest is one
 * sequential hash over the whole binlog, so it runs on one thread: the decoding thread, or the pool's pinned
 * worker (pinned-hash.ts). Which one is faster depends on the data: on a binlog of small OLTP events the
 * decoding thread's consumer (the event walk) is the busiest thread and the hash belongs on the worker; on one
 * of large row events the consumer is nearly idle while the worker decrypts and decompresses, and hashing here
 * takes a third of the worker's load off it (docs/PERFORMANCE.md 8.1, session 11).
 *
 * 'adaptive' weighs the second frame (the first also pays for the consumer's code warming up): the first two
 * are hashed here (timed), and the decoder reports how long its thread was busy while the consumer had the second
 * one and how long the worker took to open it. The choice is made when a third frame arrives: an object of one or
 * two frames is hashed here whole. If the hash moves to the worker, the worker hashes the first two frames again
 * before any other (their buffers are held until then), so the digest covers every byte once, in order.
 */
import { createHash, type Hash } from 'node:crypto';
import type { PinnedSha256 } from './pinned-hash.ts';

export type HashPlacement = 'here' | 'worker' | 'adaptive';

/**
 * Hash here when this thread, hashing as well, is still no busier per frame than the workers opening frames
 * (each of `workers` opens one frame at a time); else on a worker, which leaves this thread only its consumer.
 */
export function hashHere(costs: { consumerMs: number; hashMs: number; openMs: number; workers: number }): boolean {
  return costs.consumerMs + costs.hashMs <= costs.openMs / Math.max(1, costs.workers);
}

const done = Promise.resolve();

/** Frames hashed here before the choice; the last of them is the one weighed. */
const WEIGHED_FRAMES = 2;

interface Held { buffer: SharedArrayBuffer | ArrayBuffer; length: number; resolve: () => void; reject: (err: unknown) => void }

export class PlaintextSha256 {
  readonly #pinned: () => PinnedSha256;
  readonly #workers: number;
  #state: 'undecided' | 'here' | 'worker';
  #here: Hash | null = null;
  #worker: PinnedSha256 | null = null;
  #hashMs = 0;
  #weighed: { consumerMs: number; openMs: number } | null = null;
  #choice: 'here' | 'worker' | null = null;
  /** The frames hashed here so far, held for the worker until the choice is made. */
  #held: Held[] = [];

  /** `pinned`: makes the worker-side hash (only called if the hash goes there); `workers`: the pool's size. */
  constructor(placement: HashPlacement, pinned: () => PinnedSha256, workers: number) {
    this.#pinned = pinned;
    this.#workers = workers;
    this.#state = placement === 'adaptive' ? 'undecided' : placement;
    if (placement === 'worker') this.#worker = pinned();
    else this.#here = createHash('sha256');
  }

  /** The frame just given to update is the one to weigh: the decoder measures its consumer and calls settle. */
  get weighing(): boolean {
    return this.#state === 'undecided' && this.#held.length === WEIGHED_FRAMES && this.#weighed === null;
  }

  /** Where the hash runs: 'undecided' until a third frame arrives. */
  get placement(): 'undecided' | 'here' | 'worker' {
    return this.#state;
  }

  /** What weighing a frame chose; null when the placement was told, or the object ended before a choice. */
  get choice(): 'here' | 'worker' | null {
    return this.#choice;
  }

  /** Hashes the first `length` bytes of `buffer`, in call order; resolves once the buffer may be reused. */
  update(buffer: SharedArrayBuffer | ArrayBuffer, length: number): Promise<void> {
    if (this.#state === 'undecided' && this.#held.length === WEIGHED_FRAMES) this.#choose();
    if (this.#state === 'worker') return this.#worker!.update(buffer, length);
    const started = performance.now();
    this.#here!.update(new Uint8Array(buffer, 0, length));
    if (this.#state === 'here') return done;
    this.#hashMs = performance.now() - started;
    return new Promise<void>((resolve, reject) => this.#held.push({ buffer, length, resolve, reject }));
  }

  /** The weighed frame's costs: this thread's busy time while the consumer had it, and the worker's time to open it. */
  settle(consumerMs: number, openMs: number): void {
    if (this.weighing) this.#weighed = { consumerMs, openMs };
  }

  #choose(): void {
    const w = this.#weighed;
    const here = w === null || hashHere({ consumerMs: w.consumerMs, hashMs: this.#hashMs, openMs: w.openMs, workers: this.#workers });
    if (w !== null) this.#choice = here ? 'here' : 'worker';
    if (here) return this.#keepHere();
    const held = this.#held.splice(0);
    this.#state = 'worker';
    this.#here = null;
    const worker = this.#pinned();
    this.#worker = worker;
    // Each held frame settles once it and those before it are hashed: the decoder awaits only the last, and a
    // failure of an earlier one must reach it as that failure.
    const hashed: Promise<void>[] = [];
    for (const h of held) {
      hashed.push(worker.update(h.buffer, h.length));
      Promise.all(hashed).then(() => h.resolve(), h.reject);
    }
  }

  async digest(): Promise<Buffer> {
    if (this.#state === 'worker') return this.#worker!.digest();
    // Nothing left to weigh it for: what was hashed here is the whole object.
    if (this.#state === 'undecided') this.#keepHere();
    return this.#here!.digest();
  }

  #keepHere(): void {
    this.#state = 'here';
    for (const h of this.#held.splice(0)) h.resolve();
  }

  /** Frees a hash that will not be finished (a failed or abandoned decode); held frames are let go. */
  dispose(): void {
    for (const h of this.#held.splice(0)) h.resolve();
    this.#worker?.dispose();
  }
}
