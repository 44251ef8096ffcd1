import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createReadStream, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ArchiverError } from '../../src/errors.ts';
import { DEFAULT_ZSTD_LEVEL } from '../../src/format/constants.ts';
import { encodeObject, readHeader, decodeObject, SegmentPool } from '../../src/format/index.ts';
import {
  DEK,
  IDENTITY,
  KEY_REF,
  WRAPPED,
  collect,
  compressible,
  decodeBuffer,
  encodeToBuffer,
  pseudoRandom,
  recordOffsets,
  sha256,
} from './helpers.ts';

const SEGMENT = 4096;

const cases: [string, Buffer, number][] = [
  ['empty input', Buffer.alloc(0), 1],
  ['one byte', Buffer.from([0x5a]), 1],
  ['exactly one segment', pseudoRandom(SEGMENT, 3), 1],
  ['one segment plus one byte', pseudoRandom(SEGMENT + 1, 4), 2],
  ['exactly three segments', compressible(3 * SEGMENT), 3],
  ['many segments of random data', pseudoRandom(50 * SEGMENT + 123, 5), 51],
  ['many segments of compressible data', compressible(100 * SEGMENT - 1), 100],
];

for (const [name, data, frames] of cases) {
  test(`round trip: ${name} (${data.length} bytes, ${frames} frames)`, async () => {
    const { object, result } = await encodeToBuffer(data);
    assert.equal(result.frames, frames);
    assert.equal(result.plaintextLength, data.length);
    assert.equal(result.plaintextSha256, sha256(data));
    assert.equal(result.objectLength, object.length);
    assert.equal(result.objectSha256, sha256(object));
    assert.equal(recordOffsets(object).frames.length, frames);
    const decoded = await decodeBuffer(object);
    assert.ok(decoded.plaintext.equals(data), 'decoded plaintext differs');
    assert.deepEqual(decoded.result, {
      frames,
      plaintextLength: data.length,
      plaintextSha256: sha256(data),
      compressedLength: result.compressedLength,
      objectLength: object.length,
      objectSha256: sha256(object),
      headerSha256: result.headerSha256,
      formatVersion: 1,
      planningSha256: null,
      // Where the plaintext was hashed is chosen from a weighed frame: objects of three frames or more have one.
      plaintextHashChoice: frames >= 3 ? decoded.result.plaintextHashChoice : null,
    });
    if (frames >= 3) assert.ok(decoded.result.plaintextHashChoice === 'here' || decoded.result.plaintextHashChoice === 'worker');
  });
}

test('compressible data gets smaller, random data grows only by framing overhead', async () => {
  const text = compressible(64 * SEGMENT);
  const { result: t } = await encodeToBuffer(text);
  assert.ok(t.objectLength < text.length / 3, `compressible: ${t.objectLength} of ${text.length}`);
  const random = pseudoRandom(64 * SEGMENT, 9);
  const { result: r } = await encodeToBuffer(random);
  // Per frame: 16 record prefix + 16 tag + zstd frame header/block headers/checksum for stored blocks.
  assert.ok(r.objectLength < random.length + 64 * 60 + 1000, `random: ${r.objectLength} of ${random.length}`);
});

test('real MySQL binlogs from the fixtures round-trip byte for byte (default 4 MiB segments)', async () => {
  const root = '/work/shared/fixtures/binlogs';
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (!name.endsWith('.md') && !name.endsWith('.json')) files.push(path);
    }
  };
  walk(root);
  assert.ok(files.length >= 30, `found ${files.length} fixture files`);
  for (const file of files) {
    const data = readFileSync(file);
    const encoded = encodeObject({ source: createReadStream(file), dek: DEK, wrappedKey: WRAPPED, key: KEY_REF, identity: IDENTITY });
    const object = await collect(encoded);
    const result = await encoded.result;
    assert.equal(result.plaintextSha256, sha256(data), file);
    const decoded = await decodeBuffer(object);
    assert.ok(decoded.plaintext.equals(data), file);
  }
});

test('encoding is deterministic: same DEK, identity, settings and plaintext give identical bytes', async () => {
  const data = compressible(20 * SEGMENT + 77);
  const a = await encodeToBuffer(data);
  // Different chunking and a different pool size must not change a byte.
  const pool = new SegmentPool({ size: 1 });
  try {
    const b = await encodeToBuffer(data, { source: [data], pool, maxInFlight: 1 });
    assert.ok(a.object.equals(b.object));
    assert.equal(a.result.objectSha256, b.result.objectSha256);
  } finally {
    await pool.close();
  }
  const c = await encodeToBuffer(data, { identity: { ...IDENTITY, correlationId: 'corr-other' } });
  assert.ok(!a.object.equals(c.object), 'another identity must give other bytes');
  const d = await encodeToBuffer(data, { level: 9 });
  assert.notEqual(d.result.objectSha256, a.result.objectSha256);
});

