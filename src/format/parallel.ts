/**
 * Plumbing shared by the encoders and the decoders: the bounded in-order parallel map that keeps memory
 * constant, its window size, and error context for reads of the plaintext.
 */
import { ArchiverError, withContext } from '../errors.ts';

/**
 * Starts work for up to `maxInFlight` items and yields results in input order. Items are read and started
 * as soon as the window has room, independently of when the consumer asks for the next result: the workers
 * stay fed while the consumer is busy (writing, uploading), and the consumer does not wait for reads. A
 * result counts against the window until the consumer asks for the next one (it may hold the result until
 * then). Reading stops while the window is full: that is the backpressure. A read error is thrown at the next
 * result the consumer asks for; a task error when its result is due. If the consumer stops early, reading
 * stops and the source is closed; tasks already started run to completion and their results are dropped.
 * With `holdResult` false a result leaves the window when it is yielded: for results that hold nothing the
 * window bounds (the encoder's records: its segment buffers are recycled when a task ends), so the next item
 * is read while the consumer writes this one.
 */
export async function* mapOrdered<T, R>(
  items: AsyncIterable<T>,
  start: (item: T) => Promise<R>,
  maxInFlight: number,
  holdResult = true,
): AsyncGenerator<R> {
  const iterator = items[Symbol.asyncIterator]();
  const window: Promise<R>[] = [];
  let readFailure: { error: unknown } | undefined;
  let readDone = false;
  /** The source ended or failed by itself (else it is closed when the consumer stops). */
  let exhausted = false;
  let stopped = false;
  let roomFreed: (() => void) | undefined;
  let itemAdded: (() => void) | undefined;
  const wakeReader = (): void => {
    roomFreed?.();
    roomFreed = undefined;
  };
  const wakeConsumer = (): void => {
    itemAdded?.();
    itemAdded = undefined;
  };

  const reader = (async (): Promise<void> => {
    try {
      for (;;) {
        while (window.length >= maxInFlight && !stopped) await new Promise<void>((resolve) => (roomFreed = resolve));
        if (stopped) return;
        const next = await iterator.next();
        if (next.done === true) {
          exhausted = true;
          return;
        }
        if (stopped) return;
        const running = start(next.value);
        running.catch(() => undefined); // awaited in order below; this only prevents an unhandled rejection meanwhile
        window.push(running);
        wakeConsumer();
      }
    } catch (err) {
      exhausted = true;
      readFailure = { error: err };
    } finally {
      readDone = true;
      wakeConsumer();
    }
  })();

  try {
    for (;;) {
      if (readFailure !== undefined) throw readFailure.error;
      const head = window[0];
      if (head === undefined) {
        if (readDone) return;
        await new Promise<void>((resolve) => (itemAdded = resolve));
        continue;
      }
      const result = await head;
      if (!holdResult) {
        void window.shift();
        wakeReader();
      }
      yield result;
      if (holdResult) {
        // The slot is free once the consumer asks for the next result: until then it may still hold this one.
        void window.shift();
        wakeReader();
      }
    }
  } finally {
    stopped = true;
    wakeReader();
    await reader;
    if (!exhausted) await iterator.return?.();
  }
}

/** Passes items through, giving errors of reading the plaintext the object's name (EBADINPUT unless already typed). */
export async function* guardReads<T>(items: AsyncIterable<T>, objectName: string): AsyncGenerator<T> {
  try {
    yield* items;
  } catch (err) {
    if (err instanceof ArchiverError) throw err;
    throw withContext(err, `reading the plaintext for archive object ${JSON.stringify(objectName)}`, 'EBADINPUT');
  }
}

/** The in-flight window: given, or twice the pool size so every worker has a next segment ready. */
export function inFlightLimit(requested: number | undefined, poolSize: number): number {
  const value = requested ?? Math.max(2, poolSize * 2);
  if (!Number.isSafeInteger(value) || value < 1) throw new ArchiverError('EUSAGE', `maxInFlight must be a positive integer, got ${value}`);
  return value;
}
