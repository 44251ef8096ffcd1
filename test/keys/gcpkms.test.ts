// test-resources: gcpkms-key
/**
 * The gcpkms key provider against the Cloud KMS stand-in (testenv/servers/gcpkms-server.ts), and the stand-in
 * on its own against the service's documented behaviour (checksums, names, versions, error codes).
 */
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { grpc } from 'google-gax';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { crc32c } from '../../src/keys/gcp-kms-crc32c.ts';
import { GcpKmsKeyProvider } from '../../src/keys/gcp-kms-key-provider.ts';
import { openKeyProvider, parseKeyProviderUrl } from '../../src/keys/open-key-provider.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

const context = { namespace: 'db', policy: 'orders', source: 'mysql-1', batch: '20260101T000000Z-abc' };

function isKeyError(code: string, pattern: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof ArchiverError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('CRC32C of the Cloud KMS integrity fields', () => {
  it('matches the RFC 3720 (iSCSI) test vectors', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
    assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
    assert.equal(crc32c(Buffer.alloc(0)), 0);
  });
});

describe('gcpkms:// URLs', () => {
  it('takes a CryptoKey name and an endpoint, and refuses versions, bad names and secrets', () => {
    const name = 'projects/my-project/locations/europe-west1/keyRings/ring/cryptoKeys/key';
    assert.deepEqual(parseKeyProviderUrl(`gcpkms://${name}?endpoint=https://kms.internal:8443`), { kind: 'gcpkms', options: { keyName: name, endpoint: 'https://kms.internal:8443' } });
    assert.throws(() => parseKeyProviderUrl(`gcpkms://${name}/cryptoKeyVersions/3`), /names a CryptoKeyVersion/);
    assert.throws(() => parseKeyProviderUrl('gcpkms://projects/p/keyRings/r'), /not a Cloud KMS CryptoKey name/);
    assert.throws(() => parseKeyProviderUrl(`gcpkms://${name}?token=abc`), /not accepted/);
    assert.throws(() => parseKeyProviderUrl(`gcpkms:///${name}`), /starts with \//);
  });
});

describe('Cloud KMS stand-in and the gcpkms provider', { skip: skipUnlessIn('gcpkms') }, () => {
  let admin: KeyManagementServiceClient;
  let provider: GcpKmsKeyProvider;
  const e = () => need('gcpkms');
  before(() => {
    const port = Number(new URL(e().endpoint).port);
    admin = new KeyManagementServiceClient({ apiEndpoint: '127.0.0.1', port, sslCreds: grpc.credentials.createInsecure() });
    provider = openKeyProvider(`gcpkms://${e().keyName}?endpoint=${e().endpoint}`) as GcpKmsKeyProvider;
  });
  after(async () => {
    provider.close();
    await admin.close();
  });

  it('refuses an altered wrapped key as EKEY (INVALID_ARGUMENT); the context and key name cases are in the contract', async () => {
    const dk = await provider.generateDataKey(context);
    const altered = Buffer.from(dk.wrapped);
    altered[altered.length - 1] = (altered[altered.length - 1] ?? 0) ^ 1;
    await assert.rejects(provider.decryptDataKey(altered, context, dk.keyId), isKeyError('EKEY', /INVALID_ARGUMENT/));
    await assert.rejects(provider.decryptDataKey(dk.wrapped, context, `${e().disabledKeyName}/cryptoKeyVersions/1`), isKeyError('EKEY', /--key names/));
  });

  it('refuses a missing key (NOT_FOUND), a foreign key ring (PERMISSION_DENIED) and a disabled primary version (FAILED_PRECONDITION)', async () => {
    const missing = openKeyProvider(`gcpkms://${e().keyName.replace(/archive$/, 'nope')}?endpoint=${e().endpoint}`);
    await assert.rejects(missing.generateDataKey(context), isKeyError('EKEY', /NOT_FOUND/));
    const foreign = openKeyProvider(`gcpkms://projects/someone-else/locations/global/keyRings/r/cryptoKeys/k?endpoint=${e().endpoint}`);
    await assert.rejects(foreign.generateDataKey(context), isKeyError('EKEY', /PERMISSION_DENIED/));
    const disabled = openKeyProvider(`gcpkms://${e().disabledKeyName}?endpoint=${e().endpoint}`);
    await assert.rejects(disabled.generateDataKey(context), isKeyError('EKEY', /FAILED_PRECONDITION/));
    for (const p of [missing, foreign, disabled]) p.close?.();
  });

  it('keeps old data keys readable across a rotation, and refuses one whose version was disabled', async () => {
    const before = await provider.generateDataKey(context);
    const [created] = await admin.createCryptoKeyVersion({ parent: e().keyName, cryptoKeyVersion: {} });
    const id = /\/cryptoKeyVersions\/(\d+)$/.exec(created.name ?? '')?.[1] ?? '';
    await admin.updateCryptoKeyPrimaryVersion({ name: e().keyName, cryptoKeyVersionId: id });
    const rotated = await provider.generateDataKey(context);
    assert.equal(rotated.keyVersion, `cryptoKeyVersions/${id}`);
    assert.notEqual(rotated.keyVersion, before.keyVersion);
    assert.deepEqual(await provider.decryptDataKey(before.wrapped, context, before.keyId), before.plaintext);
    await admin.updateCryptoKeyVersion({ cryptoKeyVersion: { name: created.name, state: 'DISABLED' }, updateMask: { paths: ['state'] } });
    try {
      await assert.rejects(provider.decryptDataKey(rotated.wrapped, context, rotated.keyId), isKeyError('EKEY', /FAILED_PRECONDITION/));
    } finally {
      await admin.updateCryptoKeyVersion({ cryptoKeyVersion: { name: created.name, state: 'ENABLED' }, updateMask: { paths: ['state'] } });
    }
    assert.deepEqual(await provider.decryptDataKey(rotated.wrapped, context, rotated.keyId), rotated.plaintext);
  });

  it('stand-in: checks the request CRC32C fields and answers with its own', async () => {
    const plaintext = Buffer.from('0123456789abcdef0123456789abcdef');
    const aad = Buffer.from('aad');
    await assert.rejects(admin.encrypt({ name: e().keyName, plaintext, plaintextCrc32c: { value: crc32c(plaintext) ^ 1 } }),
      (err: { code?: number; details?: string }) => err.code === grpc.status.INVALID_ARGUMENT && /plaintext_crc32c/.test(err.details ?? ''));
    const [res] = await admin.encrypt({ name: e().keyName, plaintext, additionalAuthenticatedData: aad,
      plaintextCrc32c: { value: crc32c(plaintext) }, additionalAuthenticatedDataCrc32c: { value: crc32c(aad) } });
    assert.equal(res.verifiedPlaintextCrc32c, true);
    assert.equal(res.verifiedAdditionalAuthenticatedDataCrc32c, true);
    const ciphertext = Buffer.from(res.ciphertext as Uint8Array);
    assert.equal(Number(res.ciphertextCrc32c?.value), crc32c(ciphertext));
    const [unverified] = await admin.encrypt({ name: e().keyName, plaintext });
    assert.equal(unverified.verifiedPlaintextCrc32c, false, 'no checksum sent, none verified');
    await assert.rejects(admin.decrypt({ name: e().keyName, ciphertext, additionalAuthenticatedData: aad, ciphertextCrc32c: { value: crc32c(ciphertext) ^ 1 } }),
      (err: { code?: number }) => err.code === grpc.status.INVALID_ARGUMENT);
    await assert.rejects(admin.decrypt({ name: `${e().keyName}/cryptoKeyVersions/1`, ciphertext, additionalAuthenticatedData: aad }),
      (err: { code?: number }) => err.code === grpc.status.INVALID_ARGUMENT);
    const [plain] = await admin.decrypt({ name: e().keyName, ciphertext, additionalAuthenticatedData: aad });
    assert.deepEqual(Buffer.from(plain.plaintext as Uint8Array), plaintext);
    assert.equal(Number(plain.plaintextCrc32c?.value), crc32c(plaintext));
    await assert.rejects(admin.encrypt({ name: e().keyName, plaintext: Buffer.alloc(64 * 1024 + 1) }), (err: { code?: number }) => err.code === grpc.status.INVALID_ARGUMENT);
  });

});
