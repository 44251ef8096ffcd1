import { DecryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { kmsClient } from '../support/clients.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';

describe('AWS KMS API (moto server mode)', { skip: skipUnlessIn('kms') }, () => {
  let client: ReturnType<typeof kmsClient>;
  let keyAlias: string;
  before(() => {
    const kms = need('kms');
    client = kmsClient(kms);
    keyAlias = kms.keyAlias;
  });
  after(() => client?.destroy());

  const context = { namespace: 'db', policy: 'orders', source: 'mysql-0', batch: 'b-1' };

  it('GenerateDataKey gives a 32-byte key that Decrypt with the same EncryptionContext returns', async () => {
    const generated = await client.send(new GenerateDataKeyCommand({ KeyId: keyAlias, KeySpec: 'AES_256', EncryptionContext: context }));
    assert.equal(generated.Plaintext?.length, 32);
    assert.ok(generated.CiphertextBlob !== undefined && generated.CiphertextBlob.length > 32);
    const decrypted = await client.send(new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob, EncryptionContext: context }));
    assert.deepEqual(Buffer.from(decrypted.Plaintext!), Buffer.from(generated.Plaintext));
  });

  it('Decrypt with a different EncryptionContext fails', async () => {
    const generated = await client.send(new GenerateDataKeyCommand({ KeyId: keyAlias, KeySpec: 'AES_256', EncryptionContext: context }));
    await assert.rejects(client.send(new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob, EncryptionContext: { ...context, batch: 'b-2' } })),
      { name: 'InvalidCiphertextException' });
    await assert.rejects(client.send(new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob })), { name: 'InvalidCiphertextException' });
  });
});
