/**
 * A large put as a GCS resumable upload: chunks go up in order while the body is still being produced; the
 * object exists only after the last chunk, sent once the body ended without error, with the whole object's
 * CRC32C and MD5 (GCS refuses to create it if its bytes differ). A body error cancels the session. A
 * resumable put first looks for its own earlier session (state object + status query) and skips the persisted
 * bytes only if their SHA-256 is the one recorded for that offset; any other session of the key is cancelled.
 */
import { ArchiverError } from '../errors.ts';
import type { GcsContext } from './gcs-context.ts';
import { EMPTY_SHA256, type UploadState, UPLOAD_STATE_SCHEMA, deleteState, readState, sessionId, writeState } from './gcs-resume.ts';
import { cancelSession, sendChunk, sessionStatus, startSession } from './gcs-session.ts';
import { type ObjectDigest, RunningDigest, assertStored, headObject } from './gcs-write.ts';
import { BodyFailure, type BodyReader } from './s3-body.ts';

export interface ResumableRequest {
  ctx: GcsContext;
  key: string;
  reader: BodyReader;
  resumable: boolean;
  meta: Record<string, string>;
}

export interface ResumableOutcome {
  digest: ObjectDigest;
  chunks: number;
  uploaded: number;
  skipped: number;
  resumed: boolean;
}

interface Plan {
  uri: string;
  /** Bytes the session holds, and the SHA-256 they must have. */
  offset: number;
  sha256: string;
  resumed: boolean;
}

const sameMeta = (a: Record<string, string>, b: Record<string, string>): boolean =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

async function prepare(req: ResumableRequest): Promise<Plan> {
  const { ctx, key } = req;
  const state = await readState(ctx, key);
  if (state !== undefined) {
    if (req.resumable && state.chunkSize === ctx.options.chunkSize && sameMeta(state.meta, req.meta)) {
      const status = await sessionStatus(ctx, key, state.uri);
      const sha256 = status.state !== 'active' ? undefined : status.offset === 0 ? EMPTY_SHA256 : state.checkpoints.find(([o]) => o === status.offset)?.[1];
      if (status.state === 'active' && sha256 !== undefined) {
        ctx.metrics.uploadsResumed += 1;
        ctx.onEvent({ type: 'resume', key, uploadId: sessionId(state.uri), partsListed: Math.ceil(status.offset / state.chunkSize) });
        return { uri: state.uri, offset: status.offset, sha256, resumed: true };
      }
    }
    await cancelSession(ctx, key, state.uri, 'stale upload of the same key');
    await deleteState(ctx, key);
  }
  return { uri: await startSession(ctx, key), offset: 0, sha256: EMPTY_SHA256, resumed: false };
}

async function discard(ctx: GcsContext, key: string, uri: string, reason: string): Promise<void> {
  // Best effort: the error that got us here is the one to report; a leftover session expires after a week.
  await cancelSession(ctx, key, uri, reason).catch(() => undefined);
  await deleteState(ctx, key).catch(() => undefined);
}

/** Reads the bytes the session already holds from the re-produced body; they must be the recorded ones. */
async function skipPersisted(req: ResumableRequest, plan: Plan, digest: RunningDigest): Promise<number> {
  const { ctx, key, reader } = req;
  let chunks = 0;
  while (digest.size < plan.offset) {
    const want = Math.min(ctx.options.chunkSize, plan.offset - digest.size);
    await reader.fill(want);
    if (reader.buffered === 0) break;
    const data = reader.take(want);
    digest.update(data);
    chunks += 1;
    ctx.metrics.partsSkipped += 1;
    ctx.onEvent({ type: 'part', key, partNumber: chunks, action: 'skipped', size: data.length });
    reader.recycle(data);
  }
  if (digest.size !== plan.offset || digest.prefixSha256() !== plan.sha256) {
    await discard(ctx, key, plan.uri, 'its bytes differ from the re-produced ones');
    throw new ArchiverError('ESTORE', `the unfinished upload of ${ctx.describe(key)} holds ${plan.offset} bytes that differ from the bytes produced now; it was cancelled`, {
      hint: 'run again: a new upload starts (the body was not re-produced identically: check that the binlog did not change)',
    });
  }
  return chunks;
}

export async function putResumable(req: ResumableRequest): Promise<ResumableOutcome> {
  const { ctx, key, reader } = req;
  const plan = await prepare(req);
  const digest = new RunningDigest();
  const chunkSize = ctx.options.chunkSize;
  const createdAt = new Date(ctx.timing.now()).toISOString();
  let final: ObjectDigest | undefined;
  let uploaded = 0;
  try {
    const skipped = plan.offset > 0 ? await skipPersisted(req, plan, digest) : 0;
    let chunks = skipped;
    while (final === undefined) {
      await reader.fill(chunkSize + 1);
      const last = reader.done && reader.buffered <= chunkSize;
      const start = digest.size;
      const startSha = digest.prefixSha256();
      const data = reader.take(chunkSize);
      digest.update(data);
      if (last) final = digest.digest();
      if (req.resumable && !last) {
        const state: UploadState = {
          schema: UPLOAD_STATE_SCHEMA, key, uri: plan.uri, chunkSize, createdAt, meta: req.meta, checkpoints: [[start, startSha], [digest.size, digest.prefixSha256()]],
        };
        await writeState(ctx, state);
      }
      chunks += 1;
      await sendChunk(ctx, key, { uri: plan.uri, start, data, ...(final === undefined ? {} : { final }) }, chunks);
      uploaded += 1;
      ctx.metrics.partsUploaded += 1;
      ctx.metrics.bytesUploaded += data.length;
      ctx.onEvent({ type: 'part', key, partNumber: chunks, action: 'uploaded', size: data.length });
      reader.recycle(data);
    }
    const what = `confirming ${ctx.describe(key)} after upload`;
    assertStored(ctx, key, final, await headObject(ctx, key, what), what);
    if (req.resumable) await deleteState(ctx, key).catch(() => undefined);
    return { digest: final, chunks, uploaded, skipped, resumed: plan.resumed };
  } catch (err) {
    await reader.close();
    if (err instanceof BodyFailure) {
      await discard(ctx, key, plan.uri, 'the body failed');
      throw err.error;
    }
    // A resumable upload survives store failures: the next put of this key resumes it (or cancels it as stale).
    if (!req.resumable || (err instanceof ArchiverError && (err.code === 'ECONFLICT' || err.code === 'EVERIFY'))) await discard(ctx, key, plan.uri, 'the upload failed');
    throw err;
  }
}
