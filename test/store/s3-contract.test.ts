/**
 * The ObjectStore contract on the S3 store against the real VersityGW, with a 5 MiB multipart threshold so the
 * "large" cases take the multipart path (parts of 5 MiB) without moving 100 MiB per case.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { skipUnlessIn } from '../support/testenv.ts';
import { MiB, allKeys, incompleteUploads, prefixOf, rawClient, s3, testStore } from './helpers.ts';
import { storeContract } from './contract.ts';

describe('S3 store (VersityGW)', { skip: skipUnlessIn('s3') }, () => {
  storeContract('s3://', () => {
    const store = testStore({ name: 'contract', multipartThreshold: 5 * MiB, partSize: 5 * MiB, concurrency: 2 });
    const client = rawClient();
    const prefix = `${prefixOf(store)}/`;
    return Promise.resolve({
      store,
      largeSize: 12 * MiB,
      // Incomplete uploads, and upload state objects, both count as debris once a put has returned.
      leftovers: async () => [
        ...(await incompleteUploads(client, prefix)).map((u) => `upload ${u.key}`),
        ...(await allKeys(client, `${prefix}.uploads/`)),
      ],
      largePath: async (key, outcome) => {
        if (outcome === 'stored') {
          // 12 MiB + 12,345 bytes in 5 MiB parts: a 3-part multipart object (ETag "md5-of-md5s-3").
          const head = await client.send(new HeadObjectCommand({ Bucket: s3().bucket, Key: `${prefix}${key}` }));
          assert.match(head.ETag ?? '', /^"[0-9a-f]{32}-3"$/);
        } else {
          assert.ok((store.metrics.attempts.CreateMultipartUpload ?? 0) >= 1);
          assert.ok(store.metrics.uploadsAborted >= 1);
        }
      },
      close: () => {
        store.destroy();
        client.destroy();
        return Promise.resolve();
      },
    });
  });
});
