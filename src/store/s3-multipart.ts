/**
 * Multipart put: parts go up while the body is still being produced, a bounded number at a time, each with
 * Content-MD5 and CRC32. The upload is completed only after the body ended without error; a body error
 * aborts it. A resumable put first looks for its own earlier upload of the key (state object + ListParts)
 * and skips every listed part whose size, MD5 and CRC32 equal the re-produced part; other uploads of the
 * key are stale and aborted.
 */
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { ArchiverError } from '../errors.ts';
import { BodyFailure, type BodyReader } from './s3-body.ts';
import { type PartDigest, compositeCrc32, digestPart, multipartEtag } from './s3-checksums.ts';
import type { S3Context } from './s3-context.ts';
import { S3_MAX_PARTS, S3_MIN_PART_SIZE } from './s3-options.ts';
import {
  type ListedPart, type UploadState, UPLOAD_STATE_SCHEMA, abortUpload, deleteState, listParts, readState, uploadsOf, writeState,
} from './s3-resume.ts';
import { type ExpectedObject, commitOnce, confirmStored, lockParams } from './s3-write.ts';

export interface MultipartRequest {
  ctx: S3Context;
  key: string;
  /** Holds at least the multipart threshold, and the body has not ended. */
  reader: BodyReader;
  resumable: boolean;
  meta: Record<string, string>;
}

export interface MultipartOutcome {
  expected: ExpectedObject;
  uploadId: string;
  parts: number;
  uploaded: number;
  skipped: number;
  reuploaded: number;
  resumed: boolean;
}

interface Plan {
  uploadId: string;
  partSize: number;
  listed: Map<number, ListedPart>;
  resumed: boolean;
}

const sameMeta = (a: Record<string, string>, b: Record<string, string>): boolean =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

async function prepare(req: MultipartRequest): Promise<Plan> {
  const { ctx, key } = req;
  const fullKey = ctx.fullKey(key);
  const what = `preparing the multipart upload of ${ctx.describe(key)}`;
  const uploads = await uploadsOf(ctx, fullKey, what);
  const state = uploads.length > 0 ? await readState(ctx, key) : undefined;
  const ours = req.resumable && state !== undefined && state.partSize >= S3_MIN_PART_SIZE && sameMeta(state.meta, req.meta)
    && uploads.some((u) => u.uploadId === state.uploadId) ? state : undefined;
  for (const u of uploads) {
    if (u.uploadId !== ours?.uploadId) await abortUpload(ctx, key, u.uploadId, 'stale upload of the same key');
  }
  if (ours !== undefined) {
    const listed = await listParts(ctx, fullKey, ours.uploadId, `listing the parts of ${ctx.describe(key)} to resume upload ${ours.uploadId}`);
    ctx.metrics.uploadsResumed += 1;
    ctx.onEvent({ type: 'resume', key, uploadId: ours.uploadId, partsListed: listed.size });
    return { uploadId: ours.uploadId, partSize: ours.partSize, listed, resumed: true };
  }
  if (state !== undefined && !req.resumable) await deleteState(ctx, key);
  const created = await ctx.request({ operation: 'CreateMultipartUpload', key: fullKey, what: `starting the multipart upload of ${ctx.describe(key)}` },
    () => ctx.client.send(new CreateMultipartUploadCommand({
      Bucket: ctx.bucket, Key: fullKey, ChecksumAlgorithm: 'CRC32', ContentType: 'application/octet-stream', ...lockParams(ctx),
    })));
  const uploadId = created.UploadId;
  if (uploadId === undefined) throw new ArchiverError('ESTORE', `S3 returned no upload id (while starting the multipart upload of ${ctx.describe(key)})`);
  if (req.resumable) {
    const fresh: UploadState = {
      schema: UPLOAD_STATE_SCHEMA, key, uploadId, partSize: ctx.options.partSize, createdAt: new Date(ctx.timing.now()).toISOString(), meta: req.meta,
    };
    try {
      await writeState(ctx, fresh);
    } catch (err) {
      await abortUpload(ctx, key, uploadId, 'its state could not be saved').catch(() => undefined);
      throw err;
    }
  }
  return { uploadId, partSize: ctx.options.partSize, listed: new Map(), resumed: false };
}

const isSame = (listed: ListedPart | undefined, digest: PartDigest): boolean =>
  listed !== undefined && listed.size === digest.size && listed.etag === digest.md5.toString('hex') && (listed.crc32 === undefined || listed.crc32 === digest.crc32);

