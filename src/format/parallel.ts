/**
 * Plumbing shared by the encoders and the decoders: the bounded in-order parallel map that keeps memory
 * constant, its window size, and error context for reads of the plaintext.
 */
import { ArchiverError, withContext } from '../errors.ts';

/**
 * Starts work for up to `maxInFlight` items ahead of the consumer and yields results in input order.
 * Reading stops while the window is full: that is the backpressure.
 */
export async function* mapOrdered<T, R>(
  items: AsyncIterable<T>,
  start: (item: T) => Promise<R>,
  maxInFlight: number,
): AsyncGenerator<R> {
  const window: Promise<R>[] = [];
  for await (const item of items) {
    const running = start(item);
    running.catch(() => undefined); // awaited in order below; this only prevents an unhandled rejection meanwhile
    window.push(running);
    while (window.length >= maxInFlight) yield await (window.shift() as Promise<R>);
  }
  while (window.length > 0) yield await (window.shift() as Promise<R>);
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
