/**
 * Recoverable multipart state. S3 itself remembers the upload and its parts (ListMultipartUploads, ListParts);
 * what it cannot tell is which upload is ours to resume, with what part size, and the caller's metadata
 * (what it needs to re-produce identical bytes). That goes into a small JSON object beside the data:
 * `<prefix>/.uploads/<key>.json`, written right after CreateMultipartUpload and deleted after completion or
 * abort. An upload without state (the process died in between) is stale and is aborted.
 */
import {
  AbortMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, ListMultipartUploadsCommand, ListPartsCommand, PutObjectCommand,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { ArchiverError } from '../errors.ts';
import { type S3Context, UPLOADS_DIR } from './s3-context.ts';
import { unquote } from './s3-checksums.ts';

export const UPLOAD_STATE_SCHEMA = 'binlog-archiver.dev/s3-upload/v1';

export interface UploadState {
  schema: typeof UPLOAD_STATE_SCHEMA;
  key: string;
  uploadId: string;
  partSize: number;
  createdAt: string;
  meta: Record<string, string>;
}

export interface ListedPart {
  etag: string;
  size: number;
  crc32: string | undefined;
}

export interface ListedUpload {
  uploadId: string;
  initiated: Date | undefined;
}

export function stateKey(ctx: S3Context, key: string): string {
  return ctx.fullKey(`${UPLOADS_DIR}/${key}.json`);
}

export async function readState(ctx: S3Context, key: string): Promise<UploadState | undefined> {
  const Key = stateKey(ctx, key);
  const what = `reading the upload state of ${ctx.describe(key)}`;
  let text: string;
  try {
    text = await ctx.request({ operation: 'GetObject', key: Key, what }, async () => {
      const res = await ctx.client.send(new GetObjectCommand({ Bucket: ctx.bucket, Key }));
      return (await res.Body?.transformToString('utf8')) ?? '';
    });
  } catch (err) {
    if (err instanceof ArchiverError && err.code === 'ENOTFOUND') return undefined;
    throw err;
  }
  try {
    const state = JSON.parse(text) as UploadState;
    // Unreadable or foreign state is treated as absent: the upload it names is then aborted as stale.
    if (state.schema !== UPLOAD_STATE_SCHEMA || state.key !== key || typeof state.uploadId !== 'string' || !Number.isSafeInteger(state.partSize)) return undefined;
    return state;
  } catch {
    return undefined;
  }
}

export async function writeState(ctx: S3Context, state: UploadState): Promise<void> {
  const Key = stateKey(ctx, state.key);
  const body = Buffer.from(`${JSON.stringify(state)}\n`);
  const ContentMD5 = createHash('md5').update(body).digest('base64');
  await ctx.request({ operation: 'PutObject', key: Key, what: `saving the upload state of ${ctx.describe(state.key)}` },
    () => ctx.client.send(new PutObjectCommand({ Bucket: ctx.bucket, Key, Body: body, ContentMD5, ContentType: 'application/json' })));
}

export async function deleteState(ctx: S3Context, key: string): Promise<void> {
  const Key = stateKey(ctx, key);
  await ctx.request({ operation: 'DeleteObject', key: Key, what: `removing the upload state of ${ctx.describe(key)}` },
    () => ctx.client.send(new DeleteObjectCommand({ Bucket: ctx.bucket, Key })));
}

/** Incomplete multipart uploads under `prefix` (a bucket key prefix), all pages. */
export async function listUploads(ctx: S3Context, prefix: string, what: string): Promise<(ListedUpload & { key: string })[]> {
  const found: (ListedUpload & { key: string })[] = [];
  let KeyMarker: string | undefined;
  let UploadIdMarker: string | undefined;
  for (;;) {
    const page = await ctx.request({ operation: 'ListMultipartUploads', key: prefix, what },
      () => ctx.client.send(new ListMultipartUploadsCommand({ Bucket: ctx.bucket, Prefix: prefix, KeyMarker, UploadIdMarker })));
    for (const u of page.Uploads ?? []) {
      if (u.Key !== undefined && u.UploadId !== undefined) found.push({ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated });
    }
    if (page.IsTruncated !== true || (page.NextKeyMarker === undefined && page.NextUploadIdMarker === undefined)) return found;
    KeyMarker = page.NextKeyMarker;
    UploadIdMarker = page.NextUploadIdMarker;
  }
}

/** Uploads of exactly this bucket key (the listing is by prefix: "x.zst.aes" would also match "x.zst.aes.json"). */
export async function uploadsOf(ctx: S3Context, fullKey: string, what: string): Promise<ListedUpload[]> {
  return (await listUploads(ctx, fullKey, what)).filter((u) => u.key === fullKey);
}

export async function listParts(ctx: S3Context, fullKey: string, uploadId: string, what: string): Promise<Map<number, ListedPart>> {
  const parts = new Map<number, ListedPart>();
  let PartNumberMarker: string | undefined;
  for (;;) {
    const page = await ctx.request({ operation: 'ListParts', key: fullKey, what },
      () => ctx.client.send(new ListPartsCommand({ Bucket: ctx.bucket, Key: fullKey, UploadId: uploadId, PartNumberMarker })));
    for (const p of page.Parts ?? []) {
      if (p.PartNumber !== undefined) parts.set(p.PartNumber, { etag: unquote(p.ETag), size: p.Size ?? -1, crc32: p.ChecksumCRC32 });
    }
    if (page.IsTruncated !== true || page.NextPartNumberMarker === undefined) return parts;
    PartNumberMarker = page.NextPartNumberMarker;
  }
}

export async function abortUpload(ctx: S3Context, key: string, uploadId: string, reason: string): Promise<void> {
  const Key = ctx.fullKey(key);
  try {
    await ctx.request({ operation: 'AbortMultipartUpload', key: Key, what: `aborting multipart upload ${uploadId} of ${ctx.describe(key)} (${reason})` },
      () => ctx.client.send(new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key, UploadId: uploadId })));
  } catch (err) {
    // Already gone (completed or aborted by someone else): nothing is left to clean up.
    if (!(err instanceof ArchiverError && (err.context.reason === 'NoSuchUpload' || err.code === 'ENOTFOUND'))) throw err;
  }
  ctx.metrics.uploadsAborted += 1;
  ctx.onEvent({ type: 'abort', key, uploadId, reason });
}
