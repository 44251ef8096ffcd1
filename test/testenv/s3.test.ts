import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  GetObjectCommand, HeadObjectCommand, ListPartsCommand, PutObjectCommand, UploadPartCommand,
} from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { s3Client } from '../support/clients.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';

const md5 = (data: Buffer): string => createHash('md5').update(data).digest('base64');

describe('S3 server (VersityGW, posix backend)', { skip: skipUnlessIn('s3') }, () => {
  let client: ReturnType<typeof s3Client>;
  let bucket: string;
  before(() => {
    const s3 = need('s3');
    client = s3Client(s3);
    bucket = s3.bucket;
  });
  after(() => client?.destroy());

  it('uploads a multipart object, lists its parts, and returns the exact bytes', async () => {
    const key = `smoke/multipart-${randomBytes(4).toString('hex')}`;
    const parts = [randomBytes(5 * 1024 * 1024), randomBytes(5 * 1024 * 1024), randomBytes(1234)];
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    assert.ok(UploadId);
    const etags: string[] = [];
    for (const [i, body] of parts.entries()) {
      const res = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: i + 1, Body: body, ContentMD5: md5(body) }));
      etags.push(res.ETag ?? '');
    }
    const listed = await client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId }));
    assert.deepEqual(listed.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag]), parts.map((p, i) => [i + 1, p.length, etags[i]]));
    await client.send(new CompleteMultipartUploadCommand({
      Bucket: bucket, Key: key, UploadId,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }));
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    assert.equal(createHash('sha256').update(bytes).digest('hex'), createHash('sha256').update(Buffer.concat(parts)).digest('hex'));
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  });

  it('rejects a part and an object whose Content-MD5 does not match the body (BadDigest)', async () => {
    const key = `smoke/bad-md5-${randomBytes(4).toString('hex')}`;
    const body = randomBytes(64 * 1024);
    const wrong = md5(Buffer.concat([body, Buffer.from('x')]));
    await assert.rejects(client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentMD5: wrong })), (err: Error) => {
      assert.equal(err.name, 'BadDigest');
      return true;
    });
    await assert.rejects(client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })), { name: 'NotFound' });
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    try {
      await assert.rejects(client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: body, ContentMD5: wrong })),
        { name: 'BadDigest' });
      const listed = await client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId }));
      assert.equal(listed.Parts?.length ?? 0, 0);
    } finally {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId }));
    }
  });

  it('supports object lock on a bucket created with it', async () => {
    const lockBucket = `smoke-lock-${randomBytes(4).toString('hex')}`;
    await client.send(new CreateBucketCommand({ Bucket: lockBucket, ObjectLockEnabledForBucket: true }));
    const key = 'locked';
    const body = Buffer.from('retained');
    const until = new Date(Date.now() + 24 * 3600 * 1000);
    await client.send(new PutObjectCommand({ Bucket: lockBucket, Key: key, Body: body, ContentMD5: md5(body), ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until }));
    const head = await client.send(new HeadObjectCommand({ Bucket: lockBucket, Key: key }));
    assert.equal(head.ObjectLockMode, 'COMPLIANCE');
    const put = await client.send(new HeadObjectCommand({ Bucket: lockBucket, Key: key }));
    await assert.rejects(client.send(new DeleteObjectCommand({ Bucket: lockBucket, Key: key, VersionId: put.VersionId })));
  });
});
