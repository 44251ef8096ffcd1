/** The --key URL grammar of the remote providers: what parses to what, and the precise usage errors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAwsKmsUrl } from '../../src/keys/aws-kms-url.ts';
import { openKeyProvider } from '../../src/keys/open-key-provider.ts';
import { parseVaultUrl } from '../../src/keys/vault-url.ts';
import { code } from './helpers.ts';

const ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe('awskms:// URLs', () => {
  it('parses key ids, aliases and ARNs; an ARN supplies the region', () => {
    assert.deepEqual(parseAwsKmsUrl('awskms://alias/binlog-archiver?region=eu-west-1'), { keyId: 'alias/binlog-archiver', region: 'eu-west-1' });
    assert.deepEqual(parseAwsKmsUrl('awskms://1234abcd-12ab-34cd-56ef-1234567890ab?region=us-east-2&endpoint=https://kms.example:4443'),
      { keyId: '1234abcd-12ab-34cd-56ef-1234567890ab', region: 'us-east-2', endpoint: 'https://kms.example:4443' });
    assert.deepEqual(parseAwsKmsUrl(`awskms://${ARN}`), { keyId: ARN, region: 'eu-west-1' });
    assert.deepEqual(parseAwsKmsUrl(`awskms://${ARN}?region=eu-west-1`), { keyId: ARN, region: 'eu-west-1' });
    assert.deepEqual(parseAwsKmsUrl('awskms://mrk-1234abcd12ab34cd56ef1234567890ab?region=eu-west-1').keyId, 'mrk-1234abcd12ab34cd56ef1234567890ab');
    assert.deepEqual(parseAwsKmsUrl('awskms://arn:aws:kms:eu-west-1:111122223333:alias/archiver').region, 'eu-west-1');
    assert.deepEqual(parseAwsKmsUrl('awskms://alias%2Fencoded?region=eu-west-1').keyId, 'alias/encoded');
  });

  it('refuses malformed URLs with what is wrong and how to write it', () => {
    const cases: [string, RegExp][] = [
      ['awskms://?region=eu-west-1', /missing key id: put the KMS key id, alias or ARN after awskms:\/\//],
      ['awskms://', /missing key id/],
      ['awskms://alias/x', /missing region=/],
      ['awskms:///alias/x?region=eu-west-1', /starts with \//],
      ['awskms://my-key?region=eu-west-1', /"my-key" is not a KMS key id, alias or ARN/],
      [`awskms://${ARN}?region=us-east-1`, /region=us-east-1 contradicts the key ARN, which is in eu-west-1/],
      ['awskms://alias/x?region=Europe', /region=Europe is not an AWS region name/],
      ['awskms://alias/x?region=eu-west-1&region=eu-west-2', /parameter region= is given twice/],
      ['awskms://alias/x?region=', /parameter region= is empty/],
      ['awskms://alias/x?region=eu-west-1&Endpoint=http://x', /unknown parameter Endpoint=/],
      ['awskms://alias/x?region=eu-west-1&profile=prod', /unknown parameter profile=/],
      ['awskms://alias/x?region=eu-west-1&accessKeyId=AKIA', /parameter accessKeyId= is not accepted/],
      ['awskms://alias/x?region=eu-west-1&endpoint=ftp://x', /endpoint=ftp:\/\/x must be an http:\/\/ or https:\/\/ URL/],
      ['awskms://alias/x?region=eu-west-1&endpoint=http://u:p@host', /endpoint= must not carry credentials/],
      ['awskms://alias/x?region=eu-west-1&endpoint=not a url', /endpoint=not a url is not a URL/],
      ['awskms://alias/x?region=eu-west-1#frag', /has no #fragment/],
      ['awskms://alias%zz?region=eu-west-1', /not valid percent-encoding/],
    ];
    for (const [url, pattern] of cases) assert.throws(() => parseAwsKmsUrl(url), code('EUSAGE', pattern), url);
    assert.throws(() => parseAwsKmsUrl('awskms://alias/x?region=eu-west-1&secretAccessKey=s'), (err: Error & { hint?: string }) => {
      assert.match(err.hint ?? '', /default credential chain/);
      return true;
    });
  });
});

describe('vault:// URLs', () => {
  it('parses token-file and Kubernetes auth forms', () => {
    assert.deepEqual(parseVaultUrl('vault://binlog-archiver?addr=https://vault:8200&tokenFile=/var/run/secrets/vault/token'), {
      key: 'binlog-archiver', addr: 'https://vault:8200', mount: 'transit', auth: { method: 'token', tokenFile: '/var/run/secrets/vault/token' },
    });
    assert.deepEqual(parseVaultUrl('vault://k1?addr=http://127.0.0.1:8200/&mount=/kv/transit2/&role=archiver&jwtFile=/t&namespace=team-a&caFile=/ca.pem'), {
      key: 'k1', addr: 'http://127.0.0.1:8200', mount: 'kv/transit2', auth: { method: 'kubernetes', role: 'archiver', jwtFile: '/t', authMount: 'kubernetes' },
      namespace: 'team-a', caFile: '/ca.pem',
    });
    assert.deepEqual(parseVaultUrl('vault://k?addr=https://v&role=r&jwtFile=/t&authMount=k8s-prod').auth, { method: 'kubernetes', role: 'r', jwtFile: '/t', authMount: 'k8s-prod' });
  });

  it('refuses malformed URLs with what is wrong and how to write it', () => {
    const cases: [string, RegExp][] = [
      ['vault://?addr=https://v&tokenFile=/t', /missing Transit key name/],
      ['vault://transit/k?addr=https://v&tokenFile=/t', /Transit key name "transit\/k" contains \//],
      ['vault://k?tokenFile=/t', /missing addr=/],
      ['vault://k?addr=https://v', /no way to authenticate: give tokenFile=\/path, or role= with jwtFile=\/path/],
      ['vault://k?addr=https://v&tokenFile=/t&role=r', /tokenFile= and the Kubernetes auth method \(role=, jwtFile=, authMount=\) are mutually exclusive/],
      ['vault://k?addr=https://v&tokenFile=/t&jwtFile=/j', /mutually exclusive/],
      ['vault://k?addr=https://v&role=r', /role=r needs jwtFile=/],
      ['vault://k?addr=https://v&jwtFile=/j', /jwtFile= needs role=/],
      ['vault://k?addr=https://v&authMount=k8s', /authMount= needs role=/],
      ['vault://k?addr=https://v&tokenFile=token.txt', /tokenFile=token\.txt must be an absolute path/],
      ['vault://k?addr=https://v&role=r&jwtFile=./t', /jwtFile=\.\/t must be an absolute path/],
      ['vault://k?addr=https://v&token=s.abc', /parameter token= is not accepted/],
      ['vault://k?addr=https://v&tokenfile=/t', /unknown parameter tokenfile=/],
      ['vault://k?addr=https://v/v1&tokenFile=/t', /addr=https:\/\/v\/v1 must be only scheme:\/\/host\[:port\]/],
      ['vault://k?addr=vault:8200&tokenFile=/t', /addr=vault:8200 must be an http:\/\/ or https:\/\/ URL/],
      ['vault://k?addr=https://v&mount=a b&tokenFile=/t', /mount=a b is not a mount path/],
      ['vault://k!?addr=https://v&tokenFile=/t', /has characters Transit key names do not use/],
    ];
    for (const [url, pattern] of cases) assert.throws(() => parseVaultUrl(url), code('EUSAGE', pattern), url);
    assert.throws(() => parseVaultUrl('vault://k?addr=https://v&tokenfile=/t'), (err: Error & { hint?: string }) => {
      assert.equal(err.hint, 'did you mean tokenFile=?');
      return true;
    });
  });
});

describe('openKeyProvider', () => {
  it('chooses the provider by scheme and names the supported forms otherwise', () => {
    const kms = openKeyProvider('awskms://alias/x?region=eu-west-1');
    assert.deepEqual([kms.kind, kms.keyId], ['awskms', 'alias/x']);
    kms.close?.();
    const vault = openKeyProvider('vault://k?addr=https://v&tokenFile=/t');
    assert.deepEqual([vault.kind, vault.keyId], ['vault', 'transit/k']);
    // gcpkms:// is supported now: an incomplete key name is refused by its own grammar; other schemes by name.
    assert.throws(() => openKeyProvider('gcpkms://projects/p'), code('EUSAGE', /"projects\/p" is not a Cloud KMS CryptoKey name/));
    assert.throws(() => openKeyProvider('azurekv://vault/key'), code('EUSAGE', /unsupported scheme azurekv:/));
    assert.throws(() => openKeyProvider('/etc/key'), code('EUSAGE', /is not a URL/));
    assert.throws(() => openKeyProvider('awskms:alias/x?region=eu-west-1'), code('EUSAGE', /not of the form awskms:\/\/KEY\?PARAMS/));
  });
});
