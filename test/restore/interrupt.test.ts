/**
 * src/restore/interrupt.ts: a signal aborts the restore's AbortSignal instead of ending the process, only while the
 * restore runs; waiting on the target gives way to the interruption at once, and what it does afterwards is ignored.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { throwIfInterrupted, untilInterrupted, whileInterruptible } from '../../src/restore/interrupt.ts';

const interrupted = (name: string) => (err: unknown): boolean => err instanceof ArchiverError && err.code === 'EINTERRUPTED' && err.message.includes(name);

describe('interrupting a restore', () => {
  it('SIGTERM aborts the signal of the running restore (the process lives on), and the handlers go with the run', async () => {
    const listeners = process.listenerCount('SIGTERM');
    const sigint = process.listenerCount('SIGINT');
    await assert.rejects(whileInterruptible(async (signal) => {
      assert.equal(process.listenerCount('SIGTERM'), listeners + 1);
      process.kill(process.pid, 'SIGTERM');
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      throwIfInterrupted(signal);
    }), interrupted('SIGTERM'));
    assert.equal(process.listenerCount('SIGTERM'), listeners);
    assert.equal(process.listenerCount('SIGINT'), sigint);
  });

  it('untilInterrupted settles like the work, or rejects as soon as the signal aborts; the work\'s late failure is ignored', async () => {
    const controller = new AbortController();
    assert.equal(await untilInterrupted(Promise.resolve(7), controller.signal), 7);
    await assert.rejects(untilInterrupted(Promise.reject(new Error('replica failed')), controller.signal), /replica failed/);
    let fail: (err: Error) => void = () => undefined;
    const waiting = untilInterrupted(new Promise<never>((_, reject) => { fail = reject; }), controller.signal);
    controller.abort(new ArchiverError('EINTERRUPTED', 'the restore was interrupted by SIGINT'));
    await assert.rejects(waiting, interrupted('SIGINT'));
    fail(new Error('connection closed')); // the cleanup ended the wait: no unhandled rejection
    await assert.rejects(untilInterrupted(Promise.resolve(1), controller.signal), interrupted('SIGINT'), 'an aborted signal interrupts at once');
    assert.equal(await untilInterrupted(Promise.resolve(2), undefined), 2);
  });
});