test('Readable streams work as source and the header is available before iteration', async () => {
  const data = pseudoRandom(10 * SEGMENT, 11);
  const encoded = encodeObject({
    source: Readable.from(data, { objectMode: false }),
    dek: DEK,
    wrappedKey: WRAPPED,
    key: KEY_REF,
    identity: IDENTITY,
    segmentSize: SEGMENT,
  });
  assert.deepEqual(encoded.header.identity, IDENTITY);
  assert.equal(encoded.header.segmentSize, SEGMENT);
  assert.equal(encoded.header.zstdLevel, DEFAULT_ZSTD_LEVEL, 'the default level');
  const object = await collect(encoded);
  const opened = await readHeader(Readable.from(object), { objectName: 'x' });
  assert.deepEqual(opened.header.key, KEY_REF);
  assert.ok(opened.header.wrappedKey.equals(WRAPPED));
  const plain = await collect(decodeObject({ object: opened, dek: DEK, expected: IDENTITY }));
  assert.ok(plain.equals(data));
});

test('encoder reads ahead at most maxInFlight segments when the consumer is slow (bounded memory)', async () => {
  let pulled = 0;
  const total = 40;
  async function* source(): AsyncGenerator<Buffer> {
    for (let i = 0; i < total; i++) {
      pulled++;
      yield await Promise.resolve(pseudoRandom(SEGMENT, i + 1));
    }
  }
  const encoded = encodeObject({ source: source(), dek: DEK, wrappedKey: WRAPPED, key: KEY_REF, identity: IDENTITY, segmentSize: SEGMENT, maxInFlight: 3 });
  const it = encoded[Symbol.asyncIterator]();
  await it.next(); // header
  await it.next(); // frame 0
  await new Promise((r) => setTimeout(r, 100));
  // Frame 0 was emitted and left the window (its segment buffer went back when its task ended); segments 1..3
  // fill the window of 3 (segment 3 is released once chunk 4 shows it is not final), and the encoder now waits
  // for the consumer: nothing more is read.
  assert.equal(pulled, 5, `source read ${pulled} chunks with a stalled consumer`);
  let frames = 1;
  for (;;) {
    const step = await it.next();
    if (step.done === true) break;
    frames++;
  }
  assert.equal(frames, total + 1); // frames plus trailer
  assert.equal((await encoded.result).frames, total);
});

test('a consumer that stops early gets a rejected result, not a hang', async () => {
  const encoded = encodeObject({ source: [pseudoRandom(10 * SEGMENT)], dek: DEK, wrappedKey: WRAPPED, key: KEY_REF, identity: IDENTITY, segmentSize: SEGMENT });
  for await (const _ of encoded) break;
  await assert.rejects(encoded.result, { code: 'EUSAGE' });
});

test('file sources: { path } and an open FileHandle give the same object as a stream; a missing file is EBADINPUT', async () => {
  const { open } = await import('node:fs/promises');
  const { openAndDecode } = await import('../../src/format/index.ts');
  const path = '/work/shared/fixtures/binlogs/other-versions/osheroff/mysql-bin.checksum-crc32';
  const data = readFileSync(path);
  const fromStream = await encodeToBuffer(data, { source: createReadStream(path, { highWaterMark: 1000 }) });
  const fromPath = await encodeToBuffer(data, { source: { path } });
  assert.ok(fromPath.object.equals(fromStream.object));
  const handle = await open(path);
  try {
    const fromHandle = await encodeToBuffer(data, { source: handle });
    assert.ok(fromHandle.object.equals(fromStream.object));
  } finally {
    await handle.close();
  }
  const decoded = await openAndDecode([fromPath.object], { objectName: path, dek: DEK, expected: IDENTITY });
  assert.ok((await collect(decoded)).equals(data));
  assert.equal((await decoded.result).plaintextSha256, sha256(data));
  const missing = encodeObject({ source: { path: '/nonexistent/binlog.000001' }, dek: DEK, wrappedKey: WRAPPED, key: KEY_REF, identity: IDENTITY, objectName: 'src-a/binlog.000001' });
  await assert.rejects(collect(missing), (err: unknown) => {
    assert.ok(err instanceof ArchiverError);
    assert.equal(err.code, 'EBADINPUT');
    assert.match(err.message, /ENOENT.*while reading the plaintext for archive object "src-a\/binlog\.000001"/s);
    return true;
  });
});

test('a Readable with an encoding set is refused instead of corrupting bytes', async () => {
  const stream = Readable.from(['text chunks'], { objectMode: true });
  const encoded = encodeObject({ source: stream, dek: DEK, wrappedKey: WRAPPED, key: KEY_REF, identity: IDENTITY });
  await assert.rejects(collect(encoded), { code: 'EUSAGE', message: /string chunk where bytes were expected/ });
});
