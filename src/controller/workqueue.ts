/**
 * A rate-limited work queue with client-go's semantics:
 * - an item is in the queue at most once (adds while queued are merged), and never handed to two workers: an item
 *   added while it is being processed is queued again when the worker calls done();
 * - addAfter() delays an item (the earliest pending time wins); addRateLimited() delays it by the limiter: the
 *   larger of a per-item exponential backoff (reset by forget()) and an overall token bucket;
 * - shutDown() wakes every waiting worker with undefined.
 */
import { systemTimers, type TimerHandle, type Timers } from './clock.ts';

export interface RateLimiter<K> {
  /** How long to wait before the item may be processed again. */
  when(item: K): number;
  forget(item: K): void;
  retries(item: K): number;
}

/** base * 2^failures, capped (client-go's ItemExponentialFailureRateLimiter). */
export class ItemExponentialLimiter<K> implements RateLimiter<K> {
  readonly #failures = new Map<K, number>();
  readonly #baseMs: number;
  readonly #maxMs: number;

  constructor(baseMs: number, maxMs: number) {
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
  }

  when(item: K): number {
    const n = this.#failures.get(item) ?? 0;
    this.#failures.set(item, n + 1);
    return Math.min(this.#maxMs, this.#baseMs * 2 ** n);
  }

  forget(item: K): void {
    this.#failures.delete(item);
  }

  retries(item: K): number {
    return this.#failures.get(item) ?? 0;
  }
}

/** An overall token bucket: qps tokens a second, up to burst; each when() reserves one (client-go's BucketRateLimiter). */
export class BucketLimiter<K> implements RateLimiter<K> {
  readonly #qps: number;
  readonly #burst: number;
  readonly #timers: Timers;
  #tokens: number;
  #last: number;

  constructor(qps: number, burst: number, timers: Timers = systemTimers) {
    this.#qps = qps;
    this.#burst = burst;
    this.#timers = timers;
    this.#tokens = burst;
    this.#last = timers.nowMs();
  }

  when(_item: K): number {
    const now = this.#timers.nowMs();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#qps);
    this.#last = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens / this.#qps) * 1000);
  }

  forget(_item: K): void { /* the bucket is not per item */ }

  retries(_item: K): number {
    return 0;
  }
}

/** The largest delay of several limiters (client-go's MaxOfRateLimiter). */
export class MaxOfLimiter<K> implements RateLimiter<K> {
  readonly #limiters: RateLimiter<K>[];

  constructor(...limiters: RateLimiter<K>[]) {
    this.#limiters = limiters;
  }

  when(item: K): number {
    return Math.max(0, ...this.#limiters.map((l) => l.when(item)));
  }

  forget(item: K): void {
    for (const l of this.#limiters) l.forget(item);
  }

  retries(item: K): number {
    return Math.max(0, ...this.#limiters.map((l) => l.retries(item)));
  }
}

/** The controller's default: 500 ms doubling to 5 min per item, 10 items a second overall with bursts of 100. */
export function defaultLimiter<K>(timers: Timers = systemTimers): RateLimiter<K> {
  return new MaxOfLimiter<K>(new ItemExponentialLimiter<K>(500, 5 * 60_000), new BucketLimiter<K>(10, 100, timers));
}

export interface QueueMetrics {
  adds(): void;
  depth(n: number): void;
  retries(): void;
  /** Seconds an item waited in the queue before a worker took it. */
  latency(seconds: number): void;
}

export class WorkQueue<K> {
  readonly #queue: K[] = [];
  readonly #dirty = new Set<K>();
  readonly #processing = new Set<K>();
  readonly #waiting = new Map<K, { at: number; handle: TimerHandle }>();
  readonly #addedAt = new Map<K, number>();
  readonly #getters: Array<(item: K | undefined) => void> = [];
  readonly #limiter: RateLimiter<K>;
  readonly #timers: Timers;
  readonly #metrics: QueueMetrics | undefined;
  #shuttingDown = false;

  constructor(options: { limiter?: RateLimiter<K>; timers?: Timers; metrics?: QueueMetrics } = {}) {
    this.#timers = options.timers ?? systemTimers;
    this.#limiter = options.limiter ?? defaultLimiter<K>(this.#timers);
    this.#metrics = options.metrics;
  }

  add(item: K): void {
    if (this.#shuttingDown || this.#dirty.has(item)) return;
    this.#metrics?.adds();
    this.#dirty.add(item);
    if (!this.#addedAt.has(item)) this.#addedAt.set(item, this.#timers.nowMs());
    if (this.#processing.has(item)) return;
    const getter = this.#getters.shift();
    if (getter !== undefined) this.#hand(item, getter);
    else {
      this.#queue.push(item);
      this.#metrics?.depth(this.#queue.length);
    }
  }

  #hand(item: K, getter: (item: K | undefined) => void): void {
    this.#dirty.delete(item);
    this.#processing.add(item);
    const added = this.#addedAt.get(item);
    this.#addedAt.delete(item);
    if (added !== undefined) this.#metrics?.latency((this.#timers.nowMs() - added) / 1000);
    getter(item);
  }

  /** Adds the item after ms; an earlier pending addAfter of the same item wins. */
  addAfter(item: K, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) {
      this.add(item);
      return;
    }
    const at = this.#timers.nowMs() + ms;
    const existing = this.#waiting.get(item);
    if (existing !== undefined) {
      if (existing.at <= at) return;
      this.#timers.clearTimeout(existing.handle);
    }
    const handle = this.#timers.setTimeout(() => {
      this.#waiting.delete(item);
      this.add(item);
    }, ms);
    this.#waiting.set(item, { at, handle });
  }

  addRateLimited(item: K): void {
    this.#metrics?.retries();
    this.addAfter(item, this.#limiter.when(item));
  }

  forget(item: K): void {
    this.#limiter.forget(item);
  }

  numRequeues(item: K): number {
    return this.#limiter.retries(item);
  }

  /** The next item, or undefined once the queue shuts down (queued items are then dropped: a new leader relists). */
  get(): Promise<K | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    if (this.#queue.length > 0) {
      const item = this.#queue.shift() as K;
      this.#metrics?.depth(this.#queue.length);
      return new Promise((resolve) => this.#hand(item, resolve));
    }
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** The worker finished the item; if it was added meanwhile, it is queued again. */
  done(item: K): void {
    this.#processing.delete(item);
    if (this.#dirty.has(item)) {
      const getter = this.#getters.shift();
      if (getter !== undefined) this.#hand(item, getter);
      else {
        this.#queue.push(item);
        this.#metrics?.depth(this.#queue.length);
      }
    }
  }

  len(): number {
    return this.#queue.length;
  }

  /** Items delayed by addAfter/addRateLimited, not yet queued. */
  delayed(): number {
    return this.#waiting.size;
  }

  isProcessing(item: K): boolean {
    return this.#processing.has(item);
  }

  shutDown(): void {
    this.#shuttingDown = true;
    for (const w of this.#waiting.values()) this.#timers.clearTimeout(w.handle);
    this.#waiting.clear();
    for (const g of this.#getters.splice(0)) g(undefined);
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }
}
