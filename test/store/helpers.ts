/** Helpers of the store tests: S3 stores on the test environment's VersityGW, deterministic bodies, leftovers. */
import { ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { S3Store } from '../../src/store/s3-store.ts';
import type { S3StoreOptions } from '../../src/store/s3-options.ts';
import { tempDir } from '../support/archive.ts';
import { s3Client } from '../support/clients.ts';
import { type Endpoints, need } from '../support/testenv.ts';

export const MiB = 1024 * 1024;

export function s3(): Endpoints['s3'] {
  return need('s3');
}

export function uniquePrefix(name: string): string {
  return `test-${name}-${randomBytes(4).toString('hex')}`;
}

/** An S3Store on the test bucket under a fresh prefix, credentials passed programmatically (tests only). */
export function testStore(options: Partial<S3StoreOptions> & { name: string }): S3Store {
  const { name, ...rest } = options;
  const e = s3();
  return new S3Store({
    bucket: e.bucket, prefix: uniquePrefix(name), endpoint: e.endpoint, region: e.region, forcePathStyle: true,
    credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey }, ...rest,
  });
}

export function rawClient(): S3Client {
  return s3Client(s3());
}

/**
 * Writes a shared credentials file and a config file for the SDK's default chain and returns the environment
 * that points at them (the way the default chain is fed in tests; production uses IRSA or mounted files).
 */
export function credentialsEnv(): Record<string, string> {
  const e = s3();
  const dir = tempDir('blarc-aws-');
  const credentials = path.join(dir, 'credentials');
  const config = path.join(dir, 'config');
  fs.writeFileSync(credentials, `[default]\naws_access_key_id = ${e.accessKeyId}\naws_secret_access_key = ${e.secretAccessKey}\n`, { mode: 0o600 });
  fs.writeFileSync(config, '[default]\n', { mode: 0o600 });
  return { AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: config, AWS_PROFILE: 'default' };
}

/** The URL of the test bucket for openStore; `endpoint` for another way to the same server (a fault proxy). */
export function storeUrlFor(prefix: string, extra = '', endpoint = s3().endpoint): string {
  const e = s3();
  return `s3://${e.bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}&region=${e.region}&forcePathStyle=true${extra}`;
}

/** Pseudo-random, incompressible, reproducible bytes: AES-256-CTR keystream seeded by `seed`. */
export function deterministicBytes(seed: string, offset: number, length: number): Buffer {
  if (offset % 16 !== 0) throw new Error('offset must be a multiple of 16');
  const key = createHash('sha256').update(seed).digest();
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(offset / 16), 8);
  return createCipheriv('aes-256-ctr', key, iv).update(Buffer.alloc(length));
}

/** A body of `size` deterministic bytes in 1 MiB chunks; `failAt` throws once that many bytes were yielded. */
export async function* deterministicBody(seed: string, size: number, options: { failAt?: number; chunk?: number } = {}): AsyncIterable<Buffer> {
  const chunk = options.chunk ?? MiB;
  for (let at = 0; at < size; at += chunk) {
    if (options.failAt !== undefined && at >= options.failAt) throw new Error(`body failed on purpose at byte ${at}`);
    await Promise.resolve();
    yield deterministicBytes(seed, at, Math.min(chunk, size - at));
  }
}

export function sha256OfDeterministic(seed: string, size: number): string {
  const hash = createHash('sha256');
  for (let at = 0; at < size; at += MiB) hash.update(deterministicBytes(seed, at, Math.min(MiB, size - at)));
  return hash.digest('hex');
}

/** MD5 (hex) of each part of a deterministic body cut into `partSize` parts. */
export function partMd5s(seed: string, size: number, partSize: number): string[] {
  const out: string[] = [];
  for (let at = 0; at < size; at += partSize) out.push(createHash('md5').update(deterministicBytes(seed, at, Math.min(partSize, size - at))).digest('hex'));
  return out;
}

export async function sha256Of(body: AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Incomplete multipart uploads under a bucket prefix. */
export async function incompleteUploads(client: S3Client, prefix: string): Promise<{ key: string; uploadId: string }[]> {
  const res = await client.send(new ListMultipartUploadsCommand({ Bucket: s3().bucket, Prefix: prefix }));
  return (res.Uploads ?? []).map((u) => ({ key: u.Key ?? '', uploadId: u.UploadId ?? '' }));
}

/** Every object key under a bucket prefix, hidden ones (upload state) included. */
export async function allKeys(client: S3Client, prefix: string): Promise<string[]> {
  const res = await client.send(new ListObjectsV2Command({ Bucket: s3().bucket, Prefix: prefix }));
  return (res.Contents ?? []).map((c) => c.Key ?? '').sort();
}

/** The prefix of a store made by testStore (its URL is s3://bucket/prefix?...). */
export function prefixOf(store: S3Store): string {
  return new URL(store.url).pathname.replace(/^\//, '');
}
