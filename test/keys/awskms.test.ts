// test-resources: cpu:shared
/**
 * The awskms key provider against the test environment's KMS server (moto in server mode), with credentials
 * from the SDK's default chain (a shared credentials file): what only AWS KMS has (the context binding held at
 * KMS itself, tampering, another key's ARN, a silent KMS). The shared cases run in the KeyProvider contract
 * (providers-contract.test.ts).
 */
import { CreateKeyCommand, DecryptCommand } from '@aws-sdk/client-kms';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AwsKmsKeyProvider } from '../../src/keys/aws-kms-key-provider.ts';
import { openKeyProvider } from '../../src/keys/open-key-provider.ts';
import { kmsClient } from '../support/clients.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';
import { code, kmsUrl, silentServer, useAwsCredentialFiles } from './helpers.ts';

describe('awskms key provider (moto KMS server)', { skip: skipUnlessIn('kms') }, () => {
  let kms: ReturnType<typeof need<'kms'>>;
  let client: ReturnType<typeof kmsClient>;
  let keyArn: string;
  const context = { namespace: 'db', policy: 'orders', source: 'mysql-0', batch: 'b-20260101-1' };

  before(() => {
    kms = need('kms');
    useAwsCredentialFiles(kms);
    client = kmsClient(kms);
    keyArn = `arn:aws:kms:${kms.region}:123456789012:key/${kms.keyId}`;
  });
  after(() => client?.destroy());

  it('GenerateDataKey gives a 32-byte key, wrapped under the key ARN, that only the same EncryptionContext unwraps at KMS', async () => {
    const provider = openKeyProvider(kmsUrl(kms));
    try {
      assert.equal(provider.kind, 'awskms');
      assert.equal(provider.keyId, kms.keyAlias);
      const dk = await provider.generateDataKey(context);
      assert.equal(dk.plaintext.length, 32);
      assert.notDeepEqual(dk.plaintext, Buffer.alloc(32));
      assert.equal(dk.keyId, keyArn);
      assert.deepEqual(await provider.decryptDataKey(dk.wrapped, context, dk.keyId), dk.plaintext);
      // Independently of our code: KMS itself holds the context binding.
      const direct = await client.send(new DecryptCommand({ CiphertextBlob: dk.wrapped, EncryptionContext: context }));
      assert.deepEqual(Buffer.from(direct.Plaintext!), dk.plaintext);
      await assert.rejects(client.send(new DecryptCommand({ CiphertextBlob: dk.wrapped })), { name: 'InvalidCiphertextException' });
    } finally {
      provider.close?.();
    }
  });

  it('a tampered or truncated wrapped data key, or one presented as another key\'s, fails with EKEY', async () => {
    const provider = openKeyProvider(kmsUrl(kms));
    try {
      const dk = await provider.generateDataKey(context);
      for (const at of [dk.wrapped.length - 5, 40, 3]) {
        const tampered = Buffer.from(dk.wrapped);
        tampered[at]! ^= 0x01;
        await assert.rejects(provider.decryptDataKey(tampered, context, dk.keyId), code('EKEY', /Decrypt failed/));
      }
      await assert.rejects(provider.decryptDataKey(dk.wrapped.subarray(0, 40), context, dk.keyId), code('EKEY', /Decrypt failed/));
      const other = await client.send(new CreateKeyCommand({ Description: 'binlog-archiver test: another key' }));
      await assert.rejects(provider.decryptDataKey(dk.wrapped, context, other.KeyMetadata!.Arn!), code('EKEY', /Decrypt failed: access denied \(AccessDeniedException/));
      await assert.rejects(provider.decryptDataKey(dk.wrapped, context, 'not a key'), code('EKEY', /names key "not a key", which is no KMS key id/));
    } finally {
      provider.close?.();
    }
  });

  it('a KMS that accepts connections but never answers fails within the bounded timeout', async () => {
    const silent = await silentServer();
    const provider = new AwsKmsKeyProvider({ keyId: kms.keyAlias, region: kms.region, endpoint: silent.url, connectTimeoutMs: 200, requestTimeoutMs: 300,
      retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 10 } });
    const started = Date.now();
    try {
      await assert.rejects(provider.generateDataKey(context), code('EKEYUNAVAILABLE', /GenerateDataKey failed: KMS at http:\/\/127\.0\.0\.1:\d+ did not answer within 500 ms/, /\(2 attempts\)/));
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 550 && elapsed < 10_000, `took ${elapsed} ms`); // bounded, with room for a loaded machine
    } finally {
      provider.close();
      await silent.close();
    }
  });

});
