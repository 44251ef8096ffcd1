/**
 * BodyReader, which cuts a put body into parts: exact bytes across chunk boundaries, chunks handed back to a
 * producer that takes them only once copied whole, part buffers reused after `recycle`, and producer errors
 * wrapped as BodyFailure.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { BodyFailure, BodyReader } from '../../src/store/s3-body.ts';

/** A body of the given chunk sizes (bytes i % 251) that records what comes back through `release`. */
function releasableBody(sizes: number[]): { body: AsyncIterable<Uint8Array> & { release(chunk: Uint8Array): void }; chunks: Buffer[]; released: Uint8Array[] } {
  let at = 0;
  const chunks = sizes.map((n) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (at + i) % 251;
    at += n;
    return b;
  });
  const released: Uint8Array[] = [];
  const body = {
    async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
      for (const c of chunks) yield await Promise.resolve(c);
    },
    release(chunk: Uint8Array): void {
      released.push(chunk);
    },
  };
  return { body, chunks, released };
}

describe('BodyReader', () => {
  it('takes exact parts across chunk boundaries, and hashes every byte', async () => {
    const { body, chunks } = releasableBody([5, 3000, 1, 7000, 2048]);
    const all = Buffer.concat(chunks);
    const reader = new BodyReader(body);
    const parts: Buffer[] = [];
    for (;;) {
      await reader.fill(4096);
      if (reader.buffered === 0) break;
      parts.push(Buffer.from(reader.take(4096)));
    }
    assert.deepEqual(parts.map((p) => p.length), [4096, 4096, 3862]);
    assert.ok(Buffer.concat(parts).equals(all));
    assert.equal(reader.size, all.length);
    assert.equal(reader.sha256(), createHash('sha256').update(all).digest('hex'));
    assert.ok(reader.done);
  });

  it('hands a chunk back only once it was copied whole, and each exactly once', async () => {
    const { body, chunks, released } = releasableBody([6000, 6000, 100]);
    const reader = new BodyReader(body);
    await reader.fill(8192);
    const first = reader.take(8192); // all of chunk 0, part of chunk 1
    assert.deepEqual(released, [chunks[0]]);
    assert.ok(first.subarray(0, 6000).equals(chunks[0] ?? Buffer.alloc(0)));
    await reader.fill(8192);
    reader.take(8192);
    assert.equal(released.length, 3);
    assert.equal(released[0], chunks[0]);
    assert.equal(released[1], chunks[1]); // handed back as it came, not as a view of its rest
    assert.equal(released[2], chunks[2]);
  });

  it('copies: a part does not change when the producer reuses a chunk it got back', async () => {
    const { body, chunks } = releasableBody([4096, 4096]);
    const reader = new BodyReader(body);
    await reader.fill(8192);
    const part = reader.take(8192);
    const copy = Buffer.from(part);
    for (const c of chunks) c.fill(0xee);
    assert.ok(part.equals(copy));
  });

  it('hashes the bytes it sends: a chunk changed by its producer before the copy shows in the SHA-256', async () => {
    const { body, chunks } = releasableBody([3000, 3000]);
    const emitted = createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
    const reader = new BodyReader(body);
    await reader.fill(6000);
    chunks[1]?.fill(0);
    const part = reader.take(6000);
    const sent = reader.sha256();
    assert.equal(sent, createHash('sha256').update(part).digest('hex'));
    assert.notEqual(sent, emitted);
  });

  it('reuses a recycled part buffer for the next part, and frees spares on dispose', async () => {
    const { body } = releasableBody([8192, 8192, 8192]);
    const reader = new BodyReader(body);
    await reader.fill(8192);
    const one = reader.take(8192);
    const memory = one.buffer;
    reader.recycle(one);
    await reader.fill(8192);
    const two = reader.take(8192);
    assert.equal(two.buffer, memory);
    reader.recycle(two);
    reader.dispose();
    assert.equal(memory.byteLength, 0, 'the spare part buffer is freed (detached) on dispose');
    await reader.fill(8192);
    assert.notEqual(reader.take(8192).buffer, memory);
  });

  it('wraps an error of the body in BodyFailure, keeping the original', async () => {
    const boom = new Error('the encoder failed');
    const reader = new BodyReader((async function* () {
      yield await Promise.resolve(Buffer.alloc(10));
      throw boom;
    })());
    await assert.rejects(reader.fill(100), (err: unknown) => err instanceof BodyFailure && err.error === boom);
    assert.equal(reader.done, true);
  });
});
