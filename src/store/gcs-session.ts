/**
 * The GCS resumable-upload protocol, request by request: start a session (through the client library, which
 * authenticates it and sends ifGenerationMatch=0 and the object metadata), ask how many bytes it persisted
 * (`Content-Range: bytes *\/*`), send a chunk from the persisted offset (after a failure the session is asked
 * again and only what it lacks is re-sent), finalize with the whole object's CRC32C and MD5 in X-Goog-Hash
 * (GCS refuses to create an object whose bytes do not match), and cancel.
 */
import { ArchiverError } from '../errors.ts';
import type { GcsContext } from './gcs-context.ts';
import { classifyGcs } from './gcs-errors.ts';
import { sessionId } from './gcs-resume.ts';
import { type ObjectDigest, writeMetadata } from './gcs-write.ts';
import { RetryBudget } from './s3-retry.ts';

export type SessionStatus = { state: 'active'; offset: number } | { state: 'done' } | { state: 'gone' };

export async function startSession(ctx: GcsContext, key: string): Promise<string> {
  const name = ctx.fullKey(key);
  const [uri] = await ctx.request({ operation: 'resumable.start', key: name, what: `starting the resumable upload of ${ctx.describe(key)}` },
    () => ctx.bucketRef.file(name).createResumableUpload({ metadata: writeMetadata(ctx, undefined), preconditionOpts: { ifGenerationMatch: 0 } }));
  if (typeof uri !== 'string' || !/^https?:\/\//.test(uri)) throw new ArchiverError('ESTORE', `GCS returned no resumable session URI (while starting the upload of ${ctx.describe(key)})`);
  return uri;
}

/** "bytes=0-N" -> N + 1; no Range header: nothing persisted. */
function persisted(res: Response): number {
  const range = res.headers.get('range');
  if (range === null) return 0;
  const m = /^bytes=0-(\d+)$/.exec(range);
  if (m === null) throw new ArchiverError('ESTORE', `GCS answered a resumable upload with an unreadable Range header ${JSON.stringify(range)}`);
  return Number(m[1]) + 1;
}

export async function sessionStatus(ctx: GcsContext, key: string, uri: string): Promise<SessionStatus> {
  const name = ctx.fullKey(key);
  try {
    const res = await ctx.request({ operation: 'resumable.status', key: name, what: `asking how much of ${ctx.describe(key)} the upload session holds` },
      () => ctx.session(uri, { method: 'PUT', headers: { 'Content-Range': 'bytes */*' } }));
    await res.arrayBuffer();
    return res.status === 308 ? { state: 'active', offset: persisted(res) } : { state: 'done' };
  } catch (err) {
    if (err instanceof ArchiverError && err.code === 'ENOTFOUND') return { state: 'gone' };
    throw err;
  }
}

export async function cancelSession(ctx: GcsContext, key: string, uri: string, reason: string): Promise<void> {
  const name = ctx.fullKey(key);
  try {
    await ctx.request({ operation: 'resumable.cancel', key: name, what: `cancelling upload session ${sessionId(uri)} of ${ctx.describe(key)} (${reason})` },
      async () => void (await (await ctx.session(uri, { method: 'DELETE' })).arrayBuffer()));
  } catch (err) {
    // Already gone (expired, finalized or cancelled): nothing is left to clean up.
    if (!(err instanceof ArchiverError && err.code === 'ENOTFOUND')) throw err;
  }
  ctx.metrics.uploadsAborted += 1;
  ctx.onEvent({ type: 'abort', key, uploadId: sessionId(uri), reason });
}

export interface Chunk {
  uri: string;
  /** The object offset of data[0]: what the session holds before this chunk. */
  start: number;
  data: Buffer;
  /** On the last chunk: the whole object's size and checksums. */
  final?: ObjectDigest;
}

/**
 * Sends one chunk until the session holds all of it (or, for the final chunk, the object exists). After a
 * failed attempt the session is asked what it persisted, and only the rest of the chunk is sent again.
 */
export async function sendChunk(ctx: GcsContext, key: string, chunk: Chunk, partNumber: number): Promise<void> {
  const name = ctx.fullKey(key);
  const what = `uploading ${chunk.final === undefined ? `chunk ${partNumber}` : 'the last chunk'} of ${ctx.describe(key)}`;
  const budget = new RetryBudget(ctx, { operation: 'resumable.chunk', key: name, what });
  const end = chunk.start + chunk.data.length;
  let at = chunk.start;
  // A 308 that persisted nothing new is no failure to GCS, so the budget never sees it: bounded here instead.
  let stalled = 0;
  for (;;) {
    const data = chunk.data.subarray(at - chunk.start);
    const headers: Record<string, string> = {
      'Content-Range': data.length > 0 ? `bytes ${at}-${end - 1}/${chunk.final === undefined ? '*' : end}` : `bytes */${end}`,
      ...(chunk.final === undefined ? {} : { 'X-Goog-Hash': `crc32c=${chunk.final.crc32c},md5=${chunk.final.md5}` }),
    };
    budget.begin();
    try {
      const res = await ctx.session(chunk.uri, { method: 'PUT', headers, body: data });
      await res.arrayBuffer();
      if (res.status !== 308) return;
      // 308 on the final chunk, or fewer bytes persisted than sent: send the rest.
      const held = persisted(res);
      if (held < chunk.start || held > end) {
        throw new ArchiverError('ESTORE', `the upload session of ${ctx.describe(key)} answered 308 holding ${held} bytes, outside the chunk ${chunk.start}-${end} being sent`, {
          hint: 'run again: a new upload starts', context: { bucket: ctx.bucket, key: name },
        });
      }
      stalled = held > at ? 0 : stalled + 1;
      if (stalled >= ctx.policy.maxAttempts) {
        throw new ArchiverError('ESTOREUNAVAILABLE', `GCS answered 308 (resume incomplete) ${stalled} times in a row without persisting more of ${ctx.describe(key)} (it holds ${held} of ${end} bytes) while ${what}`, {
          hint: 'the upload session makes no progress; run again (the upload resumes or starts anew)', context: { bucket: ctx.bucket, key: name, reason: 'NoProgress' },
        });
      }
      at = held;
      if (at >= end && chunk.final === undefined) return;
      continue;
    } catch (err) {
      if (classifyGcs(err).kind === 'digest' && chunk.final !== undefined) {
        // GCS ends the session when the object's checksums do not match: nothing is created, nothing to retry.
        throw new ArchiverError('ESTORE', `GCS refused ${ctx.describe(key)}: the bytes it received do not match the CRC32C and MD5 computed here (${(err as Error).message})`, {
          cause: err, context: { bucket: ctx.bucket, key: name, reason: 'ChecksumMismatch' }, hint: 'the body was damaged on the way; run again (a new upload starts)',
        });
      }
      await budget.afterFailure(err);
    }
    const status = await sessionStatus(ctx, key, chunk.uri);
    if (status.state === 'done') return;
    if (status.state === 'gone') throw new ArchiverError('ESTORE', `the upload session of ${ctx.describe(key)} expired or was cancelled while ${what}`, { hint: 'run again: a new upload starts' });
    if (status.offset < chunk.start || status.offset > end) {
      throw new ArchiverError('ESTORE', `the upload session of ${ctx.describe(key)} holds ${status.offset} bytes, outside the chunk ${chunk.start}-${end} being sent`, { hint: 'run again: a new upload starts' });
    }
    at = status.offset;
    if (at === end && chunk.final === undefined) return;
  }
}
