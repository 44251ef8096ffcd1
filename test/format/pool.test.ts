import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { PinnedSha256 } from '../../src/format/pinned-hash.ts';
import { SegmentPool } from '../../src/format/pool.ts';
import { open, seal, TaskError, type Task } from '../../src/format/segment-tasks.ts';
import { frameAad, frameNonce, openRecordBody } from '../../src/format/frame.ts';
import { recordMatches } from '../../src/format/frame-core.js';
import { zstdFrameLength } from '../../src/format/zstd-core.js';
import { compressible } from './helpers.ts';

const key = () => new Uint8Array(32).fill(7);
const digest = new Uint8Array(32).fill(9);

function segment(data: Buffer): ArrayBuffer {
  const ab = new ArrayBuffer(data.length);
  new Uint8Array(ab).set(data);
  return ab;
}

test('a sealed frame opens with the same index and final flag only', () => {
  const data = compressible(3000);
  const sealed = seal({ kind: 'seal', key: key(), headerDigest: digest, index: 5, final: true, level: 3, segment: segment(data), length: data.length, verify: true });
  const record = new Uint8Array(sealed.record);
  assert.deepEqual([...record.subarray(0, 12)], [...frameNonce(5)]);
  assert.equal(Buffer.from(record).readUInt32BE(12), record.length - 16);
  const body = record.subarray(16);
  assert.ok(openRecordBody(key(), frameNonce(5), frameAad(digest, 5, true), body) !== undefined);
  assert.equal(openRecordBody(key(), frameNonce(5), frameAad(digest, 5, false), body), undefined);
  assert.equal(openRecordBody(key(), frameNonce(5), frameAad(digest, 4, true), body), undefined);
  const opened = open({ kind: 'open', key: key(), headerDigest: digest, index: 5, final: true, segmentSize: 4096, body: segment(Buffer.from(body)) });
  assert.ok(Buffer.from(opened.plaintext, 0, opened.length).equals(data));
  assert.throws(
    () => open({ kind: 'open', key: key(), headerDigest: digest, index: 5, final: false, segmentSize: 4096, body: segment(Buffer.from(body)) }),
    (e: unknown) => e instanceof TaskError && e.code === 'EAUTH',
  );
  // A non-final frame must hold exactly one full segment, even when it authenticates.
  const short = seal({ kind: 'seal', key: key(), headerDigest: digest, index: 1, final: false, level: 3, segment: segment(data), length: data.length, verify: true });
  assert.throws(
    () => open({ kind: 'open', key: key(), headerDigest: digest, index: 1, final: false, segmentSize: 4096, body: segment(Buffer.from(new Uint8Array(short.record).subarray(16))) }),
    (e: unknown) => e instanceof TaskError && e.code === 'EFORMAT' && /decompresses to 3000 bytes, expected 4096 for a non-final frame/.test(e.message),
  );
});

test('a frame of many crypto pieces is sealed as one GCM encryption of the whole frame, and verified', () => {
  // Incompressible: a frame of ~1.2 MiB, encrypted and decrypted in 128 KiB pieces (segment-core.js).
  const data = Buffer.concat([randomBytes(1200 * 1024), compressible(300 * 1024)]);
  const sealed = seal({ kind: 'seal', key: key(), headerDigest: digest, index: 2, final: false, level: 3, adapt: false, segment: segment(data), length: data.length, verify: true });
  const record = new Uint8Array(sealed.record);
  const body = record.subarray(16);
  const frame = openRecordBody(key(), frameNonce(2), frameAad(digest, 2, false), body);
  assert.ok(frame !== undefined);
  assert.equal(frame.length, sealed.compressedLength);
  assert.equal(zstdFrameLength(frame), frame.length);
  // The same bytes a one-shot encryption of the frame gives.
  const cipher = createCipheriv('aes-256-gcm', key(), frameNonce(2), { authTagLength: 16 });
  cipher.setAAD(frameAad(digest, 2, false));
  const whole = Buffer.concat([cipher.update(frame), cipher.final(), cipher.getAuthTag()]);
  assert.ok(Buffer.from(body).equals(whole));
  const opened = open({ kind: 'open', key: key(), headerDigest: digest, index: 2, final: false, segmentSize: data.length, body: segment(Buffer.from(body)) });
  assert.ok(Buffer.from(opened.plaintext, 0, opened.length).equals(data));
});