async function uploadPart(ctx: S3Context, key: string, uploadId: string, partNumber: number, data: Buffer, digest: PartDigest): Promise<string> {
  const Key = ctx.fullKey(key);
  const res = await ctx.request({ operation: 'UploadPart', key: Key, what: `uploading part ${partNumber} of ${ctx.describe(key)}` },
    () => ctx.client.send(new UploadPartCommand({
      Bucket: ctx.bucket, Key, UploadId: uploadId, PartNumber: partNumber, Body: data, ContentLength: data.length,
      ContentMD5: digest.md5.toString('base64'), ChecksumCRC32: digest.crc32,
    })));
  ctx.metrics.bytesUploaded += data.length;
  return res.ETag ?? `"${digest.md5.toString('hex')}"`;
}

async function discard(ctx: S3Context, key: string, uploadId: string, reason: string): Promise<void> {
  // Best effort: the error that got us here is the one to report; a leftover upload is aborted by the next put.
  await abortUpload(ctx, key, uploadId, reason).catch(() => undefined);
  await deleteState(ctx, key).catch(() => undefined);
}

export async function putMultipart(req: MultipartRequest): Promise<MultipartOutcome> {
  const { ctx, key, reader } = req;
  const plan = await prepare(req);
  const digests: PartDigest[] = [];
  const etags: string[] = [];
  const inflight = new Set<Promise<void>>();
  const counts = { uploaded: 0, skipped: 0, reuploaded: 0 };
  let failure: { error: unknown } | undefined;
  try {
    for (let n = 1; ; n++) {
      await reader.fill(plan.partSize);
      if (failure !== undefined || reader.buffered === 0) break;
      if (n > S3_MAX_PARTS) {
        throw new ArchiverError('ESTORE', `${ctx.describe(key)} needs more than ${S3_MAX_PARTS} parts of ${plan.partSize} bytes`, { hint: 'raise partSize' });
      }
      const data = reader.take(plan.partSize);
      const digest = digestPart(data);
      digests.push(digest);
      const listed = plan.listed.get(n);
      if (isSame(listed, digest)) {
        etags[n - 1] = `"${listed?.etag ?? ''}"`;
        counts.skipped += 1;
        ctx.metrics.partsSkipped += 1;
        ctx.onEvent({ type: 'part', key, partNumber: n, action: 'skipped', size: data.length });
        reader.recycle(data);
        continue;
      }
      while (inflight.size >= ctx.options.concurrency) await Promise.race(inflight);
      if (failure !== undefined) break;
      const partNumber = n;
      const action = listed === undefined ? 'uploaded' : 'reuploaded';
      const task: Promise<void> = uploadPart(ctx, key, plan.uploadId, partNumber, data, digest).then((etag) => {
        etags[partNumber - 1] = etag;
        counts[action] += 1;
        if (action === 'uploaded') ctx.metrics.partsUploaded += 1;
        else ctx.metrics.partsReuploaded += 1;
        ctx.onEvent({ type: 'part', key, partNumber, action, size: data.length });
        // A failed part is left to the collector: a request given up on may still reference its bytes.
        reader.recycle(data);
      }, (error: unknown) => {
        failure ??= { error };
      }).then(() => {
        inflight.delete(task);
      });
      inflight.add(task);
    }
    await Promise.all(inflight);
    if (failure !== undefined) throw failure.error;
  } catch (err) {
    await Promise.all(inflight);
    await reader.close();
    if (err instanceof BodyFailure) {
      await discard(ctx, key, plan.uploadId, 'the body failed');
      throw err.error;
    }
    // A resumable upload survives store failures: the next put of this key resumes it (or aborts it as stale).
    if (!req.resumable) await discard(ctx, key, plan.uploadId, 'the upload failed');
    throw err;
  }
  const expected: ExpectedObject = { size: reader.size, etag: multipartEtag(digests), crc32: compositeCrc32(digests) };
  const Key = ctx.fullKey(key);
  try {
    await commitOnce(ctx, key, expected, (conditional) =>
      ctx.request({ operation: 'CompleteMultipartUpload', key: Key, what: `completing the multipart upload of ${ctx.describe(key)} (${digests.length} parts)` },
        () => ctx.client.send(new CompleteMultipartUploadCommand({
          Bucket: ctx.bucket, Key, UploadId: plan.uploadId, ...(conditional ? { IfNoneMatch: '*' } : {}),
          MultipartUpload: { Parts: digests.map((d, i) => ({ PartNumber: i + 1, ETag: etags[i], ChecksumCRC32: d.crc32 })) },
        }))));
  } catch (err) {
    if ((err instanceof ArchiverError && err.code === 'ECONFLICT') || !req.resumable) await discard(ctx, key, plan.uploadId, 'it could not be completed');
    throw err;
  }
  await confirmStored(ctx, key, expected);
  if (req.resumable) await deleteState(ctx, key).catch(() => undefined);
  return { expected, uploadId: plan.uploadId, parts: digests.length, ...counts, resumed: plan.resumed };
}
