/**
 * Time seam of the controller: the wall clock (for conditions and status times), a monotonic-enough millisecond
 * clock and timers (for the work queue, leader election and polling). Tests pass a manual clock.
 */
import type { Clock } from '../api/conditions.ts';

export interface Timers extends Clock {
  /** Milliseconds since the epoch, as now().getTime(). */
  nowMs(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** Resolves after ms, or at once (without throwing) when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface TimerHandle {
  readonly id: unknown;
}

export const systemTimers: Timers = {
  now: () => new Date(),
  nowMs: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { id: t };
  },
  clearTimeout(handle) {
    clearTimeout(handle.id as NodeJS.Timeout);
  },
  sleep(ms, signal) {
    return new Promise((resolve) => {
      if (signal?.aborted === true) {
        resolve();
        return;
      }
      const onAbort = () => {
        clearTimeout(t);
        resolve();
      };
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
};

/** A clock tests move by hand: timers fire, in order, when advance() passes their due time. */
export class ManualTimers implements Timers {
  #now: number;
  #seq = 0;
  readonly #due = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.parse('2025-02-01T10:00:00Z')) {
    this.#now = start;
  }

  now(): Date {
    return new Date(this.#now);
  }

  nowMs(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.#seq;
    this.#due.set(id, { at: this.#now + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.#due.delete(handle.id as number);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted === true) {
        resolve();
        return;
      }
      const handle = this.setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => {
        this.clearTimeout(handle);
        resolve();
      }, { once: true });
    });
  }

  /** Moves time forward, firing every timer due on the way in due order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#due) if (entry[1].at <= end && (next === undefined || entry[1].at < next[1].at)) next = entry;
      if (next === undefined) break;
      this.#due.delete(next[0]);
      this.#now = Math.max(this.#now, next[1].at);
      next[1].fn();
    }
    this.#now = end;
  }

  pending(): number {
    return this.#due.size;
  }
}
