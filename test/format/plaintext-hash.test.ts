/**
 * Where the decoder hashes the plaintext (src/format/plaintext-hash.ts): the choice from one weighed frame, and
 * the digest, which covers every byte once and in order whichever thread ends up hashing (the frames hashed here
 * before the choice are hashed again on the worker if it goes there).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { decodeObject, readHeader } from '../../src/format/index.ts';
import { PinnedSha256 } from '../../src/format/pinned-hash.ts';
import { PlaintextSha256, hashHere } from '../../src/format/plaintext-hash.ts';
import { SegmentPool } from '../../src/format/pool.ts';
import { DEK, IDENTITY, chunked, encodeToBuffer, pseudoRandom, recordOffsets, sha256 } from './helpers.ts';

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
  for (const n of [1, 2]) {
    const { shared, lengths, whole } = frames(n);
    const hash = new PlaintextSha256('adaptive', () => assert.fail('no worker hash for a short object'), 1);
    const held = shared.map((sab, i) => hash.update(sab, lengths[i]!));
    hash.settle(50, 1); // weighed toward the worker, but no third frame came
    const digest = hash.digest();
    await Promise.all(held);
    assert.ok((await digest).equals(whole));
    assert.equal(hash.choice, null);
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

/**
 * Decodes `object`, the consumer busy for 250 ms with the weighed frame (the second): the worker takes the hash
 * (opening a 4 KiB frame takes it well under a millisecond; 250 ms leaves room for a loaded machine).
 */
async function decodeBusy(object: Buffer): Promise<{ plaintext: Buffer; result: Awaited<ReturnType<typeof decodeObject>['result']> }> {
  const decoded = decodeObject({ object: await readHeader(chunked(object), { objectName: 'busy' }), dek: DEK, expected: IDENTITY, maxInFlight: 3 });
  const copies: Buffer[] = [];
  let i = 0;
  for await (const chunk of decoded) {
    copies.push(Buffer.from(chunk));
    if (i++ === 1) for (const end = performance.now() + 250; performance.now() < end;);
    decoded.release?.(chunk);
  }
  return { plaintext: Buffer.concat(copies), result: await decoded.result };
}

test('the decoder hands the hash to the worker when its consumer is the busy one, and the digest is still exact', async () => {
  for (const frames of [1, 2, 3, 4, 21]) {
    const data = pseudoRandom(frames * 4096 - 5, frames);
    const { object } = await encodeToBuffer(data);
    const { plaintext, result } = await decodeBusy(object);
    assert.ok(plaintext.equals(data), `${frames} frames`);
    assert.equal(result.plaintextSha256, sha256(data), `${frames} frames`);
    assert.equal(result.plaintextHashChoice, frames >= 3 ? 'worker' : null, `${frames} frames`);
  }
});

test('a frame that fails authentication after the choice fails the decode with EAUTH', async () => {
  const data = pseudoRandom(10 * 4096, 3);
  for (const bad of [2, 3, 5]) {
    const { object } = await encodeToBuffer(data);
    const at = recordOffsets(object).frames[bad]!;
    object[at + 40] = object[at + 40]! ^ 1;
    await assert.rejects(decodeBusy(object), (e: unknown) => (e as { code?: string }).code === 'EAUTH', `frame ${bad}`);
  }
});

test('a held frame the worker fails to hash rejects it and every held frame after it', async () => {
  const failing = { update: () => Promise.reject(new Error('worker lost')), digest: () => Promise.reject(new Error('worker lost')), dispose: () => undefined };
  const hash = new PlaintextSha256('adaptive', () => failing as unknown as PinnedSha256, 1);
  const { shared, lengths } = frames(3);
  const held = [hash.update(shared[0]!, lengths[0]!), hash.update(shared[1]!, lengths[1]!)];
  hash.settle(50, 1);
  const third = hash.update(shared[2]!, lengths[2]!);
  const settled = await Promise.allSettled([...held, third]);
  assert.deepEqual(settled.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
});
