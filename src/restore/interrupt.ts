/**
 * Stopping a restore cleanly on SIGTERM (what the kubelet sends a Job's Pod) or SIGINT: the signal aborts the
 * restore's AbortSignal instead of ending the process, so the restore's own cleanup runs (the target's replica
 * is stopped and removed, the staging directory with its half-written plaintext is deleted) and the command
 * exits non-zero with EINTERRUPTED. A second signal during that cleanup ends the process at once, as usual.
 */
import { ArchiverError } from '../errors.ts';

/** Runs `work` with a signal that SIGTERM or SIGINT aborts while it runs. */
export async function whileInterruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const on = (name: NodeJS.Signals): void => {
    controller.abort(new ArchiverError('EINTERRUPTED', `the restore was interrupted by ${name}`, {
      hint: 'nothing is left half-done by this run: run the same restore again (onto a fresh server, if it applied part of it)',
    }));
  };
  process.once('SIGTERM', on);
  process.once('SIGINT', on);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGTERM', on);
    process.off('SIGINT', on);
  }
}

/** Throws the abort reason (an ArchiverError EINTERRUPTED) if the signal was aborted. */
export function throwIfInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw interruption(signal);
}

function interruption(signal: AbortSignal): ArchiverError {
  const reason: unknown = signal.reason;
  return reason instanceof ArchiverError ? reason : new ArchiverError('EINTERRUPTED', 'the restore was interrupted', { cause: reason });
}

/**
 * Settles like `work`, or rejects with the interruption as soon as the signal aborts. `work` keeps running in the
 * background then: the caller's cleanup must make it end (close its connection), and its late failure is ignored.
 */
export function untilInterrupted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  work.catch(() => undefined);
  if (signal.aborted) return Promise.reject(interruption(signal));
  let onAbort = (): void => undefined;
  const interrupted = new Promise<never>((_, reject) => {
    onAbort = (): void => reject(interruption(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work.finally(() => signal.removeEventListener('abort', onAbort)), interrupted]);
}
