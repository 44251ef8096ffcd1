import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import {
  DEK,
  IDENTITY,
  OTHER_DEK,
  OTHER_IDENTITY,
  compressible,
  decodeBuffer,
  encodeToBuffer,
  recordOffsets,
  rejectsWith,
} from './helpers.ts';

// 4.5 segments: frames 0..3 full, frame 4 final and partial.
const DATA = compressible(4 * 4096 + 2048);
let object: Buffer;
let layout: ReturnType<typeof recordOffsets>;

before(async () => {
  object = (await encodeToBuffer(DATA)).object;
  layout = recordOffsets(object);
  assert.equal(layout.frames.length, 5);
});

function flip(buf: Buffer, offset: number, bit = 0): Buffer {
  const copy = Buffer.from(buf);
  copy[offset] = (copy[offset] as number) ^ (1 << bit);
  return copy;
}

function frameBytes(buf: Buffer, i: number): Buffer {
  const l = recordOffsets(buf);
  const start = l.frames[i] as number;
  const end = l.frames[i + 1] ?? l.trailer;
  return buf.subarray(start, end);
}

function replaceFrames(buf: Buffer, frames: Buffer[]): Buffer {
  const l = recordOffsets(buf);
  return Buffer.concat([buf.subarray(0, l.headerEnd), ...frames, buf.subarray(l.trailer)]);
}

function frames(buf: Buffer): Buffer[] {
  return recordOffsets(buf).frames.map((_, i) => frameBytes(buf, i));
}

test('the untouched object decodes (control)', async () => {
  const { plaintext } = await decodeBuffer(object);
  assert.ok(plaintext.equals(DATA));
});

test('flipped bit in the magic: EFORMAT', async () => {
  await rejectsWith(() => decodeBuffer(flip(object, 1)), 'EFORMAT', /byte offset 0: does not start with the archive magic 89424c41520d0a1a \(found 89434c41520d0a1a\)/);
});

test('flipped bit in the version: EFORMAT naming the version', async () => {
  await rejectsWith(() => decodeBuffer(flip(object, 9, 1)), 'EFORMAT', /format version 3 is not supported/);
});

test('flipped bit in the header length: EFORMAT', async () => {
  await rejectsWith(() => decodeBuffer(flip(object, 13, 7)), 'EFORMAT');
});

test('flipped bit in a header value that stays valid JSON (encryption context): EAUTH at frame 0', async () => {
  const at = object.indexOf('"nightly"', 16) + 1; // 'n' -> 'o'
  const err = await rejectsWith(() => decodeBuffer(flip(object, at, 0)), 'EAUTH', /frame 0, byte offset \d+: failed authentication/);
  assert.equal(err.context.frame, 0);
});

test('flipped bit in the segment size: EAUTH (header digest is in every AAD)', async () => {
  const at = object.indexOf('"segmentSize":4096', 16) + '"segmentSize":'.length; // '4' -> '5'
  await rejectsWith(() => decodeBuffer(flip(object, at, 0)), 'EAUTH', /failed authentication/);
});

test('flipped bit in the identity inside the header: EVERIFY naming the field', async () => {
  const at = object.indexOf('binlog.000042', 16) + 'binlog.0000'.length + 1; // '2' -> '3'
  await rejectsWith(() => decodeBuffer(flip(object, at, 0)), 'EVERIFY', /binlogFile is "binlog\.000043", expected "binlog\.000042"/);
});

test('flipped bit in the header that breaks JSON: EFORMAT', async () => {
  const at = object.indexOf('{', 16);
  await rejectsWith(() => decodeBuffer(flip(object, at, 1)), 'EFORMAT', /header body/);
});

test('flipped bit in a frame ciphertext and in a tag: EAUTH naming the frame', async () => {
  const f2 = layout.frames[2] as number;
  const err = await rejectsWith(() => decodeBuffer(flip(object, f2 + 20, 3)), 'EAUTH', /frame 2, byte offset \d+: failed authentication/);
  assert.equal(err.context.frame, 2);
  assert.equal(err.context.offset, f2);
  const tagByte = (layout.frames[3] as number) - 1;
  await rejectsWith(() => decodeBuffer(flip(object, tagByte, 0)), 'EAUTH', /frame 2/);
});

