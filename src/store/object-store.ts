/**
 * The storage seam. Every backend offers the same guarantees, which the pipeline relies on:
 * - `put` makes nothing visible under the key until the whole body was consumed without error, so an object
 *   that fails verification mid-stream never appears;
 * - `put` never overwrites: an existing key is a conflict (ECONFLICT);
 * - `replace` is for derived documents (indexes) only, and is atomic.
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

export interface ObjectStore {
  /** The store URL, without credentials, for messages. */
  readonly url: string;
  /** A human-readable location of one object, e.g. `file:///archive/binlogs/x` or `s3://bucket/prefix/x`. */
  describe(key: string): string;
  put(key: string, body: AsyncIterable<Uint8Array>): Promise<PutResult>;
  get(key: string): AsyncIterable<Buffer>;
  head(key: string): Promise<ObjectInfo | undefined>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  replace(key: string, data: Buffer): Promise<void>;
}

/** Object keys are '/'-separated relative names; reject anything that could escape a prefix or directory. */
export function assertValidKey(key: string): void {
  if (key === '' || key.startsWith('/') || key.split('/').some((part) => part === '' || part === '.' || part === '..') || key.includes('\0')) {
    throw new Error(`invalid object key ${JSON.stringify(key)}`);
  }
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
