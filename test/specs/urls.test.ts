import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyDefaults, policySpec, type KeyProviderSpec, type ResolvedKeyProvider, type ResolvedStorage } from '../../src/api/index.ts';
import { parseAwsKmsUrl } from '../../src/keys/aws-kms-url.ts';
import { parseKeyProviderUrl } from '../../src/keys/open-key-provider.ts';
import { parseVaultUrl } from '../../src/keys/vault-url.ts';
import { parseGcsStoreUrl } from '../../src/store/gcs-url.ts';
import { keyUrl, storeUrl } from '../../src/specs/index.ts';

function resolvedKey(keyProvider: KeyProviderSpec): ResolvedKeyProvider {
  return applyDefaults(policySpec, { source: { selector: { matchLabels: { a: 'b' } }, binlogVolume: 'v' }, storage: { bucket: 'bkt' }, keyProvider }).keyProvider;
}

describe('--store URL from spec.storage', () => {
  const cases: Array<{ storage: ResolvedStorage; url: string }> = [
    { storage: { bucket: 'acme-binlogs', forcePathStyle: false }, url: 's3://acme-binlogs' },
    { storage: { bucket: 'acme-binlogs', prefix: '', forcePathStyle: false }, url: 's3://acme-binlogs' },
    { storage: { bucket: 'acme-binlogs', prefix: 'prod/eu 1', region: 'eu-west-1', forcePathStyle: false }, url: 's3://acme-binlogs/prod/eu%201?region=eu-west-1' },
    {
      storage: { bucket: 'b.c', endpoint: 'https://minio:9000', region: 'us-east-1', forcePathStyle: true, objectLock: { mode: 'COMPLIANCE', days: 30 } },
      url: 's3://b.c?endpoint=https%3A%2F%2Fminio%3A9000&region=us-east-1&forcePathStyle=true&objectLockMode=COMPLIANCE&objectLockDays=30',
    },
  ];
  it('gs://bucket[/prefix]?endpoint= from storage.gcs, read back by the CLI\'s own parser; no credential in it', () => {
    const storage: ResolvedStorage = { forcePathStyle: false, gcs: { bucket: 'acme_binlogs.eu', prefix: 'prod/eu 1', endpoint: 'http://127.0.0.1:4443' } };
    const url = storeUrl(storage);
    assert.equal(url, 'gs://acme_binlogs.eu/prod/eu%201?endpoint=http%3A%2F%2F127.0.0.1%3A4443');
    assert.deepEqual(parseGcsStoreUrl(url), { bucket: 'acme_binlogs.eu', prefix: 'prod/eu 1', endpoint: 'http://127.0.0.1:4443' });
    assert.equal(storeUrl({ forcePathStyle: false, gcs: { bucket: 'b-1' } }), 'gs://b-1');
    assert.throws(() => storeUrl({ forcePathStyle: false }), /neither bucket nor gcs/);
  });

  it('storage.gcs.retention and eventBasedHold become the store\'s retention parameters, read back by its parser', () => {
    const url = storeUrl({ forcePathStyle: false, gcs: { bucket: 'b-1', retention: { mode: 'Locked', days: 35 }, eventBasedHold: true } });
    assert.equal(url, 'gs://b-1?retentionMode=Locked&retentionDays=35&eventBasedHold=true');
    assert.deepEqual(parseGcsStoreUrl(url), { bucket: 'b-1', prefix: '', retention: { mode: 'Locked', days: 35 }, eventBasedHold: true });
    assert.equal(storeUrl({ forcePathStyle: false, gcs: { bucket: 'b-1', eventBasedHold: false } }), 'gs://b-1');
  });

  for (const c of cases) {
    it(c.url, () => {
      assert.equal(storeUrl(c.storage), c.url);
      const parsed = new URL(c.url);
      assert.equal(parsed.hostname, c.storage.bucket);
      assert.equal(decodeURIComponent(parsed.pathname.slice(1)), c.storage.prefix ?? '');
      assert.equal(parsed.searchParams.get('endpoint') ?? undefined, c.storage.endpoint);
    });
  }
});

describe('--key URL from spec.keyProvider, read back by the CLI\'s own parsers', () => {
  it('local: the mounted key file', () => {
    assert.equal(keyUrl(resolvedKey({ local: { secretName: 'k' } })), 'file:///var/run/binlog-archiver/key/master.key');
  });

  const kms: Array<{ keyId: string; region?: string; endpoint?: string }> = [
    { keyId: 'alias/binlog-archiver', region: 'eu-west-1' },
    { keyId: '1234abcd-12ab-34cd-56ef-1234567890ab', region: 'us-east-1', endpoint: 'http://127.0.0.1:5000' },
    { keyId: 'arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
    { keyId: 'arn:aws:kms:eu-central-1:111122223333:alias/prod/binlogs', region: 'eu-central-1' },
  ];
  for (const k of kms) {
    it(`awsKms ${k.keyId}`, () => {
      const parsed = parseAwsKmsUrl(keyUrl(resolvedKey({ awsKms: k })));
      assert.equal(parsed.keyId, k.keyId);
      assert.equal(parsed.region, k.region ?? 'eu-central-1');
      assert.equal(parsed.endpoint, k.endpoint);
    });
  }

  it('vault with Kubernetes auth', () => {
    const parsed = parseVaultUrl(keyUrl(resolvedKey({ vault: { address: 'https://vault:8200', transitKey: 'binlogs', mount: 'secret/transit', namespace: 'team-a', kubernetesAuth: { role: 'r', mountPath: 'k8s-prod' }, caSecret: { name: 'ca' } } })));
    assert.deepEqual(parsed, {
      key: 'binlogs', addr: 'https://vault:8200', mount: 'secret/transit', namespace: 'team-a', caFile: '/var/run/binlog-archiver/vault-ca/ca.crt',
      auth: { method: 'kubernetes', role: 'r', jwtFile: '/var/run/binlog-archiver/vault-token/token', authMount: 'k8s-prod' },
    });
  });

  it('gcpKms: the CryptoKey name and endpoint, read back by the CLI\'s own parser', () => {
    const keyName = 'projects/acme-prod/locations/europe-west1/keyRings/binlogs/cryptoKeys/archive';
    assert.equal(keyUrl(resolvedKey({ gcpKms: { keyName } })), `gcpkms://${keyName}`);
    const url = keyUrl(resolvedKey({ gcpKms: { keyName, endpoint: 'https://kms.internal:8443' } }));
    assert.deepEqual(parseKeyProviderUrl(url), { kind: 'gcpkms', options: { keyName, endpoint: 'https://kms.internal:8443' } });
  });

  it('vault with a token Secret', () => {
    const parsed = parseVaultUrl(keyUrl(resolvedKey({ vault: { address: 'http://127.0.0.1:8200', transitKey: 'k', tokenSecret: { name: 'vault-token' } } })));
    assert.deepEqual(parsed, { key: 'k', addr: 'http://127.0.0.1:8200', mount: 'transit', auth: { method: 'token', tokenFile: '/var/run/binlog-archiver/vault-token/token' } });
  });
});
