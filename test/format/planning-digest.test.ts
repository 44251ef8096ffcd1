/**
 * Format version 2 binds a planning digest into the authenticated trailer (and the compatibility sidecar's HMAC):
 * it decodes back, and changing it, dropping it (a downgrade to version 1) or moving it fails authentication.
 * Version 1 objects and sidecars still decode, with no digest.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { decodeOpensslObject, encodeOpensslObject, readOpensslPassFile } from '../../src/format/index.ts';
import { IDENTITY, chunked, collect, compressible, decodeBuffer, encodeToBuffer, recordOffsets, rejectsWith } from './helpers.ts';

const DATA = compressible(20_000);
const DIGEST = createHash('sha256').update('{"binlog":{},"source":{}}').digest();
const OTHER = createHash('sha256').update('other').digest();

function flip(b: Buffer, at: number, bit = 0): Buffer {
  const c = Buffer.from(b);
  c[at]! ^= 1 << bit;
  return c;
}

test('v2: the header says version 2, the trailer is 104 bytes and the digest decodes back', async () => {
  const { object, result } = await encodeToBuffer(DATA, { planningSha256: () => DIGEST });
  assert.equal(object.readUInt16BE(8), 2);
  assert.equal(result.formatVersion, 2);
  assert.equal(result.planningSha256, DIGEST.toString('hex'));
  const { trailer } = recordOffsets(object);
  assert.equal(object.readUInt32BE(trailer + 12), 88 + 16);
  assert.equal(object.length, trailer + 16 + 104);
  const decoded = await decodeBuffer(object);
  assert.ok(decoded.plaintext.equals(DATA));
  assert.equal(decoded.result.planningSha256, DIGEST.toString('hex'));
  assert.equal(decoded.result.formatVersion, 2);
});

test('v1 is still written without a digest, and decodes with planningSha256 null', async () => {
  const { object, result } = await encodeToBuffer(DATA);
  assert.equal(object.readUInt16BE(8), 1);
  assert.equal(result.planningSha256, null);
  const decoded = await decodeBuffer(object);
  assert.equal(decoded.result.formatVersion, 1);
  assert.equal(decoded.result.planningSha256, null);
});

test('the same input and digest give the same bytes (a resumed upload re-creates them); another digest changes only the trailer', async () => {
  const a = await encodeToBuffer(DATA, { planningSha256: () => DIGEST });
  const b = await encodeToBuffer(DATA, { planningSha256: () => DIGEST });
  const c = await encodeToBuffer(DATA, { planningSha256: () => OTHER });
  assert.ok(a.object.equals(b.object));
  const { trailer } = recordOffsets(a.object);
  assert.ok(a.object.subarray(0, trailer).equals(c.object.subarray(0, trailer)));
  assert.ok(!a.object.equals(c.object));
});

test('v2 tampering: any bit of the trailer, a trailer from another object, the version byte: EAUTH', async () => {
  const { object } = await encodeToBuffer(DATA, { planningSha256: () => DIGEST });
  const { object: other } = await encodeToBuffer(DATA, { planningSha256: () => OTHER });
  const { trailer } = recordOffsets(object);
  // Every byte of the trailer's ciphertext carrying the digest (plaintext bytes 56..87).
  for (const at of [trailer + 16 + 56, trailer + 16 + 70, trailer + 16 + 87, trailer + 16 + 88 + 15]) {
    await rejectsWith(() => decodeBuffer(flip(object, at)), 'EAUTH', /trailer failed authentication/);
  }
  // A trailer from an object of another identity does not authenticate here.
  const { object: stranger } = await encodeToBuffer(DATA, { planningSha256: () => DIGEST, identity: { ...IDENTITY, correlationId: 'corr-other' } });
  await rejectsWith(() => decodeBuffer(Buffer.concat([object.subarray(0, trailer), stranger.subarray(recordOffsets(stranger).trailer)])), 'EAUTH', /trailer failed authentication/);
  // The same writer (key and identity) re-encoding with another digest makes an authentic object that reports that
  // digest, never the first one: the manifest comparison is what refuses it.
  const swapped = Buffer.concat([object.subarray(0, trailer), other.subarray(trailer)]);
  assert.equal((await decodeBuffer(swapped)).result.planningSha256, OTHER.toString('hex'));
  // Downgrade to version 1 (which has no digest): the header digest changes, so the first frame fails.
  await rejectsWith(() => decodeBuffer(flip(object, 9, 1).fill(1, 9, 10)), 'EAUTH');
  // A v1-length trailer under a v2 header is refused before decryption.
  const { object: v1 } = await encodeToBuffer(DATA);
  const v1Trailer = recordOffsets(v1).trailer;
  await rejectsWith(() => decodeBuffer(Buffer.concat([object.subarray(0, trailer), v1.subarray(v1Trailer)])), 'EFORMAT', /trailer length is 72, expected 104/);
});

test('a planning digest that is not 32 bytes is refused (EBADINPUT)', async () => {
  await rejectsWith(() => encodeToBuffer(DATA, { planningSha256: () => Buffer.alloc(31) }), 'EBADINPUT', /planning digest must be 32 bytes/);
});

const PASS = readOpensslPassFile(Buffer.from('correct horse battery staple\n'));

async function compat(planning?: Buffer) {
  const encoded = encodeOpensslObject({ source: chunked(DATA), passphrase: PASS, identity: IDENTITY, segmentSize: 4096, ...(planning === undefined ? {} : { planningSha256: () => planning }) });
  const object = await collect(encoded);
  return { object, result: await encoded.result };
}

async function decodeCompat(object: Buffer, sidecar: Buffer | string) {
  const decoded = decodeOpensslObject({ source: [object], sidecar: Buffer.from(sidecar), passphrase: PASS, expected: IDENTITY, objectName: 'compat' });
  const plaintext = await collect(decoded);
  return { plaintext, result: await decoded.result };
}

test('compat: sidecar version 2 carries the digest under the HMAC; version 1 sidecars still decode', async () => {
  const v2 = await compat(DIGEST);
  const doc = JSON.parse(v2.result.sidecarBytes.toString()) as Record<string, unknown>;
  assert.equal(doc.version, 2);
  assert.equal(doc.planningSha256, DIGEST.toString('hex'));
  const ok = await decodeCompat(v2.object, v2.result.sidecarBytes);
  assert.ok(ok.plaintext.equals(DATA));
  assert.equal(ok.result.planningSha256, DIGEST.toString('hex'));
  const v1 = await compat();
  assert.ok(v1.object.equals(v2.object), 'the object bytes do not depend on the sidecar version');
  assert.equal((JSON.parse(v1.result.sidecarBytes.toString()) as { version: number }).version, 1);
  assert.equal((await decodeCompat(v1.object, v1.result.sidecarBytes)).result.planningSha256, null);
});

test('compat: an edited digest, a digest dropped (downgrade to version 1) or added to a version 1 sidecar fail', async () => {
  const v2 = await compat(DIGEST);
  const doc = JSON.parse(v2.result.sidecarBytes.toString()) as Record<string, unknown>;
  await rejectsWith(() => decodeCompat(v2.object, JSON.stringify({ ...doc, planningSha256: OTHER.toString('hex') })), 'EAUTH', /HMAC-SHA256/);
  const { planningSha256: _dropped, ...withoutDigest } = doc;
  await rejectsWith(() => decodeCompat(v2.object, JSON.stringify({ ...withoutDigest, version: 1 })), 'EAUTH', /HMAC-SHA256/);
  await rejectsWith(() => decodeCompat(v2.object, JSON.stringify({ ...doc, planningSha256: undefined })), 'EFORMAT', /planningSha256 must be 64 lowercase hex digits/);
  const v1 = JSON.parse((await compat()).result.sidecarBytes.toString()) as Record<string, unknown>;
  await rejectsWith(() => decodeCompat(v2.object, JSON.stringify({ ...v1, planningSha256: DIGEST.toString('hex') })), 'EFORMAT', /version 1 has no planningSha256/);
  await rejectsWith(() => decodeCompat(v2.object, JSON.stringify({ ...v1, version: 2, planningSha256: DIGEST.toString('hex') })), 'EAUTH', /HMAC-SHA256/);
});
