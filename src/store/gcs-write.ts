/**
 * The write primitives of the GCS store: digests (CRC32C and MD5 as GCS reports them, SHA-256 for us), object
 * metadata (HEAD), the no-overwrite check, one-request puts with ifGenerationMatch=0 and declared checksums
 * (GCS refuses a body that does not match them), and the confirmation that the server holds exactly the size
 * and checksums computed locally.
 */
import { CRC32C } from '@google-cloud/storage';
import { type Hash, createHash } from 'node:crypto';
import { ArchiverError } from '../errors.ts';
import type { GcsContext } from './gcs-context.ts';

export interface ObjectDigest {
  size: number;
  /** base64, as GCS reports them. */
  crc32c: string;
  md5: string;
}

/** CRC32C, MD5 and SHA-256 of a body read in order; the SHA-256 of any prefix can be taken on the way. */
export class RunningDigest {
  readonly #crc = new CRC32C();
  readonly #md5 = createHash('md5');
  readonly #sha: Hash = createHash('sha256');
  size = 0;

  update(data: Buffer): void {
    this.#crc.update(data);
    this.#md5.update(data);
    this.#sha.update(data);
    this.size += data.length;
  }

  /** SHA-256 (hex) of everything so far, leaving the running hash as it is. */
  prefixSha256(): string {
    return this.#sha.copy().digest('hex');
  }

  /** The crc32c and md5 so far (without ending the hashes). */
  digest(): ObjectDigest {
    return { size: this.size, crc32c: this.#crc.toString(), md5: this.#md5.copy().digest('base64') };
  }
}

export function digestOf(data: Buffer): ObjectDigest {
  const d = new RunningDigest();
  d.update(data);
  return d.digest();
}

export interface GcsObjectMeta {
  size: number;
  crc32c: string | undefined;
  md5: string | undefined;
  generation: string | undefined;
}

/** Object metadata from the JSON API, validated at the boundary (the API sends sizes as strings). */
export function objectMeta(raw: unknown): GcsObjectMeta {
  const m = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const size = typeof m.size === 'string' || typeof m.size === 'number' ? Number(m.size) : Number.NaN;
  if (!Number.isSafeInteger(size) || size < 0) throw new ArchiverError('ESTORE', `GCS answered object metadata without a valid size (${JSON.stringify(m.size)})`);
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  return { size, crc32c: str(m.crc32c), md5: str(m.md5Hash), generation: str(m.generation) ?? (typeof m.generation === 'number' ? String(m.generation) : undefined) };
}

export async function headObject(ctx: GcsContext, key: string, what: string): Promise<GcsObjectMeta | undefined> {
  const name = ctx.fullKey(key);
  try {
    const [raw] = await ctx.request({ operation: 'objects.get', key: name, what }, () => ctx.bucketRef.file(name).getMetadata());
    return objectMeta(raw);
  } catch (err) {
    if (err instanceof ArchiverError && err.code === 'ENOTFOUND') return undefined;
    throw err;
  }
}

export async function assertAbsent(ctx: GcsContext, key: string, what: string): Promise<void> {
  if ((await headObject(ctx, key, what)) !== undefined) {
    throw new ArchiverError('ECONFLICT', `${ctx.describe(key)} already exists; objects are never overwritten (while ${what})`, { context: { bucket: ctx.bucket, key: ctx.fullKey(key) } });
  }
}

/** The object metadata of a write: checksums GCS must verify, retention and hold as configured. */
export function writeMetadata(ctx: GcsContext, digest: ObjectDigest | undefined, contentType = 'application/octet-stream'): Record<string, unknown> {
  const { retention, eventBasedHold } = ctx.options;
  return {
    contentType,
    ...(digest === undefined ? {} : { crc32c: digest.crc32c, md5Hash: digest.md5 }),
    ...(retention === undefined ? {} : { retention: { mode: retention.mode, retainUntilTime: new Date(ctx.timing.now() + retention.days * 86_400_000).toISOString() } }),
    ...(eventBasedHold ? { eventBasedHold: true } : {}),
  };
}

/** Compares what the server holds with what was computed here; a difference is EVERIFY. */
export function assertStored(ctx: GcsContext, key: string, expected: ObjectDigest, got: GcsObjectMeta | undefined, what: string): void {
  const fail = (detail: string): never => {
    throw new ArchiverError('EVERIFY', `${ctx.describe(key)} on the server does not match what was uploaded: ${detail} (while ${what})`, {
      context: { bucket: ctx.bucket, key: ctx.fullKey(key), expected }, hint: 'the object is kept for inspection and no manifest entry points to it',
    });
  };
  if (got === undefined) return fail('it is missing');
  if (got.size !== expected.size) fail(`size ${got.size} != ${expected.size}`);
  if (got.crc32c !== expected.crc32c) fail(`CRC32C ${got.crc32c} != ${expected.crc32c}`);
  // Composite objects have no MD5; ours are never composed, so it must be there and equal.
  if (got.md5 !== expected.md5) fail(`MD5 ${got.md5} != ${expected.md5}`);
}

/**
 * One-request upload. With `create` the write carries ifGenerationMatch=0: an existing object is a conflict,
 * unless an earlier attempt of ours succeeded with its answer lost (then the object holds exactly our bytes).
 */
export async function putSingle(ctx: GcsContext, key: string, data: Buffer, options: { create: boolean; contentType?: string; what: string }): Promise<ObjectDigest> {
  const name = ctx.fullKey(key);
  const digest = digestOf(data);
  const file = ctx.bucketRef.file(name);
  const metadata = options.create ? writeMetadata(ctx, digest, options.contentType) : { contentType: options.contentType ?? 'application/octet-stream', crc32c: digest.crc32c, md5Hash: digest.md5 };
  try {
    await ctx.request({ operation: 'objects.insert', key: name, what: options.what }, () => file.save(data, {
      resumable: false, validation: false, metadata, ...(options.create ? { preconditionOpts: { ifGenerationMatch: 0 } } : {}),
    }));
  } catch (err) {
    const attempts = err instanceof ArchiverError ? Number(err.context.attempts ?? 1) : 1;
    if (!(options.create && err instanceof ArchiverError && err.code === 'ECONFLICT' && attempts > 1)) throw err;
    try {
      assertStored(ctx, key, digest, await headObject(ctx, key, options.what), options.what);
    } catch {
      throw err;
    }
  }
  ctx.metrics.bytesUploaded += data.length;
  return digest;
}
