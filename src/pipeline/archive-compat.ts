/**
 * Storing an openssl-aes-256-cbc object. Such an object says nothing about itself: its identity (and so the
 * keys its salt, IV and HMAC derive from) is only in the sidecar. Stored object first, an interrupted run would
 * leave an object no later run can authenticate or reproduce. So the sidecar is written first, and the object
 * second:
 *
 *   1. encode once without storing anything (the binlog is inspected and checked closed on the way), which
 *      yields the sidecar; store the sidecar;
 *   2. encode again under the same identity and settings — the encoding is deterministic (salt and IV derive
 *      from the passphrase and identity, zstd from level and segment size) — and store the object; its SHA-256
 *      and HMAC must be the sidecar's.
 *
 * A sidecar without its object (the run died between the two) names the identity and settings to encode under
 * again: the next run stores the same object and the binlog is archived, nothing is overwritten. An object
 * without a sidecar (left by a version that stored the object first) cannot be authenticated: it is refused by
 * name with what to do (docs/STORAGE.md). The price is a second compression pass, for this format only.
 */
import type { Stats } from 'node:fs';
import type { BinlogInfo } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';
import { type ObjectIdentity, type OpensslSidecar, encodeOpensslObject, parseSidecar } from '../format/index.ts';
import { planningDigest, planningFieldsOf } from '../restore/planning-fields.ts';
import { sidecarKey } from '../store/layout.ts';
import type { ObjectCompression } from '../store/manifest.ts';
import { type PutResult, once, readAll } from '../store/object-store.ts';
import type { BatchContext } from './archive-binlog.ts';
import { binlogSource } from './binlog-source.ts';
import { assertClosed } from './closed-check.ts';
import { racing } from './concurrent-run.ts';
import type { Candidate } from './discover.ts';
import type { EncodingPlan } from './encoding-plan.ts';

/** An object stored for a binlog: what its manifest entry records. */
export interface StoredObject {
  stored: PutResult;
  info: BinlogInfo;
  /** The identity the object is encrypted under (an interrupted run's, when taken over). */
  identity: ObjectIdentity;
  plaintextSha256: string;
  sidecar: string | null;
  formatVersion: number;
  /** gcm: the frames' compression, for the manifest entry (object.compression). */
  compression?: ObjectCompression;
}

/** The sidecar an interrupted run stored for `key` (and no object), checked to be this binlog's. */
async function earlierSidecar(ctx: BatchContext, candidate: Candidate, key: string): Promise<OpensslSidecar | undefined> {
  const { store } = ctx.options;
  const name = sidecarKey(key);
  if ((await store.head(name)) === undefined) return undefined;
  const sidecar = parseSidecar(await readAll(store, name), { object: store.describe(name) });
  const id = sidecar.identity;
  if (id.source !== ctx.source || id.binlogFile !== candidate.name || id.sequence !== candidate.sequence) {
    throw new ArchiverError('ECONFLICT', `${store.describe(name)} exists but names ${id.source}/${id.binlogFile} (sequence ${id.sequence}); it is never overwritten`, {
      hint: 'inspect the sidecar, and move it aside if it is debris from another server',
    });
  }
  return sidecar;
}

export async function storeCompatObject(options: { ctx: BatchContext; candidate: Candidate; key: string; plan: EncodingPlan; before: Stats }): Promise<StoredObject> {
  const { ctx, candidate, key, plan, before } = options;
  const { store } = ctx.options;
  const earlier = await earlierSidecar(ctx, candidate, key);
  const identity = earlier?.identity ?? plan.identity;
  const level = earlier?.zstdLevel ?? ctx.options.level;
  const segmentSize = earlier?.segmentSize ?? ctx.options.segmentSize;
  const encode = () => {
    const source = binlogSource({ path: candidate.path, before, accept: (info) => assertClosed(candidate, info),
      onProgress: (bytes) => ctx.options.onProgress?.({ binlog: candidate.name, bytes, total: before.size }) });
    const encoded = encodeOpensslObject({ source: source.chunks, identity, level, segmentSize, objectName: store.describe(key),
      planningSha256: () => planningDigest(planningFieldsOf(source.info())),
      passphrase: ctx.keys.passphrase().passphrase, key: { provider: 'passphrase', keyId: plan.keyId } });
    return { source, encoded };
  };
  const sidecar = sidecarKey(key);
  let expected = earlier;
  if (expected === undefined) {
    const first = encode();
    try {
      for await (const chunk of first.encoded) first.encoded.release?.(chunk); // measured, not stored
    } catch (err) {
      throw first.source.failure() ?? err;
    }
    const result = await first.encoded.result;
    await racing(store.put(sidecar, once(result.sidecarBytes)));
    expected = result.sidecar;
  }
  const second = encode();
  let stored: PutResult;
  try {
    stored = await racing(store.put(key, second.encoded, { resumable: true, resumeMeta: { ...plan.resumeMeta, correlationId: identity.correlationId, batchId: identity.batchId } }));
  } catch (err) {
    throw second.source.failure() ?? err;
  }
  const result = await second.encoded.result;
  if (stored.sha256 !== expected.objectSha256 || result.sidecar.hmacSha256 !== expected.hmacSha256) {
    // The object is stored by now; it and the sidecar disagree, and nothing marks the binlog archived.
    throw new ArchiverError('ECONFLICT', `${store.describe(key)} was stored from ${candidate.path}, but ${store.describe(sidecar)} describes other content (sha256 ${stored.sha256} != ${expected.objectSha256}); nothing was marked archived`, {
      hint: 'the binlog changed since an interrupted run stored the sidecar: check which copy is right, and move the sidecar and object aside',
    });
  }
  return { stored, info: second.source.info(), identity, plaintextSha256: result.plaintextSha256, sidecar, formatVersion: 1 };
}
