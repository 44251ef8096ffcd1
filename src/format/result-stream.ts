/**
 * An async iterable of output chunks that also exposes the summary the producing generator returns, as a
 * promise settled when iteration ends. Iterable once. A consumer that stops early makes `result` reject.
 */
import { ArchiverError } from '../errors.ts';

export interface StreamWithResult<R> extends AsyncIterable<Buffer> {
  /** Settles when iteration ends: the summary on success, the error that ended iteration otherwise. */
  readonly result: Promise<R>;
}

export function streamWithResult<R>(what: string, body: () => AsyncGenerator<Buffer, R>): StreamWithResult<R> {
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
