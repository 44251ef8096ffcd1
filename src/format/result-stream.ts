/**
 * An async iterable of output chunks that also exposes the summary the producing generator returns, as a
 * promise settled when iteration ends. Iterable once. A consumer that stops early makes `result` reject.
 */
import { ArchiverError } from '../errors.ts';

export interface StreamWithResult<R> extends AsyncIterable<Buffer> {
  /** Settles when iteration ends: the summary on success, the error that ended iteration otherwise. */
  readonly result: Promise<R>;
  /**
   * Optional for consumers (ReleasableChunks): hands back a chunk the consumer is done with and will not touch
   * again, so the producer can free its memory at once rather than at a later garbage collection.
   */
  release?(chunk: Uint8Array): void;
}

/**
 * A stream of chunks whose consumer may hand chunks back once done with them (the file store does, after
 * writing each one). Producers free only what they allocated themselves; anything else is ignored.
 */
export interface ReleasableChunks {
  release(chunk: Uint8Array): void;
}

export function isReleasable(source: unknown): source is ReleasableChunks {
  return typeof source === 'object' && source !== null && typeof (source as ReleasableChunks).release === 'function';
}

export function streamWithResult<R>(
  what: string,
  body: () => AsyncGenerator<Buffer, R>,
  release: (chunk: Uint8Array) => void = () => undefined,
): StreamWithResult<R> {
  let resolve: (r: R) => void = () => undefined;
  let reject: (e: unknown) => void = () => undefined;
  const result = new Promise<R>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Errors also reach the iterating consumer; a caller that never awaits `result` must not crash the process.
  result.catch(() => undefined);
  let started = false;
  return {
    result,
    release,
    [Symbol.asyncIterator](): AsyncIterator<Buffer> {
      if (started) throw new ArchiverError('EUSAGE', `${what} can be iterated only once`);
      started = true;
      const gen = body();
      return {
        async next(): Promise<IteratorResult<Buffer>> {
          try {
            const step = await gen.next();
            if (step.done === true) {
              resolve(step.value);
              return { done: true, value: undefined };
            }
            return step;
          } catch (err) {
            reject(err);
            throw err;
          }
        },
        async return(): Promise<IteratorResult<Buffer>> {
          reject(new ArchiverError('EUSAGE', `${what} was not read to the end`));
          await gen.return(undefined as R);
          return { done: true, value: undefined };
        },
      };
    },
  };
}
