import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson, type CanonicalObject } from '../../src/format/canonical-json.ts';
import { decodeHeaderBody, decodeHeaderPrefix, encodeHeader, type ArchiveHeader } from '../../src/format/header.ts';
import { encodeObject } from '../../src/format/index.ts';
import { encodeIdentity } from '../../src/format/identity.ts';
import { ArchiverError } from '../../src/errors.ts';
import { DEK, IDENTITY, KEY_REF, WRAPPED } from './helpers.ts';

const HEADER: ArchiveHeader = {
  segmentSize: 4194304,
  zstdLevel: 3,
  identity: IDENTITY,
  key: KEY_REF,
  wrappedKey: WRAPPED,
  keyCheck: Buffer.alloc(32, 0xab),
  encryptionContext: { namespace: 'db', 'binlog.archiver.dev/policy': 'nightly' },
};

const where = { object: 'h' };

function bodyOf(json: CanonicalObject): Buffer {
  return canonicalJson(json);
}

function validJson(): CanonicalObject {
  const bytes = encodeHeader(HEADER).bytes;
  return JSON.parse(bytes.subarray(16).toString()) as CanonicalObject;
}

test('header encodes to prefix + canonical body and decodes back', () => {
  const { bytes, digest } = encodeHeader(HEADER);
  assert.equal(bytes.subarray(0, 8).toString('hex'), '89424c41520d0a1a');
  assert.equal(bytes.readUInt16BE(8), 2, 'the default is the newest version');
  assert.equal(encodeHeader(HEADER, 1).bytes.readUInt16BE(8), 1);
  assert.equal(bytes.readUInt16BE(10), 0);
  assert.equal(bytes.readUInt32BE(12), bytes.length - 16);
  assert.equal(digest.length, 32);
  const body = bytes.subarray(16).toString();
  assert.equal(
    body,
    '{"algorithms":{"aead":"aes-256-gcm","compression":"zstd","kdf":"hkdf-sha256"},' +
      '"encryptionContext":{"binlog.archiver.dev/policy":"nightly","namespace":"db"},' +
      '"identity":{"batchId":"batch-2024-06-01T00:00:00Z","binlogFile":"binlog.000042","correlationId":"corr-7f3a","sequence":42,"source":"3e11fa47-71ca-11e1-9e33-c80aa9429562"},' +
      `"key":{"check":"${'ab'.repeat(32)}","id":"file:/etc/binlog-archiver/master.key","provider":"local","version":"1","wrapped":"${WRAPPED.toString('base64')}"},` +
      '"segmentSize":4194304,"zstdLevel":3}',
  );
  assert.deepEqual(decodeHeaderPrefix(bytes.subarray(0, 16), where), { version: 2, length: bytes.length - 16 });
  assert.deepEqual(decodeHeaderPrefix(encodeHeader(HEADER, 1).bytes.subarray(0, 16), where), { version: 1, length: bytes.length - 16 });
  assert.deepEqual(decodeHeaderBody(bytes.subarray(16), where), HEADER);
});

test('key version is optional and omitted when absent', () => {
  const h = { ...HEADER, key: { provider: 'awskms', keyId: 'arn:aws:kms:eu-west-1:1:key/x' } };
  const { bytes } = encodeHeader(h);
  assert.ok(!bytes.includes('"version"'));
  assert.deepEqual(decodeHeaderBody(bytes.subarray(16), where), h);
});

test('decoder rejects headers a v1 encoder cannot have written (EFORMAT)', () => {
  type Json = Record<string, unknown>;
  const mutate = (f: (j: Json, member: (name: string) => Json) => void): Buffer => {
    const j = validJson() as Json;
    f(j, (name) => j[name] as Json);
    return bodyOf(j as CanonicalObject);
  };
  const cases: [string, Buffer, RegExp][] = [
    ['unknown member', mutate((j) => (j.extra = 'x')), /unknown member "extra"/],
    ['other cipher', mutate((_, m) => (m('algorithms').aead = 'chacha20-poly1305')), /algorithms\.aead is "chacha20-poly1305"/],
    ['segment size too small', mutate((j) => (j.segmentSize = 100)), /segment size 100 is outside/],
    ['zstd level 0', mutate((j) => (j.zstdLevel = 0)), /zstd level 0 is outside/],
    ['identity missing a field', mutate((_, m) => delete m('identity').batchId), /identity lacks "batchId"/],
    ['non-canonical base64', mutate((_, m) => (m('key').wrapped = 'd3JhcHBlZA')), /key\.wrapped is not canonical base64/],
    ['uppercase key check', mutate((_, m) => (m('key').check = 'AB'.repeat(32))), /key\.check must be 64 lowercase hex digits/],
    ['non-string context value', mutate((_, m) => (m('encryptionContext').n = 5)), /encryptionContext\.n must be a string/],
    ['whitespace', Buffer.from(`${bodyOf(validJson()).toString()} `), /canonical/],
  ];
  for (const [name, body, pattern] of cases) {
    assert.throws(() => decodeHeaderBody(body, where), (err: unknown) => {
      assert.ok(err instanceof ArchiverError, name);
      assert.equal(err.code, 'EFORMAT', name);
      assert.match(err.message, pattern, name);
      assert.match(err.message, /byte offset 16/, name);
      return true;
    });
  }
});

