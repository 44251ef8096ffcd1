/** The work queue's contract (client-go's): dedupe, one worker per item, re-add after done, delays, rate limits. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualTimers } from '../../src/controller/clock.ts';
import { BucketLimiter, ItemExponentialLimiter, MaxOfLimiter, WorkQueue } from '../../src/controller/workqueue.ts';

function queue(timers = new ManualTimers()) {
  return { timers, q: new WorkQueue<string>({ timers, limiter: new ItemExponentialLimiter(500, 8000) }) };
}

describe('work queue', () => {
  it('merges adds of a queued item and hands items out in order', async () => {
    const { q } = queue();
    for (const k of ['a', 'b', 'a', 'c', 'b']) q.add(k);
    assert.equal(q.len(), 3);
    assert.deepEqual([await q.get(), await q.get(), await q.get()], ['a', 'b', 'c']);
  });

  it('never gives an item to two workers: an add while processing is queued again at done()', async () => {
    const { q } = queue();
    q.add('a');
    const first = await q.get();
    assert.equal(first, 'a');
    q.add('a');
    q.add('a');
    assert.equal(q.len(), 0, 'not queued while a worker holds it');
    let second: string | undefined;
    const waiting = q.get().then((k) => { second = k; });
    await Promise.resolve();
    assert.equal(second, undefined);
    q.done('a');
    await waiting;
    assert.equal(second, 'a', 'handed out once more after done');
    q.done('a');
    assert.equal(q.len(), 0);
  });

  it('addAfter delays an item; the earliest pending time wins', async () => {
    const { q, timers } = queue();
    q.addAfter('a', 5000);
    q.addAfter('a', 1000);
    q.addAfter('a', 9000);
    assert.equal(q.len(), 0);
    timers.advance(999);
    assert.equal(q.len(), 0);
    timers.advance(1);
    assert.equal(q.len(), 1);
    assert.equal(await q.get(), 'a');
    timers.advance(10_000);
    assert.equal(q.len(), 0, 'the later addAfters were merged into the first');
  });

  it('addRateLimited backs off exponentially per item until forget()', () => {
    const { q, timers } = queue();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      q.addRateLimited('a');
      let waited = 0;
      while (q.len() === 0) {
        timers.advance(100);
        waited += 100;
      }
      delays.push(waited);
      void q.get();
      q.done('a');
    }
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 8000], 'doubling, capped');
    assert.equal(q.numRequeues('a'), 6);
    q.forget('a');
    assert.equal(q.numRequeues('a'), 0);
  });

  it('the bucket limits the overall rate: qps tokens a second after the burst', () => {
    const timers = new ManualTimers();
    const bucket = new BucketLimiter<string>(10, 3, timers);
    assert.deepEqual([bucket.when('a'), bucket.when('b'), bucket.when('c')], [0, 0, 0], 'burst');
    assert.deepEqual([bucket.when('d'), bucket.when('e')], [100, 200]);
    timers.advance(1000);
    assert.equal(bucket.when('f'), 0, 'refilled');
    const max = new MaxOfLimiter<string>(new ItemExponentialLimiter(500, 1000), new BucketLimiter(1, 1, timers));
    assert.equal(max.when('x'), 500);
    assert.equal(max.when('y'), 1000, 'the bucket is empty: its delay is the larger');
  });

  it('shutDown wakes waiting workers with undefined and ignores later adds', async () => {
    const { q } = queue();
    const waiting = q.get();
    q.addAfter('later', 1000);
    q.shutDown();
    assert.equal(await waiting, undefined);
    q.add('x');
    assert.equal(await q.get(), undefined);
    assert.equal(q.delayed(), 0);
  });
});
