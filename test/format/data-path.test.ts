/**
 * The mechanics the throughput and memory of the data path rest on (docs/PERFORMANCE.md): the in-order map
 * reads ahead of a busy consumer within its window, sources that read straight into buffers give the same
 * bytes as streams, chunks a consumer hands back are freed or reused, and a warmed pool never keeps a
 * process alive.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ByteReader, type DirectSource } from '../../src/format/byte-reader.ts';
import { decodeObject, encodeObject, readHeader } from '../../src/format/index.ts';
import { mapOrdered } from '../../src/format/parallel.ts';
import { FileStore } from '../../src/store/file-store.ts';
import { DEK, IDENTITY, KEY_REF, WRAPPED, chunked, collect, compressible, decodeBuffer, encodeToBuffer, pseudoRandom, sha256 } from './helpers.ts';

const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A DirectSource over a buffer, reading at most `step` bytes per call; counts its calls. */
function direct(data: Buffer, step = 1 << 20): DirectSource & AsyncIterable<Buffer> & { reads: number; closed: boolean } {
  let at = 0;
  const source = {
    reads: 0,
    closed: false,
    readInto(into: Uint8Array): Promise<number> {
      source.reads++;
      const n = Math.min(into.length, step, data.length - at);
      into.set(data.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
    close(): Promise<void> {
      source.closed = true;
      return Promise.resolve();
    },
    async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
      await Promise.resolve();
      yield* chunked(data);
    },
  };
  return source;
}

test('mapOrdered starts work while the consumer is busy, at most maxInFlight ahead, and yields in order', async () => {
  let read = 0;
  async function* items(): AsyncGenerator<number> {
    for (let i = 0; i < 20; i++) {
      read++;
      yield await Promise.resolve(i);
    }
  }
  const started: number[] = [];
  const results = mapOrdered(items(), async (i) => {
    started.push(i);
    await tick(i % 3); // out-of-order completion
    return i * 10;
  }, 4);
  const first = await results.next();
  assert.deepEqual(first, { value: 0, done: false });
  await tick(30); // the consumer is busy: the window fills, no further
  assert.equal(started.length, 4, `started ${started.length} with a busy consumer`);
  assert.equal(read, 4);
  const rest: number[] = [];
  for await (const r of results) rest.push(r);
  assert.deepEqual(rest, Array.from({ length: 19 }, (_, i) => (i + 1) * 10));
});

test('mapOrdered: a read error reaches the consumer; stopping early closes the source', async () => {
  async function* failing(): AsyncGenerator<number> {
    yield 1;
    await tick(1);
    throw new Error('read failed on purpose');
  }
  await assert.rejects(async () => {
    for await (const _ of mapOrdered(failing(), (i) => Promise.resolve(i), 4));
  }, /read failed on purpose/);
  let closed = false;
  async function* endless(): AsyncGenerator<number> {
    try {
      for (let i = 0; ; i++) yield await Promise.resolve(i);
    } finally {
      closed = true;
    }
  }
  for await (const r of mapOrdered(endless(), (i) => Promise.resolve(i), 3)) if (r === 5) break;
  assert.equal(closed, true);
});

test('a DirectSource (read straight into segment buffers) encodes to the same bytes as a stream', async () => {
  const data = compressible(40_000);
  const fromStream = await encodeToBuffer(data);
  const source = direct(data, 3000);
  const fromDirect = await encodeToBuffer(data, { source });
  assert.ok(fromDirect.object.equals(fromStream.object));
  assert.ok(source.reads > 10, 'segments were filled by several reads');
  // An empty source: one empty final frame, like an empty stream.
  const empty = await encodeToBuffer(Buffer.alloc(0), { source: direct(Buffer.alloc(0)) });
  assert.ok(empty.object.equals((await encodeToBuffer(Buffer.alloc(0))).object));
});

test('a DirectSource at and around segment boundaries encodes like a stream (the final flag comes from one byte read past a segment)', async () => {
  for (const length of [4095, 4096, 4097, 3 * 4096 - 1, 3 * 4096, 3 * 4096 + 1]) {
    const data = pseudoRandom(length, length);
    const fromStream = await encodeToBuffer(data);
    for (const step of [1000, 4096, 5000]) {
      const fromDirect = await encodeToBuffer(data, { source: direct(data, step) });
      assert.ok(fromDirect.object.equals(fromStream.object), `${length} bytes read ${step} at a time`);
      assert.equal(fromDirect.result.frames, Math.max(1, Math.ceil(length / 4096)));
      assert.equal(fromDirect.result.plaintextSha256, sha256(data));
    }
  }
});

test('with a stalled consumer a DirectSource is read only as far as the window: maxInFlight segments and one byte', async () => {
  const segments = 20;
  const data = pseudoRandom(segments * 4096, 9);
  let read = 0;
  const inner = direct(data, 4096);
  const source: DirectSource = { readInto: async (into) => { const n = await inner.readInto(into); read += n; return n; } };
  const encoded = encodeObject({ source, dek: DEK, wrappedKey: WRAPPED, key: KEY_REF, identity: IDENTITY, segmentSize: 4096, maxInFlight: 2 });
  const it = encoded[Symbol.asyncIterator]();
  await it.next(); // header
  await it.next(); // frame 0, held by the consumer
  await tick(100);
  // Frame 0, held by the consumer, is a record (its segment buffer went back when its task ended): segments 1 and
  // 2 fill the window, and one byte tells segment 2 is not final. A whole read-ahead segment would be 4096 more.
  assert.equal(read, 3 * 4096 + 1);
  let frames = 1;
  while ((await it.next()).done !== true) frames++;
  assert.equal(frames, segments + 1); // frames plus trailer
  assert.equal((await encoded.result).plaintextLength, data.length);
});

test('a DirectSource is closed when the consumer of the encoder stops early', async () => {
  const source = direct(pseudoRandom(64 * 1024, 3), 1000);
  const encoded = encodeObject({ source, dek: DEK, wrappedKey: WRAPPED, key: KEY_REF, identity: IDENTITY, segmentSize: 4096 });
  let chunks = 0;
  for await (const _ of encoded) if (++chunks === 3) break;
  await assert.rejects(encoded.result, { code: 'EUSAGE' });
  assert.equal(source.closed, true);
});

test('ByteReader reads a DirectSource straight into the caller buffer, with the same bytes, offsets and digest', async () => {
  const data = pseudoRandom(300_000, 7);
  for (const source of [direct(data, 50_000), chunked(data)]) {
    const reader = new ByteReader(source);
    assert.deepEqual([...(await reader.read(3))], [...data.subarray(0, 3)]);
    assert.deepEqual([...(await reader.peek(5))], [...data.subarray(3, 8)]);
    const big = new Uint8Array(200_000);
    assert.equal(await reader.readInto(big), 200_000);
    assert.ok(Buffer.from(big).equals(data.subarray(3, 200_003)));
    const rest = await reader.read(200_000);
    assert.equal(rest.length, 100_000 - 3);
    assert.equal(reader.offset, data.length);
    assert.equal(await reader.atEnd(), true);
    assert.equal(reader.digest().toString('hex'), sha256(data));
  }
});

test('the file store hands written records back to the encoder, which frees them; foreign chunks are left alone', async () => {
  const data = pseudoRandom(300_000, 5); // incompressible: records of about a segment each
  const encoded = encodeObject({ source: chunked(data), dek: DEK, wrappedKey: WRAPPED, key: KEY_REF, identity: IDENTITY, segmentSize: 65536 });
  const seen: Uint8Array[] = [];
  const spy = {
    release: (chunk: Uint8Array): void => encoded.release?.(chunk),
    async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
      for await (const chunk of encoded) {
        seen.push(chunk);
        yield chunk;
      }
    },
  };
  const root = mkdtempSync(join(tmpdir(), 'blarc-release-'));
  try {
    const stored = await new FileStore({ root }).put('obj', spy);
    const result = await encoded.result;
    assert.equal(stored.sha256, result.objectSha256);
    assert.equal(stored.size, result.objectLength);
    // Frame records (not the header or the trailer) were freed once written.
    const freed = seen.filter((c) => c.buffer.byteLength === 0).length;
    assert.equal(freed, result.frames);
    const opened = await readHeader(new FileStore({ root }).get('obj'), { objectName: 'released' });
    assert.ok((await collect(decodeObject({ object: opened, dek: DEK, expected: IDENTITY }))).equals(data));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const foreign = Buffer.alloc(8192, 1);
  encoded.release?.(foreign);
  assert.equal(foreign.length, 8192);
});

const PLACEMENTS = { adaptive: 'where a frame shows it faster, shared buffers', worker: 'on a worker, shared buffers', here: 'in place, shared buffers', 'here-moved': 'in place, moved buffers' } as const;
for (const [plaintextHash, how] of Object.entries(PLACEMENTS) as [keyof typeof PLACEMENTS, string][]) {
  test(`the decoder reuses a plaintext buffer the consumer hands back, and a consumer that keeps chunks keeps them intact (plaintext hashed ${how})`, async () => {
    const data = pseudoRandom(20 * 4096 + 17, 11);
    const { object } = await encodeToBuffer(data);
    const opened = await readHeader(chunked(object), { objectName: 'reuse' });
    const decoded = decodeObject({ object: opened, dek: DEK, expected: IDENTITY, maxInFlight: 2, plaintextHash });
    const chunks: Buffer[] = [];
    const copies: Buffer[] = [];
    for await (const chunk of decoded) {
      copies.push(Buffer.from(chunk));
      chunks.push(chunk);
      decoded.release?.(chunk);
    }
    assert.ok(Buffer.concat(copies).equals(data));
    const result = await decoded.result;
    assert.equal(result.plaintextSha256, sha256(data));
    // 'adaptive' weighed a frame of these 21 and chose; a told placement reports no choice.
    if (plaintextHash === 'adaptive') assert.ok(result.plaintextHashChoice === 'here' || result.plaintextHashChoice === 'worker');
    else assert.equal(result.plaintextHashChoice, null);
    // A reused buffer went back to a worker: the chunk handed back no longer shows its bytes (a moved buffer is
    // empty here, a shared one holds a later frame's plaintext).
    const reused = chunks.filter((c, i) => !c.equals(copies[i]!)).length;
    assert.ok(reused >= 15, `${reused} of 21 plaintext buffers reused`);
    // Without release, every chunk is the consumer's own (the round-trip tests collect them).
    assert.ok((await decodeBuffer(object)).plaintext.equals(data));
  });
}

test('a file store object decodes through the direct path and the streamed path alike', async () => {
  const data = compressible(100_000);
  const { object } = await encodeToBuffer(data);
  const root = mkdtempSync(join(tmpdir(), 'blarc-direct-'));
  try {
    writeFileSync(join(root, 'obj'), object);
    const store = new FileStore({ root });
    const opened = await readHeader(store.get('obj'), { objectName: 'direct' });
    const decoded = decodeObject({ object: opened, dek: DEK, expected: IDENTITY });
    assert.ok((await collect(decoded)).equals(data));
    assert.equal((await decoded.result).objectSha256, sha256(object));
    assert.ok((await collect(store.get('obj'))).equals(object));
    // A caller that does not compare the object's digest (restore) skips it; everything else is still checked.
    const unhashed = decodeObject({ object: await readHeader(store.get('obj'), { objectName: 'direct', hashObject: false }), dek: DEK, expected: IDENTITY });
    assert.ok((await collect(unhashed)).equals(data));
    const r = await unhashed.result;
    assert.equal(r.objectSha256, null);
    assert.equal(r.plaintextSha256, sha256(data));
    assert.equal(r.objectLength, object.length);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a warmed pool whose workers never ran a task does not keep the process alive', () => {
  const script = `import { sharedPool } from ${JSON.stringify(new URL('../../src/format/pool.ts', import.meta.url).href)};
    sharedPool().warm();`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000, encoding: 'utf8' });
  assert.equal(r.error, undefined, 'the process exited by itself');
  assert.equal(r.status, 0, r.stderr);
});
