/**
 * Reader rules of docs/FORMAT.md that no correct writer exercises, checked on objects built here from the
 * specification with node:crypto (sections 2 to 5): which zstd frames a reader accepts (5.1), canonical base64
 * (2.4 rule 6), and which objectLength the compatibility HMAC covers (10.4).
 */
import assert from 'node:assert/strict';
import { createCipheriv, createHash, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { constants, zstdCompressSync } from 'node:zlib';
import { canonicalJson, type CanonicalObject } from '../../src/format/canonical-json.ts';
import { decodeOpensslObject, readOpensslPassFile } from '../../src/format/index.ts';
import { collect, decodeBuffer, DEK, IDENTITY, rejectsWith } from './helpers.ts';
import { identityBytes } from './spec-decoder.ts';

const SEGMENT = 1024;
const PLAIN = Buffer.from('one segment of binlog bytes\n'.repeat(30));

function gcm(key: Buffer, nonce: Buffer, aad: Buffer, plaintext: Buffer): Buffer {
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

function record(nonce: Buffer, body: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([nonce, length, body]);
}

/** A one-frame v1 object whose frame payload is `payload` (any bytes), built from sections 2 to 5. */
function specObject(payload: Buffer, wrapped = 'AA=='): Buffer {
  const I = identityBytes(IDENTITY);
  const salt = Buffer.from('binlog-archiver/format/v1');
  const derive = (label: string): Buffer => Buffer.from(hkdfSync('sha256', DEK, salt, Buffer.concat([Buffer.from(`${label}\0`), I]), 32));
  const header: CanonicalObject = {
    algorithms: { aead: 'aes-256-gcm', compression: 'zstd', kdf: 'hkdf-sha256' },
    encryptionContext: {},
    identity: { ...IDENTITY },
    key: { check: derive('key check').toString('hex'), id: 'k', provider: 'local', wrapped },
    segmentSize: SEGMENT,
    zstdLevel: 3,
  };
  const body = canonicalJson(header);
  const prefix = Buffer.from('89424c41520d0a1a0001000000000000', 'hex');
  prefix.writeUInt32BE(body.length, 12);
  const H = createHash('sha256').update(prefix).update(body).digest();
  const K = derive('aes-256-gcm key');
  const frameAad = Buffer.concat([Buffer.from('binlog-archiver/v1/frame'), H, Buffer.alloc(8), Buffer.from([1])]);
  const trailer = Buffer.alloc(56);
  trailer.writeBigUInt64BE(BigInt(PLAIN.length), 0);
  trailer.writeBigUInt64BE(1n, 8);
  trailer.writeBigUInt64BE(BigInt(payload.length), 16);
  createHash('sha256').update(PLAIN).digest().copy(trailer, 24);
  const trailerNonce = Buffer.from('000000010000000000000000', 'hex');
  const trailerAad = Buffer.concat([Buffer.from('binlog-archiver/v1/trailer'), H, Buffer.from('0000000000000001', 'hex')]);
  return Buffer.concat([
    prefix, body,
    record(Buffer.alloc(12), gcm(K, Buffer.alloc(12), frameAad, payload)),
    record(trailerNonce, gcm(K, trailerNonce, trailerAad, trailer)),
  ]);
}

function zstd(checksum: 0 | 1, contentSize: 0 | 1): Buffer {
  return zstdCompressSync(PLAIN, { params: { [constants.ZSTD_c_checksumFlag]: checksum, [constants.ZSTD_c_contentSizeFlag]: contentSize } });
}

test('the spec-built object decodes (the builder follows the format)', async () => {
  const { plaintext, result } = await decodeBuffer(specObject(zstd(1, 1)));
  assert.ok(plaintext.equals(PLAIN));
  assert.equal(result.frames, 1);
});

test('5.1: a reader does not require Content_Checksum_flag or Frame_Content_Size', async () => {
  for (const [checksum, contentSize] of [[0, 1], [1, 0], [0, 0]] as const) {
    const payload = zstd(checksum, contentSize);
    assert.equal((payload[4]! & 0x04) !== 0, checksum === 1, 'checksum flag as asked');
    const { plaintext } = await decodeBuffer(specObject(payload));
    assert.ok(plaintext.equals(PLAIN), `checksum ${checksum}, content size ${contentSize}`);
  }
});

test('5.1: a present checksum is verified; dictionaries, skippable frames and trailing bytes are refused', async () => {
  const badChecksum = zstd(1, 1);
  badChecksum[badChecksum.length - 1]! ^= 0x01;
  await rejectsWith(() => decodeBuffer(specObject(badChecksum)), 'EFORMAT', /checksum/);
  // Dictionary_ID_flag 1 with a one-byte dictionary id inserted after the descriptor.
  const plain = zstd(1, 1);
  const withDictionary = Buffer.concat([plain.subarray(0, 5), Buffer.from([0x42]), plain.subarray(5)]);
  withDictionary[4]! |= 0x01;
  await rejectsWith(() => decodeBuffer(specObject(withDictionary)), 'EFORMAT', /Dictionary/);
  const skippable = Buffer.concat([Buffer.from('502a4d1804000000', 'hex'), Buffer.alloc(4)]);
  await rejectsWith(() => decodeBuffer(specObject(skippable)), 'EFORMAT', /skippable/);
  await rejectsWith(() => decodeBuffer(specObject(Buffer.concat([plain, Buffer.from([0])]))), 'EFORMAT', /follow the zstd frame/);
});

test('2.4 rule 6: key.wrapped must be canonical base64', async () => {
  assert.ok((await decodeBuffer(specObject(zstd(1, 1), 'QQ=='))).plaintext.equals(PLAIN));
  for (const wrapped of ['QR==', 'QQ', 'Q Q==', '_w==', 'QQ==\n']) {
    await rejectsWith(() => decodeBuffer(specObject(zstd(1, 1), wrapped)), 'EFORMAT', /key\.wrapped is not canonical base64/);
  }
});

test('10.4: the HMAC covers the number of object bytes read, not the sidecar objectLength', async () => {
  const doc = readFileSync(new URL('../../docs/FORMAT.md', import.meta.url), 'utf8');
  const block = (name: string): string => new RegExp(`<!-- vector:${name} -->\\n\`\`\`\\n([^\`]*)\`\`\``).exec(doc)?.[1]?.trim() ?? '';
  const object = Buffer.from(block('compat-object').replace(/\s+/g, ''), 'hex');
  const sidecar = JSON.parse(block('compat-sidecar')) as Record<string, unknown>;
  const passphrase = readOpensslPassFile(Buffer.from('correct horse battery staple\n'));
  const identity = { ...IDENTITY, binlogFile: 'binlog.000001', sequence: 1, correlationId: 'corr-0001', batchId: 'batch-0001' };
  const decode = (s: Record<string, unknown>): Promise<Buffer> =>
    collect(decodeOpensslObject({ source: [object], sidecar: Buffer.from(JSON.stringify(s)), passphrase, expected: identity, objectName: 'vector' }));
  assert.equal((await decode(sidecar)).length, 1120);
  // Were the sidecar's objectLength MACed, this edit would fail the HMAC; it passes it and fails the length check.
  await rejectsWith(() => decode({ ...sidecar, objectLength: object.length + 1 }), 'EAUTH', /object is 128 bytes .* the sidecar says 129 bytes/);
});
