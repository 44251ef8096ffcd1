// test-resources: gcpkms-key:shared
/**
 * The KeyProvider contract (contract.ts) on every provider: a local key file, AWS KMS (moto), Vault Transit
 * (OpenBao; a plain and a derived key) and Cloud KMS (our gRPC stand-in).
 */
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { before, describe } from 'node:test';
import { AwsKmsKeyProvider } from '../../src/keys/aws-kms-key-provider.ts';
import { GcpKmsKeyProvider } from '../../src/keys/gcp-kms-key-provider.ts';
import { keyFingerprint } from '../../src/keys/local-key-provider.ts';
import { openKeyProvider } from '../../src/keys/open-key-provider.ts';
import { VaultKeyProvider } from '../../src/keys/vault-key-provider.ts';
import { newKeyUrl, tempDir } from '../support/archive.ts';
import { kmsClient } from '../support/clients.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';
import { keyProviderContract } from './contract.ts';
import { closedPort, kmsUrl, useAwsCredentialFiles, vaultUrl } from './helpers.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

/** Three quick attempts: the failure message names them, and the suite does not wait on backoff. */
const QUICK = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 };

describe('local key file', () => {
  const dir = tempDir('blarc-keys-');
  const url = newKeyUrl(dir);
  keyProviderContract('file://', { remote: false }, () => ({
    url, kind: 'local',
    open: () => openKeyProvider(url),
    otherKeyId: keyFingerprint(randomBytes(32)),
    missingKey: () => openKeyProvider(`file://${path.join(dir, 'no-such-key')}`),
    contextMismatch: /the wrapped key or its encryption context was altered/,
    missingKeyMessage: /cannot read key file .*no-such-key: ENOENT/,
  }));
});

describe('AWS KMS (moto)', { skip: skipUnlessIn('kms') }, () => {
  let port = 0;
  let otherArn = '';
  before(async () => {
    const kms = need('kms');
    useAwsCredentialFiles(kms);
    port = await closedPort();
    const client = kmsClient(kms);
    otherArn = (await client.send(new CreateKeyCommand({ Description: 'binlog-archiver test: another key' }))).KeyMetadata!.Arn!;
    client.destroy();
  });
  keyProviderContract('awskms://', { remote: true }, () => {
    const kms = need('kms');
    const keyArn = `arn:aws:kms:${kms.region}:123456789012:key/${kms.keyId}`;
    return {
      url: kmsUrl(kms), kind: 'awskms',
      open: () => openKeyProvider(kmsUrl(kms)),
      otherKeyId: otherArn,
      missingKey: () => openKeyProvider(kmsUrl(kms, 'alias/binlog-archiver-no-such-alias')),
      unreachable: () => new AwsKmsKeyProvider({ keyId: kms.keyAlias, region: kms.region, endpoint: `http://127.0.0.1:${port}`, retry: QUICK }),
      contextMismatch: new RegExp(`^awskms key ${keyArn.replace(/[/]/g, '\\/')}: Decrypt failed: the wrapped data key does not decrypt under this encryption context.*InvalidCiphertextException`),
      missingKeyMessage: /^awskms key alias\/binlog-archiver-no-such-alias: GenerateDataKey failed: key not found \(NotFoundException/,
      unreachableMessage: new RegExp(`failed: KMS at http://127\\.0\\.0\\.1:${port} is unreachable \\(ECONNREFUSED\\) \\(3 attempts\\)`),
    };
  });
});

describe('Vault Transit (OpenBao)', { skip: skipUnlessIn('vault') }, () => {
  let port = 0;
  before(async () => {
    port = await closedPort();
  });
  for (const which of ['transitKey', 'derivedTransitKey'] as const) {
    keyProviderContract(`vault:// (${which})`, { remote: true }, () => {
      const vault = need('vault');
      const key = vault[which];
      const other = which === 'transitKey' ? vault.derivedTransitKey : vault.transitKey;
      return {
        url: vaultUrl(vault, { key }), kind: 'vault',
        open: () => openKeyProvider(vaultUrl(vault, { key })),
        otherKeyId: `${vault.mount}/${other}:v1`,
        missingKey: () => openKeyProvider(vaultUrl(vault, { key: 'blarc-no-such-key' })),
        unreachable: () => new VaultKeyProvider({ key, addr: `http://127.0.0.1:${port}`, mount: vault.mount, auth: { method: 'token', tokenFile: vault.tokenFile }, retry: QUICK }),
        keyVersion: /^\d+$/,
        contextMismatch: new RegExp(`^vault key ${vault.mount}/${key}: ${vault.mount}/decrypt failed: the wrapped data key does not decrypt under this encryption context.*message authentication failed`),
        missingKeyMessage: /^vault key transit\/blarc-no-such-key: transit\/datakey\/wrapped failed: Transit key not found/,
        unreachableMessage: new RegExp(`Vault at http://127\\.0\\.0\\.1:${port} is unreachable \\(ECONNREFUSED\\) \\(3 attempts\\)`),
      };
    });
  }
});

describe('Cloud KMS (stand-in)', { skip: skipUnlessIn('gcpkms') }, () => {
  let port = 0;
  before(async () => {
    port = await closedPort();
  });
  keyProviderContract('gcpkms://', { remote: true }, () => {
    const e = need('gcpkms');
    const url = `gcpkms://${e.keyName}?endpoint=${e.endpoint}`;
    return {
      url, kind: 'gcpkms',
      open: () => openKeyProvider(url),
      otherKeyId: `${e.disabledKeyName}/cryptoKeyVersions/1`,
      missingKey: () => openKeyProvider(`gcpkms://${e.keyName.replace(/archive$/, 'nope')}?endpoint=${e.endpoint}`),
      unreachable: () => new GcpKmsKeyProvider({ keyName: e.keyName, endpoint: `http://127.0.0.1:${port}`, timeoutMs: 2000, retry: QUICK }),
      keyVersion: /^cryptoKeyVersions\/\d+$/,
      contextMismatch: /INVALID_ARGUMENT.*ciphertext is invalid/,
      missingKeyMessage: /NOT_FOUND/,
      unreachableMessage: /UNAVAILABLE|unreachable|DEADLINE/,
    };
  });
});
