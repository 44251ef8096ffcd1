/** `--store s3://...`: the URL grammar and its usage errors (no server needed). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { openStore } from '../../src/store/open-store.ts';
import { S3Store } from '../../src/store/s3-store.ts';
import { parseS3StoreUrl } from '../../src/store/s3-url.ts';

function usage(pattern: RegExp, hint?: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof ArchiverError, String(err));
    assert.equal(err.code, 'EUSAGE');
    assert.match(err.message, pattern);
    if (hint !== undefined) assert.match(err.hint ?? '', hint);
    return true;
  };
}

describe('s3:// store URLs', () => {
  it('parses bucket, prefix and every parameter', () => {
    const url = 's3://my-bucket/archive/prod/?endpoint=http://127.0.0.1:9000&region=eu-west-1&forcePathStyle=true&partSize=16MiB'
      + '&multipartThreshold=200MiB&concurrency=6&maxAttempts=5&socketTimeoutMs=10000&conditionalWrites=false&signPayloads=true&objectLockMode=COMPLIANCE&objectLockDays=30';
    assert.deepEqual(parseS3StoreUrl(url), {
      bucket: 'my-bucket', prefix: 'archive/prod', endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1', forcePathStyle: true,
      partSize: 16 * 1024 * 1024, multipartThreshold: 200 * 1024 * 1024, concurrency: 6, retry: { maxAttempts: 5 }, socketTimeoutMs: 10_000,
      conditionalWrites: false, signPayloads: true, objectLock: { mode: 'COMPLIANCE', days: 30 },
    });
    assert.deepEqual(parseS3StoreUrl('s3://bucket.example'), { bucket: 'bucket.example', prefix: '' });
  });

  it('opens an S3Store whose url and describe() carry no credentials', () => {
    const store = openStore('s3://my-bucket/p?endpoint=http://127.0.0.1:9000&region=us-east-1&forcePathStyle=true');
    assert.ok(store instanceof S3Store);
    assert.equal(store.url, 's3://my-bucket/p?endpoint=http%3A%2F%2F127.0.0.1%3A9000');
    assert.equal(store.describe('binlogs/x'), 's3://my-bucket/p/binlogs/x');
    store.destroy();
  });

  const cases: [string, RegExp, RegExp?][] = [
    ['s3://', /names no bucket/],
    ['s3:///prefix', /names no bucket/],
    ['s3://My_Bucket/x', /bucket name "My_Bucket" is not valid/, /lowercase/],
    ['s3://ab', /bucket name "ab" is not valid/],
    ['s3://bucket:9000/x', /takes no port/, /endpoint=/],
    ['s3://AKIA:secret@bucket/x', /credentials are not accepted in the store URL/, /default chain/],
    ['s3://bucket/x?secretAccessKey=abc', /parameter secretAccessKey: credentials are not accepted/],
    ['s3://bucket/x?accessKeyId=abc', /parameter accessKeyId: credentials are not accepted/],
    ['s3://bucket/x?colour=blue', /unknown parameter colour/, /known parameters: endpoint, region/],
    ['s3://bucket/x?region=a&region=b', /parameter region is given twice/],
    ['s3://bucket/x?endpoint=not a url', /endpoint=not a url is not a URL/],
    ['s3://bucket/x?endpoint=ftp://host', /must be http:\/\/ or https:\/\//],
    ['s3://bucket/x?endpoint=http://host:9000/bucket', /must be only a scheme, host and port/],
    ['s3://bucket/x?endpoint=http://u:p@host:9000', /must not carry credentials/],
    ['s3://bucket/x?forcePathStyle=yes', /forcePathStyle=yes must be true or false/],
    ['s3://bucket/x?signPayloads=1', /signPayloads=1 must be true or false/],
    ['s3://bucket/x?partSize=8MB', /partSize=8MB is not a size/, /MiB/],
    ['s3://bucket/x?partSize=1MiB', /partSize=1048576 is out of range/, /5242880 bytes/],
    ['s3://bucket/x?partSize=16MiB&multipartThreshold=8MiB', /multipartThreshold=8388608 is out of range/],
    ['s3://bucket/x?concurrency=0', /concurrency=0 is out of range/],
    ['s3://bucket/x?objectLockMode=COMPLIANCE', /objectLockMode and objectLockDays go together/],
    ['s3://bucket/x?objectLockMode=FOREVER&objectLockDays=3', /object lock mode "FOREVER" is not known/],
    ['s3://bucket/a/../b', /has an empty, "\." or "\.\." part|is not valid/],
    ['s3://bucket/a//b', /has an empty/],
    ['s3://bucket/x?region=', /parameter region has no value/],
  ];
  for (const [url, message, hint] of cases) {
    it(`refuses ${url}`, () => {
      assert.throws(() => openStore(url), usage(message, hint));
    });
  }

  it('never echoes a secret given in the URL', () => {
    assert.throws(() => openStore('s3://AKIAXXXX:verysecret@bucket/x'), (err: Error) => {
      assert.doesNotMatch(err.message, /verysecret|AKIAXXXX/);
      return true;
    });
  });

  it('still refuses unknown schemes, naming the supported ones', () => {
    assert.throws(() => openStore('azure://bucket/x'), usage(/unsupported scheme azure:/, /file:\/\/\/absolute\/dir.*s3:\/\/BUCKET.*gs:\/\/BUCKET/));
  });
});
