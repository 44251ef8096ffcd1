/**
 * Recoverable resumable-upload state. GCS remembers an unfinished upload by its session URI (for a week) and
 * answers how many bytes it persisted; it cannot say which session is ours, with what chunk size, what the
 * caller needs to re-produce identical bytes, or whether the bytes it holds are those we would send again.
 * That goes into a small JSON object beside the data, `<prefix>/.uploads/<key>.json`, rewritten before every
 * chunk with the SHA-256 of the body up to the chunk's start and end: a resumed run re-produces the body and
 * skips exactly the persisted bytes only when their SHA-256 is the recorded one. The session URI is a bearer
 * credential for that one upload: it is kept in the bucket (readable by whoever may write the archive) and
 * never logged; events and messages name the session by a hash of it.
 */
import { createHash } from 'node:crypto';
import { ArchiverError } from '../errors.ts';
import { type GcsContext, UPLOADS_DIR } from './gcs-context.ts';
import { putSingle } from './gcs-write.ts';

export const UPLOAD_STATE_SCHEMA = 'binlog-archiver.dev/gcs-upload/v1';

export interface UploadState {
  schema: typeof UPLOAD_STATE_SCHEMA;
  key: string;
  uri: string;
  chunkSize: number;
  createdAt: string;
  meta: Record<string, string>;
  /** [offset, hex SHA-256 of the body's first `offset` bytes]. */
  checkpoints: [number, string][];
}

export const EMPTY_SHA256 = createHash('sha256').digest('hex');

/** A stable, non-secret name for a session in events and messages. */
export function sessionId(uri: string): string {
  return createHash('sha256').update(uri).digest('hex').slice(0, 16);
}

const stateKey = (key: string): string => `${UPLOADS_DIR}/${key}.json`;

function isState(v: unknown, key: string): v is UploadState {
  const s = v as Partial<UploadState> | null;
  return typeof s === 'object' && s !== null && s.schema === UPLOAD_STATE_SCHEMA && s.key === key && typeof s.uri === 'string'
    && /^https?:\/\//.test(s.uri) && Number.isSafeInteger(s.chunkSize) && typeof s.createdAt === 'string'
    && typeof s.meta === 'object' && s.meta !== null && Object.values(s.meta).every((x) => typeof x === 'string')
    && Array.isArray(s.checkpoints) && s.checkpoints.every((c) => Array.isArray(c) && Number.isSafeInteger(c[0]) && typeof c[1] === 'string' && /^[0-9a-f]{64}$/.test(c[1]));
}

export async function readState(ctx: GcsContext, key: string): Promise<UploadState | undefined> {
  const name = ctx.fullKey(stateKey(key));
  let text: string;
  try {
    text = await ctx.request({ operation: 'objects.get', key: name, what: `reading the upload state of ${ctx.describe(key)}` },
      async () => (await ctx.bucketRef.file(name).download({ validation: 'crc32c' }))[0].toString('utf8'));
  } catch (err) {
    if (err instanceof ArchiverError && err.code === 'ENOTFOUND') return undefined;
    throw err;
  }
  try {
    const state: unknown = JSON.parse(text);
    // Unreadable or foreign state is treated as absent: the session it names is then left to expire.
    return isState(state, key) ? state : undefined;
  } catch {
    return undefined;
  }
}

export async function writeState(ctx: GcsContext, state: UploadState): Promise<void> {
  await putSingle(ctx, stateKey(state.key), Buffer.from(`${JSON.stringify(state)}\n`), {
    create: false, contentType: 'application/json', what: `saving the upload state of ${ctx.describe(state.key)}`,
  });
}

export async function deleteState(ctx: GcsContext, key: string): Promise<void> {
  const name = ctx.fullKey(stateKey(key));
  await ctx.request({ operation: 'objects.delete', key: name, what: `removing the upload state of ${ctx.describe(key)}` },
    () => ctx.bucketRef.file(name).delete({ ignoreNotFound: true }));
}