test('flipped bit in a frame nonce: EAUTH (index mismatch)', async () => {
  const f1 = layout.frames[1] as number;
  await rejectsWith(() => decodeBuffer(flip(object, f1 + 11, 1)), 'EAUTH', /carries index 3 where frame 1 belongs/);
});

test('flipped high bit in a frame length: EFORMAT before allocating', async () => {
  const f1 = layout.frames[1] as number;
  await rejectsWith(() => decodeBuffer(flip(object, f1 + 12, 7)), 'EFORMAT', /frame length \d+ is outside/);
});

test('flipped bit in the trailer: EAUTH', async () => {
  await rejectsWith(() => decodeBuffer(flip(object, layout.trailer + 30)), 'EAUTH', /trailer failed authentication/);
});

test('two frames swapped: EAUTH', async () => {
  const f = frames(object);
  const swapped = replaceFrames(object, [f[0], f[2], f[1], f[3], f[4]] as Buffer[]);
  await rejectsWith(() => decodeBuffer(swapped), 'EAUTH', /frame 1, .*carries index 2 where frame 1 belongs/s);
});

test('a frame duplicated: EAUTH', async () => {
  const f = frames(object);
  const duplicated = replaceFrames(object, [f[0], f[1], f[1], f[2], f[3], f[4]] as Buffer[]);
  await rejectsWith(() => decodeBuffer(duplicated), 'EAUTH', /carries index 1 where frame 2 belongs/);
});

test('a middle frame dropped: EAUTH', async () => {
  const f = frames(object);
  await rejectsWith(() => decodeBuffer(replaceFrames(object, [f[0], f[2], f[3], f[4]] as Buffer[])), 'EAUTH', /carries index 2 where frame 1 belongs/);
});

test('the final frame dropped (trailer moved up): EAUTH, the new last frame is not final', async () => {
  const f = frames(object);
  await rejectsWith(() => decodeBuffer(replaceFrames(object, [f[0], f[1], f[2], f[3]] as Buffer[])), 'EAUTH', /frame 3, .*failed authentication/s);
});

test('truncation at many offsets: EFORMAT saying the object is incomplete', async () => {
  const cuts = [
    0,
    10,
    20,
    layout.headerEnd - 1,
    layout.headerEnd,
    layout.headerEnd + 5,
    (layout.frames[1] as number) - 1,
    layout.frames[1] as number,
    (layout.frames[1] as number) + 14,
    layout.frames[3] as number,
    layout.trailer,
    layout.trailer + 10,
    object.length - 1,
  ];
  for (const cut of cuts) {
    const err = await rejectsWith(() => decodeBuffer(object.subarray(0, cut)), 'EFORMAT');
    assert.match(err.message, /ends|shorter than/, `cut at ${cut}: ${err.message}`);
    assert.match(err.message, /incomplete/, `cut at ${cut} has the truncation hint`);
  }
});

test('trailing garbage after the trailer: EFORMAT', async () => {
  const err = await rejectsWith(() => decodeBuffer(Buffer.concat([object, Buffer.from([0])])), 'EFORMAT', /byte offset \d+: unexpected bytes after the trailer/);
  assert.equal(err.context.offset, object.length);
  await rejectsWith(() => decodeBuffer(Buffer.concat([object, object.subarray(layout.trailer)])), 'EFORMAT', /after the trailer/);
});

test('a frame spliced from an object of another binlog (same data key): EAUTH', async () => {
  const other = (await encodeToBuffer(DATA, { identity: OTHER_IDENTITY })).object;
  const f = frames(object);
  const spliced = replaceFrames(object, [f[0], frameBytes(other, 1), f[2], f[3], f[4]] as Buffer[]);
  await rejectsWith(() => decodeBuffer(spliced), 'EAUTH', /frame 1, .*failed authentication/s);
});

test('a frame spliced from an object of the same binlog with another header: EAUTH', async () => {
  const other = (await encodeToBuffer(DATA, { encryptionContext: { namespace: 'other' } })).object;
  const f = frames(object);
  const spliced = replaceFrames(object, [f[0], f[1], frameBytes(other, 2), f[3], f[4]] as Buffer[]);
  await rejectsWith(() => decodeBuffer(spliced), 'EAUTH', /frame 2, .*failed authentication/s);
});