test('prefix checks: magic, version, flags, body length', () => {
  const good = encodeHeader(HEADER).bytes.subarray(0, 16);
  const withByte = (i: number, v: number): Buffer => {
    const b = Buffer.from(good);
    b[i] = v;
    return b;
  };
  assert.throws(() => decodeHeaderPrefix(Buffer.from('Salted__12345678'), where), /openssl-aes-256-cbc compatibility object/);
  assert.throws(() => decodeHeaderPrefix(Buffer.from('28b52ffd000000000000000000000000', 'hex'), where), /unencrypted zstd stream/);
  assert.throws(() => decodeHeaderPrefix(withByte(9, 3), where), /format version 3 is not supported \(this decoder reads versions 1 and 2\)/);
  assert.throws(() => decodeHeaderPrefix(withByte(9, 0), where), /format version 0 is not supported/);
  assert.throws(() => decodeHeaderPrefix(withByte(11, 1), where), /flags are 0x1/);
  const tooLong = ((good.readUInt32BE(12) & 0xff00ffff) | 0x00010000) >>> 0;
  assert.throws(() => decodeHeaderPrefix(withByte(13, 0x01), where), new RegExp(`header body length ${tooLong} is outside 2\\.\\.65536`));
  assert.throws(() => decodeHeaderPrefix(good.subarray(0, 10), where), /shorter than the 16-byte header prefix/);
});

test('encoder refuses invalid settings and identities (EBADINPUT) and bad keys (EKEY) before reading anything', () => {
  const base = { source: [], dek: DEK, wrappedKey: WRAPPED, key: KEY_REF, identity: IDENTITY };
  const bad: [string, Record<string, unknown>, string, RegExp][] = [
    ['segment size', { segmentSize: 1000 }, 'EBADINPUT', /segment size 1000 is outside 1024\.\.67108864/],
    ['level', { level: 22 }, 'EBADINPUT', /zstd level 22 is outside 1\.\.19/],
    ['empty source id', { identity: { ...IDENTITY, source: '' } }, 'EBADINPUT', /identity\.source must be 1 to 255 UTF-8 bytes/],
    ['control character', { identity: { ...IDENTITY, binlogFile: 'a\nb' } }, 'EBADINPUT', /identity\.binlogFile contains a control character/],
    ['negative sequence', { identity: { ...IDENTITY, sequence: -1 } }, 'EBADINPUT', /identity\.sequence must be a non-negative safe integer/],
    ['empty wrapped key', { wrappedKey: Buffer.alloc(0) }, 'EBADINPUT', /wrapped data key must be 1 to 8192 bytes/],
    ['short DEK', { dek: Buffer.alloc(31) }, 'EKEY', /data key is 31 bytes, expected 32/],
  ];
  for (const [name, override, code, pattern] of bad) {
    assert.throws(() => encodeObject({ ...base, ...override }), (err: unknown) => {
      assert.ok(err instanceof ArchiverError, name);
      assert.equal(err.code, code, name);
      assert.match(err.message, pattern, name);
      return true;
    });
  }
});

test('identity encoding I is length-prefixed UTF-8 with a u64 sequence', () => {
  const I = encodeIdentity({ source: 'é', binlogFile: 'b.1', sequence: 258, correlationId: 'c', batchId: 'x' });
  assert.equal(I.toString('hex'), '0002c3a9' + '0003622e31' + '0000000000000102' + '000163' + '000178');
});