test('recordMatches: authenticated and equal, or why not (a changed byte anywhere, other content, longer or shorter)', () => {
  const frame = randomBytes(300 * 1024 + 5);
  const nonce = frameNonce(3);
  const aad = frameAad(digest, 3, true);
  const cipher = createCipheriv('aes-256-gcm', key(), nonce, { authTagLength: 16 });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(frame), cipher.final(), cipher.getAuthTag()]);
  for (const piece of [1000, 128 * 1024, body.length]) assert.equal(recordMatches(key(), nonce, aad, body, frame, piece), 'ok', `pieces of ${piece}`);
  for (const at of [0, 200 * 1024, frame.length - 1, frame.length, body.length - 1]) {
    const bad = Buffer.from(body);
    bad[at] = (bad[at] as number) ^ 1;
    assert.equal(recordMatches(key(), nonce, aad, bad, frame, 128 * 1024), 'auth', `byte ${at} changed`);
  }
  assert.equal(recordMatches(key(), nonce, frameAad(digest, 3, false), body, frame, 128 * 1024), 'auth', 'other AAD');
  assert.equal(recordMatches(key(), nonce, aad, body.subarray(0, 10), frame, 128 * 1024), 'auth', 'shorter than a tag');
  const other = Buffer.from(frame);
  other[250 * 1024] = (other[250 * 1024] as number) ^ 1;
  assert.equal(recordMatches(key(), nonce, aad, body, other, 128 * 1024), 'differs');
  assert.equal(recordMatches(key(), nonce, aad, body, frame.subarray(0, frame.length - 1), 128 * 1024), 'differs', 'expected shorter');
  assert.equal(recordMatches(key(), nonce, aad, body, Buffer.concat([frame, Buffer.alloc(1)]), 128 * 1024), 'differs', 'expected longer');
});

test('pool runs tasks on worker threads, transfers buffers and reports task errors with their code', async () => {
  const pool = new SegmentPool({ size: 2 });
  try {
    const data = compressible(10_000);
    const buffer = segment(data);
    const sealed = await pool.run({ kind: 'seal', key: key(), headerDigest: digest, index: 0, final: true, level: 3, segment: buffer, length: data.length, verify: true }, [buffer]);
    assert.equal(buffer.byteLength, 0, 'the segment buffer was transferred, not copied');
    assert.equal(sealed.segment.byteLength, data.length, 'and handed back');
    const body = segment(Buffer.from(new Uint8Array(sealed.record).subarray(16)));
    const opened = await pool.run({ kind: 'open', key: new Uint8Array(32), headerDigest: digest, index: 0, final: true, segmentSize: 16384, body }, [body]);
    assert.fail(`opened with the wrong key: ${opened.length}`);
  } catch (err) {
    assert.ok(err instanceof TaskError);
    assert.equal(err.code, 'EAUTH');
    assert.match(err.message, /failed authentication/);
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.run({ kind: 'compress', index: 0, level: 3, segment: new ArrayBuffer(1), length: 1, verify: false }, []), /pool is closed/);
});

test('an unknown task kind is an EINTERNAL failure, not a hang', async () => {
  const pool = new SegmentPool({ size: 1 });
  try {
    await assert.rejects(pool.run({ kind: 'bogus' } as unknown as Task, []), (e: unknown) => e instanceof TaskError && e.code === 'EINTERNAL');
  } finally {
    await pool.close();
  }
});

test('a hash kept on the pinned worker sees its updates in order, while shared tasks run beside it', async () => {
  const pool = new SegmentPool({ size: 2 });
  try {
    const parts = [compressible(70_000), Buffer.from('x'), compressible(5000)];
    const whole = createHash('sha256').update(Buffer.concat(parts)).digest();
    const a = new PinnedSha256(pool);
    const b = new PinnedSha256(pool);
    const shared = parts.map((p) => {
      const sab = new SharedArrayBuffer(p.length + 10);
      new Uint8Array(sab).set(p);
      return sab;
    });
    // Seals in flight on both workers between the steps: the pinned steps still reach their one worker in order.
    const busy = Array.from({ length: 6 }, (_, i) => {
      const data = compressible(50_000 + i);
      const buffer = segment(data);
      return pool.run({ kind: 'seal', key: key(), headerDigest: digest, index: i, final: true, level: 3, segment: buffer, length: data.length, verify: false }, [buffer]);
    });
    const updates = shared.map((sab, i) => a.update(sab, parts[i]!.length));
    const other = b.update(shared[2]!, parts[2]!.length);
    await Promise.all([...updates, other, ...busy]);
    assert.ok((await a.digest()).equals(whole));
    assert.ok((await b.digest()).equals(createHash('sha256').update(parts[2]!).digest()));
    // The bytes were read in place: the caller's buffers are intact.
    assert.ok(Buffer.from(shared[0]!, 0, parts[0]!.length).equals(parts[0]!));
  } finally {
    await pool.close();
  }
  await assert.rejects(new PinnedSha256(pool).update(new SharedArrayBuffer(1), 1), /pool is closed/);
});

test('a lost pinned worker rejects its pending hash steps instead of hanging', async () => {
  const pool = new SegmentPool({ size: 1 });
  try {
    const h = new PinnedSha256(pool);
    await h.update(new SharedArrayBuffer(8), 8);
    const pending = h.update(new SharedArrayBuffer(1 << 20), 1 << 20);
    const closing = pool.close();
    await assert.rejects(pending, (e: unknown) => e instanceof TaskError && e.code === 'EINTERNAL');
    await closing;
  } finally {
    await pool.close();
  }
});