test('the trailer of another object: EAUTH', async () => {
  const other = (await encodeToBuffer(DATA, { identity: OTHER_IDENTITY })).object;
  const mixed = Buffer.concat([object.subarray(0, layout.trailer), other.subarray(recordOffsets(other).trailer)]);
  await rejectsWith(() => decodeBuffer(mixed), 'EAUTH', /trailer failed authentication/);
});

test('an object presented under another identity: EVERIFY before any frame is read', async () => {
  const err = await rejectsWith(
    () => decodeBuffer(object, { expected: OTHER_IDENTITY, objectName: 'src/binlog.000043' }),
    'EVERIFY',
    /"src\/binlog\.000043".*binlogFile is "binlog\.000042", expected "binlog\.000043"; sequence is 42, expected 43/s,
  );
  assert.equal(err.context.object, 'src/binlog.000043');
});

test("another object's frames under this object's header (renamed object with a forged header): EAUTH", async () => {
  const other = (await encodeToBuffer(DATA, { identity: OTHER_IDENTITY })).object;
  const forged = Buffer.concat([object.subarray(0, layout.headerEnd), other.subarray(recordOffsets(other).headerEnd)]);
  await rejectsWith(() => decodeBuffer(forged), 'EAUTH', /frame 0/);
});

test('after EKEY the same opened object can be decoded with the right key', async () => {
  const { readHeader, decodeObject } = await import('../../src/format/index.ts');
  const opened = await readHeader([object], { objectName: 'retry' });
  assert.throws(() => decodeObject({ object: opened, dek: OTHER_DEK, expected: IDENTITY }), { code: 'EKEY' });
  assert.throws(() => decodeObject({ object: opened, dek: DEK, expected: OTHER_IDENTITY }), { code: 'EVERIFY' });
  const decoded = decodeObject({ object: opened, dek: DEK, expected: IDENTITY });
  const parts: Buffer[] = [];
  for await (const b of decoded) parts.push(b);
  assert.ok(Buffer.concat(parts).equals(DATA));
});

test('wrong data key: EKEY naming the key reference; wrong key length: EKEY', async () => {
  await rejectsWith(() => decodeBuffer(object, { dek: OTHER_DEK }), 'EKEY', /data key does not match.*key provider local, key id file:\/etc\/binlog-archiver\/master\.key, version 1/s);
  await rejectsWith(() => decodeBuffer(object, { dek: DEK.subarray(0, 16) }), 'EKEY', /data key is 16 bytes, expected 32/);
});

test('every single-bit flip anywhere in a small object is rejected with a format, auth, verify or key error', async () => {
  const small = (await encodeToBuffer(compressible(1500), { segmentSize: 1024 })).object;
  const codes = new Map<string, number>();
  for (let offset = 0; offset < small.length; offset++) {
    const bad = flip(small, offset, offset % 8);
    try {
      await decodeBuffer(bad, { chunks: [small.length] });
      assert.fail(`flipping bit ${offset % 8} of byte ${offset} went unnoticed`);
    } catch (err) {
      assert.ok(err instanceof ArchiverError, `byte ${offset}: ${String(err)}`);
      assert.ok(['EFORMAT', 'EAUTH', 'EVERIFY', 'EKEY'].includes(err.code), `byte ${offset}: ${err.code}`);
      codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
    }
  }
  const l = recordOffsets(small);
  // Every byte from the first frame on is covered by GCM or structural checks; most flips there are EAUTH.
  assert.ok((codes.get('EAUTH') ?? 0) > (small.length - l.headerEnd) / 2, JSON.stringify([...codes]));
  assert.ok((codes.get('EFORMAT') ?? 0) > 0);
});

test('DEK is not needed to read the header; decodeObject refuses a second use of the same opened object', async () => {
  const { readHeader, decodeObject } = await import('../../src/format/index.ts');
  const opened = await readHeader([object], { objectName: 'x' });
  assert.equal(opened.header.identity.sequence, 42);
  decodeObject({ object: opened, dek: DEK, expected: IDENTITY });
  assert.throws(() => decodeObject({ object: opened, dek: DEK, expected: IDENTITY }), { code: 'EUSAGE' });
});
