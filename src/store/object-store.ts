/**
 * The storage seam. Every backend offers the same guarantees, which the pipeline relies on:
 * - `put` makes nothing visible under the key until the whole body was consumed without error, so an object
 *   that fails verification mid-stream never appears;
 * - `put` never overwrites: an existing key is a conflict (ECONFLICT);
 * - `replace` is for derived documents (indexes) only, and is atomic.
 * - `delete` is for retention (expire) and the documents it owns (restore leases): it never touches an object the
 *   store retains (S3 Object Lock, GCS retention or holds) and says until when instead.
 * - `put` with `{ resumable: true }` may leave a partial upload behind when the process dies; it is never
 *   visible, and the next put of the key resumes or discards it.
 */

export interface ObjectInfo {
  key: string;
  size: number;
}

export interface PutResult {
  size: number;
  /** Hex SHA-256 of the bytes stored. */
  sha256: string;
}

export interface PutOptions {
  /**
   * Keep a large upload recoverable if this process dies: a later put of the same key with the same
   * `resumeMeta` and identical bytes sends only the parts the store does not hold yet (each held part is
   * checked against the re-produced bytes first). Stores that cannot resume ignore it.
   */
  resumable?: boolean;
  /** Small caller metadata kept with the resume state (what the caller needs to re-produce identical bytes). */
  resumeMeta?: Record<string, string>;
}

/** An unfinished resumable upload left by an earlier process (S3 store). */
export interface PendingUpload {
  uploadId: string;
  createdAt: string;
  partSize: number;
  /** Parts and bytes the store already holds. */
  parts: number;
  bytes: number;
  meta: Record<string, string>;
}

/**
 * What `delete` did. `retained`: the store keeps the object (S3 Object Lock retention or legal hold, GCS object
 * retention, bucket retention policy or hold); `until` is when it may go (null: a hold without a date).
 */
export type DeleteResult =
  | { outcome: 'deleted' }
  | { outcome: 'absent' }
  | { outcome: 'retained'; until: string | null; reason: string };

/** The requests a store sent to its server in this process (stores that have one), for run reports and metrics. */
export interface StoreRequestStats {
  /** Requests sent, retries included. */
  requests: number;
  /** Retries by reason (SlowDown, ECONNRESET, HTTP 503, BadDigest, ...). */
  retries: Record<string, number>;
}

export interface ObjectStore {
  /** The store URL, without credentials, for messages. */
  readonly url: string;
  /** A human-readable location of one object, e.g. `file:///archive/binlogs/x` or `s3://bucket/prefix/x`. */
  describe(key: string): string;
  put(key: string, body: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<PutResult>;
  get(key: string): AsyncIterable<Buffer>;
  head(key: string): Promise<ObjectInfo | undefined>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  replace(key: string, data: Buffer): Promise<void>;
  /** Removes one object, unless the store retains it (then `retained`, with its date); a missing key is `absent`. */
  delete(key: string): Promise<DeleteResult>;
  /** The resumable upload of `key` an earlier process left unfinished, with its resumeMeta (stores that resume). */
  pendingUpload?(key: string): Promise<PendingUpload | undefined>;
  /** What this store has sent so far (stores that talk to a server). */
  requestStats?(): StoreRequestStats;
}

/** Object keys are '/'-separated relative names; reject anything that could escape a prefix or directory. */
export function assertValidKey(key: string): void {
  if (key === '' || key.startsWith('/') || key.split('/').some((part) => part === '' || part === '.' || part === '..') || key.includes('\0')) {
    throw new Error(`invalid object key ${JSON.stringify(key)}`);
  }
}

/** The DeleteResult of an object whose lock or hold is still active at `now`, or undefined when it may go. */
export function retainedAt(now: number, until: Date | undefined, hold: string | undefined, reason: string): DeleteResult | undefined {
  if (hold !== undefined) return { outcome: 'retained', until: until !== undefined && until.getTime() > now ? until.toISOString() : null, reason: hold };
  if (until !== undefined && until.getTime() > now) return { outcome: 'retained', until: until.toISOString(), reason };
  return undefined;
}

export async function readAll(store: ObjectStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of store.get(key)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export async function* once(data: Uint8Array): AsyncIterable<Uint8Array> {
  await Promise.resolve();
  yield data;
}
