/**
 * The write primitives shared by single and multipart puts: the no-overwrite check, conditional commits that
 * survive a lost response, object lock parameters, and the confirmation (HEAD) that the server holds exactly
 * the size and checksums computed locally.
 */
import { HeadObjectCommand, type HeadObjectCommandOutput, PutObjectCommand } from '@aws-sdk/client-s3';
import { ArchiverError } from '../errors.ts';
import { type PartDigest, unquote } from './s3-checksums.ts';
import type { S3Context } from './s3-context.ts';

export interface ExpectedObject {
  size: number;
  /** ETag as computed locally (MD5 hex, or md5-of-md5s "-N"). */
  etag: string;
  /** CRC32 (full object) or composite CRC32 "-N", base64. */
  crc32: string;
}

export async function headObject(ctx: S3Context, key: string, what: string): Promise<HeadObjectCommandOutput | undefined> {
  const Key = ctx.fullKey(key);
  try {
    return await ctx.request({ operation: 'HeadObject', key: Key, what },
      () => ctx.client.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key, ChecksumMode: 'ENABLED' })));
  } catch (err) {
    if (err instanceof ArchiverError && err.code === 'ENOTFOUND') return undefined;
    throw err;
  }
}

export async function assertAbsent(ctx: S3Context, key: string, what: string): Promise<void> {
  if ((await headObject(ctx, key, what)) !== undefined) {
    throw new ArchiverError('ECONFLICT', `${ctx.describe(key)} already exists; objects are never overwritten (while ${what})`, {
      context: { bucket: ctx.bucket, key: ctx.fullKey(key) },
    });
  }
}

export function lockParams(ctx: S3Context): { ObjectLockMode?: 'GOVERNANCE' | 'COMPLIANCE'; ObjectLockRetainUntilDate?: Date } {
  const lock = ctx.options.objectLock;
  if (lock === undefined) return {};
  return { ObjectLockMode: lock.mode, ObjectLockRetainUntilDate: new Date(ctx.timing.now() + lock.days * 86_400_000) };
}

/** Confirms what the server holds: ContentLength, ETag (unless SSE-KMS, where it is no MD5) and CRC32 when reported. */
export async function confirmStored(ctx: S3Context, key: string, expected: ExpectedObject, head?: HeadObjectCommandOutput): Promise<void> {
  const what = `confirming ${ctx.describe(key)} after upload`;
  const got = head ?? (await headObject(ctx, key, what));
  const fail = (detail: string): never => {
    throw new ArchiverError('EVERIFY', `${ctx.describe(key)} on the server does not match what was uploaded: ${detail} (while ${what})`, {
      context: { bucket: ctx.bucket, key: ctx.fullKey(key), expected },
      hint: 'the object is kept for inspection and no manifest entry points to it',
    });
  };
  if (got === undefined) return fail('it is missing');
  if (got.ContentLength !== expected.size) fail(`size ${got.ContentLength} != ${expected.size}`);
  const sse = got.ServerSideEncryption ?? '';
  if (!sse.startsWith('aws:kms') && got.SSECustomerAlgorithm === undefined && unquote(got.ETag) !== expected.etag) {
    fail(`ETag ${unquote(got.ETag)} != ${expected.etag}`);
  }
  if (got.ChecksumCRC32 !== undefined && got.ChecksumCRC32 !== expected.crc32) fail(`CRC32 ${got.ChecksumCRC32} != ${expected.crc32}`);
}

/**
 * Sends a write that must not overwrite. If an attempt was retried and the server then reports a conflict (or
 * the upload gone), the earlier attempt may have succeeded with its response lost: the object is ours exactly
 * when it holds what we computed.
 */
export async function commitOnce<T>(ctx: S3Context, key: string, expected: ExpectedObject, send: (conditional: boolean) => Promise<T>): Promise<void> {
  const what = `writing ${ctx.describe(key)}`;
  if (!ctx.options.conditionalWrites) await assertAbsent(ctx, key, what);
  try {
    await send(ctx.options.conditionalWrites);
  } catch (err) {
    const attempts = err instanceof ArchiverError ? Number(err.context.attempts ?? 1) : 1;
    const lostResponse = err instanceof ArchiverError && (err.code === 'ECONFLICT' || err.context.reason === 'NoSuchUpload') && attempts > 1;
    if (!lostResponse) throw err;
    const head = await headObject(ctx, key, what);
    try {
      await confirmStored(ctx, key, expected, head);
    } catch {
      throw err;
    }
  }
}

export async function putSingle(ctx: S3Context, key: string, data: Buffer, digest: PartDigest): Promise<ExpectedObject> {
  const Key = ctx.fullKey(key);
  const expected: ExpectedObject = { size: data.length, etag: digest.md5.toString('hex'), crc32: digest.crc32 };
  await commitOnce(ctx, key, expected, (conditional) =>
    ctx.request({ operation: 'PutObject', key: Key, what: `writing ${ctx.describe(key)}` }, () => ctx.client.send(new PutObjectCommand({
      Bucket: ctx.bucket, Key, Body: data, ContentLength: data.length, ContentMD5: digest.md5.toString('base64'), ChecksumCRC32: expected.crc32,
      ContentType: 'application/octet-stream', ...(conditional ? { IfNoneMatch: '*' } : {}), ...lockParams(ctx),
    }))));
  ctx.metrics.bytesUploaded += data.length;
  return expected;
}
