/**
 * Who and what an object is encrypted as: its identity (with the correlation and batch ids) and key material.
 * Fresh for a new object; for an upload an earlier, interrupted run left pending (resumable S3 multipart), the
 * earlier run's identity and data key, so the re-produced bytes are identical and held parts are skipped.
 *
 * Re-encrypting under the same data key and identity is safe only for the same plaintext (GCM nonces are
 * counters). A closed binlog never changes, so the resume state records the file's device, inode, size and
 * nanosecond mtime, and an upload is resumed only if all four still match; the store then also compares every
 * held part with the re-produced bytes before skipping it.
 */
import fs from 'node:fs';
import type { ObjectIdentity } from '../format/index.ts';
import { ADAPT_RULE } from '../format/zstd-adapt.js';
import type { BatchKeys } from '../keys/batch-keys.ts';
import { zero } from '../keys/key-provider.ts';
import type { ResolvedArchiveOptions } from './archive-options.ts';
import type { Candidate } from './discover.ts';

export interface EncodingPlan {
  identity: ObjectIdentity;
  resumed: boolean;
  /** gcm only: plaintext DEK (owned by BatchKeys when fresh, by this plan when resumed), its wrapped form and reference. */
  dek: Buffer | null;
  wrapped: Buffer | null;
  keyId: string;
  keyVersion: string | null;
  context: Record<string, string>;
  /** What the store keeps with a resumable upload. */
  resumeMeta: Record<string, string>;
  release(): void;
}

async function fileStamp(path: string): Promise<Record<string, string>> {
  const s = await fs.promises.stat(path, { bigint: true });
  return { dev: String(s.dev), ino: String(s.ino), size: String(s.size), mtimeNs: String(s.mtimeNs) };
}

/** The zstd library node:zlib is built with. */
const ZSTD_VERSION = (process.versions as Record<string, string | undefined>).zstd ?? 'unknown';

export async function planEncoding(options: {
  ctx: { options: ResolvedArchiveOptions; keys: BatchKeys; batchId: string; source: string };
  candidate: Candidate;
  objectKey: string;
  correlationId: string;
}): Promise<EncodingPlan> {
  const { ctx, candidate, objectKey } = options;
  const { store, format, level, segmentSize } = ctx.options;
  const stamp = await fileStamp(candidate.path);
  // Everything the object's bytes depend on besides the file: a pending upload made otherwise is not resumed.
  // zstd's version too: another release may compress the same bytes differently (the same nonces, other plaintext).
  const settings = { format, level: String(level), segmentSize: String(segmentSize), zstd: ZSTD_VERSION, ...(format === 'gcm' ? { adapt: ADAPT_RULE } : {}), ...stamp };
  const pending = await store.pendingUpload?.(objectKey);
  const m = pending?.meta;
  const sameFile = m !== undefined && Object.entries(settings).every(([k, v]) => m[k] === v);
  if (m !== undefined && sameFile && m.correlationId !== undefined && m.batchId !== undefined) {
    const identity = { source: ctx.source, binlogFile: candidate.name, sequence: candidate.sequence, correlationId: m.correlationId, batchId: m.batchId };
    if (format === 'gcm' && m.wrappedDek !== undefined && m.keyId !== undefined && m.context !== undefined) {
      const context = JSON.parse(m.context) as Record<string, string>;
      const wrapped = Buffer.from(m.wrappedDek, 'base64');
      const dek = await ctx.keys.provider().decryptDataKey(wrapped, context, m.keyId);
      return { identity, resumed: true, dek, wrapped, keyId: m.keyId, keyVersion: m.keyVersion === '' ? null : (m.keyVersion ?? null), context, resumeMeta: m, release: () => zero(dek) };
    }
    if (format === 'openssl-aes-256-cbc') {
      const { keyId } = ctx.keys.passphrase();
      return { identity, resumed: true, dek: null, wrapped: null, keyId, keyVersion: null, context: {}, resumeMeta: m, release: () => undefined };
    }
  }
  const identity = { source: ctx.source, binlogFile: candidate.name, sequence: candidate.sequence, correlationId: options.correlationId, batchId: ctx.batchId };
  const ids = { correlationId: identity.correlationId, batchId: identity.batchId };
  if (format === 'gcm') {
    const context = { ...ctx.options.context, source: ctx.source, batch: ctx.batchId };
    const dataKey = await ctx.keys.dataKey(context);
    const resumeMeta = { ...settings, ...ids, wrappedDek: dataKey.wrapped.toString('base64'), keyId: dataKey.keyId, keyVersion: dataKey.keyVersion ?? '', context: JSON.stringify(context) };
    // The batch's DEK belongs to BatchKeys, which zeroes it when the run ends.
    return { identity, resumed: false, dek: dataKey.plaintext, wrapped: dataKey.wrapped, keyId: dataKey.keyId, keyVersion: dataKey.keyVersion ?? null, context, resumeMeta, release: () => undefined };
  }
  const { keyId } = ctx.keys.passphrase();
  return { identity, resumed: false, dek: null, wrapped: null, keyId, keyVersion: null, context: {}, resumeMeta: { ...settings, ...ids }, release: () => undefined };
}
