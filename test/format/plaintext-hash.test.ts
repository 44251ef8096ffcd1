/**
 * Where the decoder hashes the plaintext (src/format/plaintext-hash.ts): the choice from one weighed frame, and
 * the digest, which covers every byte once and in order whichever thread ends up hashing (the frames hashed here
 * before the choice are hashed again on the worker if it goes there).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { PinnedSha256 } from '../../src/format/pinned-hash.ts';
import { PlaintextSha256, hashHere } from '../../src/format/plaintext-hash.ts';
import { SegmentPool } from '../../src/format/pool.ts';

function frames(n: number): { shared: SharedArrayBuffer[]; lengths: number[]; whole: Buffer } {
  const lengths = Array.from({ length: n }, (_, i) => 40_000 + 1000 * i);
  const shared = lengths.map((length, i) => {
    const sab = new SharedArrayBuffer(length + 7);
    const view = new Uint8Array(sab);
    for (let j = 0; j < view.length; j++) view[j] = (j * 31 + i * 7) & 0xff;
    return sab;
  });
  const whole = createHash('sha256');
  shared.forEach((sab, i) => whole.update(new Uint8Array(sab, 0, lengths[i])));
  return { shared, lengths, whole: whole.digest() };
}

test('the hash stays here when this thread, hashing too, is no busier per frame than the workers opening frames', () => {
  assert.equal(hashHere({ consumerMs: 1, hashMs: 2.4, openMs: 7.6, workers: 1 }), true); // bulk rows: the worker is the bottleneck
  assert.equal(hashHere({ consumerMs: 3.6, hashMs: 2.3, openMs: 3.1, workers: 1 }), false); // small OLTP events: the walk is
  assert.equal(hashHere({ consumerMs: 1, hashMs: 2.4, openMs: 7.6, workers: 4 }), false); // four workers open 4 frames at a time
  assert.equal(hashHere({ consumerMs: 1, hashMs: 2, openMs: 3, workers: 0 }), true); // a size of 0 counts as one worker
});

for (const [name, consumerMs, openMs, expected] of [['the worker', 50, 1, 'worker'], ['this thread', 0, 1000, 'here']] as const) {
  test(`adaptive: weighed toward ${name}, every byte is hashed once, in order; held frames are let go at the choice`, async () => {
    const pool = new SegmentPool({ size: 1 });
    try {
      const { shared, lengths, whole } = frames(5);
      const hash = new PlaintextSha256('adaptive', () => new PinnedSha256(pool), pool.size);
      let released = 0;
      const first = hash.update(shared[0]!, lengths[0]!).then(() => released++);
      assert.equal(hash.weighing, false, 'the first frame warms up; the second is weighed');
      const second = hash.update(shared[1]!, lengths[1]!).then(() => released++);
      assert.equal(hash.weighing, true);
      hash.settle(consumerMs, openMs);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(released, 0, 'the first two frames are held until a third arrives');
      assert.equal(hash.placement, 'undecided');
      const rest = shared.slice(2).map((sab, i) => hash.update(sab, lengths[i + 2]!));
      assert.equal(hash.placement, expected);
      await Promise.all([first, second, ...rest]);
      assert.equal(released, 2);
      assert.ok((await hash.digest()).equals(whole));
      assert.equal(hash.choice, expected);
    } finally {
      await pool.close();
    }
  });
}

test('adaptive: an object of one or two frames is hashed here whole, with no choice reported', async () => {
  const pool = new SegmentPool({ size: 1 });
  try {
    for (const n of [1, 2]) {
      const { shared, lengths, whole } = frames(n);
      const hash = new PlaintextSha256('adaptive', () => assert.fail('no worker hash for a short object'), pool.size);
      const held = shared.map((sab, i) => hash.update(sab, lengths[i]!));
      hash.settle(50, 1); // weighed toward the worker, but no third frame came
      const digest = hash.digest();
      await Promise.all(held);
      assert.ok((await digest).equals(whole));
      assert.equal(hash.choice, null);
    }
  } finally {
    await pool.close();
  }
});

test('told placements: no weighing, the same digest', async () => {
  const pool = new SegmentPool({ size: 1 });
  try {
    const { shared, lengths, whole } = frames(4);
    for (const placement of ['here', 'worker'] as const) {
      const hash = new PlaintextSha256(placement, () => new PinnedSha256(pool), pool.size);
      await Promise.all(shared.map((sab, i) => hash.update(sab, lengths[i]!)));
      assert.equal(hash.weighing, false);
      assert.ok((await hash.digest()).equals(whole), placement);
      assert.equal(hash.choice, null);
    }
  } finally {
    await pool.close();
  }
});

test('dispose lets held frames go (an abandoned decode does not leave their buffers waiting)', async () => {
  const { shared, lengths } = frames(2);
  const hash = new PlaintextSha256('adaptive', () => assert.fail('no worker hash'), 1);
  const held = shared.map((sab, i) => hash.update(sab, lengths[i]!));
  hash.dispose();
  await Promise.all(held);
});
