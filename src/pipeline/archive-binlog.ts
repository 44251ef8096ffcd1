/**
 * One closed binlog through the pipeline: check what the store already holds, then read the file once —
 * inspecting every event while it is compressed first, encrypted, every frame verified, and uploaded —
 * commit, and write the manifest entry last. Any failure leaves nothing marked archived: the store makes no
 * object visible unless its whole body was produced, and the entry is written only after the object is stored
 * and its checksums agree.
 */
import { type BinlogInfo, inspectBinlog, statRegularFile } from '../binlog/index.ts';
import type fs from 'node:fs';
import { ArchiverError } from '../errors.ts';
import { type ObjectIdentity, encodeObject, parseSidecar, readHeader } from '../format/index.ts';
import type { BatchKeys } from '../keys/batch-keys.ts';
import { isBatchKeyFailure } from '../keys/key-failure.ts';
import { planningDigest, planningFieldsOf } from '../restore/planning-fields.ts';
import { verifyStoredObject } from '../restore/stored-object.ts';
import { manifestKey, objectKey, sidecarKey } from '../store/layout.ts';
import { type ManifestEntry, ENTRY_SCHEMA, readEntry, writeEntry } from '../store/manifest.ts';
import { type PutResult, readAll } from '../store/object-store.ts';
import type { ResolvedArchiveOptions } from './archive-options.ts';
import { binlogSource } from './binlog-source.ts';
import { BinlogRun } from './binlog-state.ts';
import { assertClosed } from './closed-check.ts';
import { type StoredObject, storeCompatObject } from './archive-compat.ts';
import { LostRace, racing, resolveConflict } from './concurrent-run.ts';
import type { Candidate } from './discover.ts';
import { type EncodingPlan, planEncoding } from './encoding-plan.ts';
import { edgesSha256File, sha256File } from './file-hash.ts';

export interface UploadStats {
  parts: number;
  partsUploaded: number;
  partsSkipped: number;
  partsReuploaded: number;
}

export interface BinlogOutcome {
  status: 'archived' | 'skipped' | 'adopted';
  /** The entry written now, or the one already in the store. */
  entry: ManifestEntry;
  /** A resumed upload sent only the parts the store lacked. */
  resumed: boolean;
  /** Multipart figures, from stores that upload in parts. */
  upload: UploadStats | null;
}

function uploadStats(result: PutResult): UploadStats | null {
  const r = result as PutResult & Partial<UploadStats>;
  return r.parts === undefined ? null : { parts: r.parts, partsUploaded: r.partsUploaded ?? 0, partsSkipped: r.partsSkipped ?? 0, partsReuploaded: r.partsReuploaded ?? 0 };
}

export interface BatchContext {
  options: ResolvedArchiveOptions;
  keys: BatchKeys;
  batchId: string;
  source: string;
}

function entryFor(ctx: BatchContext, identity: ObjectIdentity, candidate: Candidate, info: BinlogInfo, digests: { sha256: string; edgesSha256: string },
  object: ManifestEntry['object'], key: ManifestEntry['key']): ManifestEntry {
  const planning = planningFieldsOf(info);
  const { size, ...fields } = planning.binlog;
  return {
    schema: ENTRY_SCHEMA,
    correlationId: identity.correlationId,
    batchId: identity.batchId,
    archivedAt: ctx.options.clock().toISOString(),
    source: { name: ctx.source, ...planning.source },
    binlog: { name: candidate.name, sequence: candidate.sequence, size, sha256: digests.sha256, edgesSha256: digests.edgesSha256, ...fields },
    object,
    key,
  };
}

/** A manifest entry the caller looked up ahead: the entry (undefined: none then), or why the lookup failed. */
export type LookedUp = { entry: ManifestEntry | undefined } | { error: unknown };

/**
 * Archives one binlog, or skips it when it is archived already. `lookedUp`: its manifest entry as the caller read
 * it ahead. An entry found is used as is (an entry is never changed or removed but by expire, below the retained
 * range); without one the entry is looked up here, just before acting on its absence. A failed lookup fails this
 * binlog, after its file is checked, as if it had failed here.
 */
export async function archiveBinlog(ctx: BatchContext, candidate: Candidate, discoveredAs: string, lookedUp?: LookedUp): Promise<BinlogOutcome> {
  const { options } = ctx;
  const { store } = options;
  const key = objectKey(ctx.source, candidate.sequence, candidate.name, options.format);
  const run = new BinlogRun({ correlationId: discoveredAs, binlog: candidate.name, logger: options.logger, clock: options.clock });
  try {
    // First, so a FIFO, device, link loop or unreadable file is refused by name before anything reads it.
    const before = await statRegularFile(candidate.path);
    if (lookedUp !== undefined && 'error' in lookedUp) throw lookedUp.error;
    const existing = lookedUp?.entry ?? (await readEntry(store, ctx.source, candidate.sequence, candidate.name));
    if (existing !== undefined) {
      if (!(await recognised(candidate, existing, before.size))) {
        const sha256 = await sha256File(candidate.path);
        if (existing.binlog.sha256 !== sha256) throw await differentContent(ctx, candidate, existing, sha256, before.size);
      }
      run.advance('checked');
      run.advance('skipped');
      return { status: 'skipped', entry: existing, resumed: false, upload: null };
    }
    if ((await store.head(key)) !== undefined) {
      run.advance('checked');
      return await adopt(ctx, run, candidate, key);
    }
    run.advance('checked');
    const plan = await planEncoding({ ctx, candidate, objectKey: key, correlationId: discoveredAs });
    const log = plan.resumed ? run.logger.child({ correlationId: plan.identity.correlationId }) : run.logger;
    if (plan.resumed) log.log('info', 'Resuming upload left by an interrupted run', { objectKey: key, discoveredAs });
    try {
      // Read before the encoding, which fails if the file changes after `before` (binlog-source.ts).
      const edgesSha256 = await edgesOf(candidate, before.size);
      run.advance('encoding', { objectKey: key, format: options.format, resumed: plan.resumed });
      const written = plan.dek === null ? await storeCompatObject({ ctx, candidate, key, plan, before }) : await storeGcmObject({ ctx, candidate, key, plan, before });
      const { stored, info } = written;
      run.advance('stored', { objectBytes: stored.size });
      const object: ManifestEntry['object'] = { key, size: stored.size, sha256: stored.sha256, format: options.format, formatVersion: written.formatVersion, sidecarKey: written.sidecar,
        ...(written.compression === undefined ? {} : { compression: written.compression }) };
      const keyRef: ManifestEntry['key'] = { provider: plan.dek !== null ? ctx.keys.provider().kind : 'passphrase', keyId: plan.keyId, keyVersion: plan.keyVersion,
        wrappedDek: plan.wrapped?.toString('base64') ?? null, context: plan.context };
      const entry = entryFor(ctx, written.identity, candidate, info, { sha256: written.plaintextSha256, edgesSha256 }, object, keyRef);
      await racing(writeEntry(store, entry));
      run.advance('manifested');
      log.log('info', 'Archived binlog', { objectKey: key, bytes: info.size, objectBytes: stored.size, resumed: plan.resumed, upload: uploadStats(stored) });
      return { status: 'archived', entry, resumed: plan.resumed, upload: uploadStats(stored) };
    } finally {
      plan.release();
    }
  } catch (caught) {
    let err = caught;
    if (caught instanceof LostRace) {
      try {
        const entry = await resolveConflict(store, ctx.source, candidate, () => sha256File(candidate.path), caught.conflict);
        run.advance('skipped', { archivedByBatch: entry.batchId });
        run.logger.log('info', 'Archived meanwhile by another run', { objectKey: key, batchId: entry.batchId });
        return { status: 'skipped', entry, resumed: false, upload: null };
      } catch (resolved) {
        err = resolved;
      }
    }
    // A failure of the run's own key is logged once by archive-run.ts, not as this binlog's.
    if (run.stage !== 'failed' && !isBatchKeyFailure(err)) run.advance('failed', { code: (err as ArchiverError).code, error: (err as Error).message });
    throw err;
  }
}

/**
 * The ECONFLICT for a binlog archived with other content. One case has a remedy a person can apply: an older
 * version archived a copy that was cut short (it did not check binlogs were closed), and this is the complete file.
 */
async function differentContent(ctx: BatchContext, candidate: Candidate, existing: ManifestEntry, sha256: string, size: number): Promise<ArchiverError> {
  const archived = existing.binlog;
  const what = `binlog ${candidate.name} of source ${ctx.source} is already archived with different content (archived sha256 ${archived.sha256}, this file ${sha256}); the archive is never overwritten`;
  if (archived.size < size && (await sha256File(candidate.path, archived.size)) === archived.sha256) {
    return new ArchiverError('ECONFLICT', `${what}: the archived copy is this binlog cut short (its first ${archived.size} of ${size} bytes)`, {
      hint: `an older version archived an incomplete copy: move ${manifestKey(ctx.source, candidate.sequence, candidate.name)} and ${existing.object.key}${existing.object.sidecarKey === null ? '' : ` and ${existing.object.sidecarKey}`} aside in the store, then run again`,
    });
  }
  return new ArchiverError('ECONFLICT', what, { hint: 'a server with the same name and binlog numbering wrote it: give each server its own --source' });
}

/** Encodes the binlog under the plan's data key (native format) and stores the object. */
async function storeGcmObject(options: { ctx: BatchContext; candidate: Candidate; key: string; plan: EncodingPlan; before: fs.Stats }): Promise<StoredObject> {
  const { ctx, candidate, key, plan, before } = options;
  const { store } = ctx.options;
  if (plan.dek === null || plan.wrapped === null) throw new ArchiverError('EINTERNAL', `no data key planned for ${store.describe(key)}`);
  const source = binlogSource({ path: candidate.path, before, accept: (info) => assertClosed(candidate, info),
    onProgress: (bytes) => ctx.options.onProgress?.({ binlog: candidate.name, bytes, total: before.size }) });
  // The planning fields are bound to the object (v2 trailer): known once the last byte was inspected.
  const encoded = encodeObject({ source: source.chunks, identity: plan.identity, level: ctx.options.level, segmentSize: ctx.options.segmentSize, objectName: store.describe(key),
    planningSha256: () => planningDigest(planningFieldsOf(source.info())), dek: plan.dek, wrappedKey: plan.wrapped, encryptionContext: plan.context,
    key: { provider: ctx.keys.provider().kind, keyId: plan.keyId, ...(plan.keyVersion === null ? {} : { keyVersion: plan.keyVersion }) } });
  let stored: PutResult;
  try {
    stored = await racing(store.put(key, encoded, { resumable: true, resumeMeta: plan.resumeMeta }));
  } catch (err) {
    // The binlog's own problem (not a binlog, corrupt, growing) is the error to report, not the encoder's wrapper.
    throw source.failure() ?? err;
  }
  const result = await encoded.result;
  if (stored.sha256 !== result.objectSha256 || stored.size !== result.objectLength) {
    throw new ArchiverError('EVERIFY', `${store.describe(key)} holds other bytes than were produced (sha256 ${stored.sha256} != ${result.objectSha256})`);
  }
  const compression = { level: encoded.header.zstdLevel, frames: result.frames, storedFrames: result.storedFrames ?? 0, smallTableFrames: result.smallTableFrames ?? 0 };
  return { stored, info: source.info(), identity: plan.identity, plaintextSha256: result.plaintextSha256, sidecar: null, formatVersion: result.formatVersion, compression };
}

/**
 * Whether the file is the binlog `existing` describes, told by its size and edges (src/store/binlog-edges.ts)
 * from 128 KiB instead of a hash of the whole file. False when the entry predates edgesSha256 or anything
 * differs: the caller then hashes the whole file, and a different binlog is reported as before.
 */
async function recognised(candidate: Candidate, existing: ManifestEntry, size: number): Promise<boolean> {
  const { edgesSha256 } = existing.binlog;
  if (edgesSha256 === undefined || existing.binlog.size !== size) return false;
  const now = await edgesSha256File(candidate.path);
  return now.size === size && now.edgesSha256 === edgesSha256;
}

/** The edges digest of the binlog about to be archived, whose size was `size` when it was found. */
async function edgesOf(candidate: Candidate, size: number): Promise<string> {
  const { size: now, edgesSha256 } = await edgesSha256File(candidate.path);
  if (now !== size) throw new ArchiverError('EBINLOGACTIVE', `binlog ${candidate.path} changed while it was being archived (${size} -> ${now} bytes)`);
  return edgesSha256;
}

/**
 * An openssl-format object without its sidecar: stored by a version that wrote the object first and killed
 * before the sidecar. Without the sidecar nothing authenticates it or tells its identity, so it can neither be
 * adopted nor re-produced; it is never overwritten. A person checks it and moves it aside (docs/STORAGE.md).
 */
function orphanWithoutSidecar(ctx: BatchContext, candidate: Candidate, key: string): ArchiverError {
  const { store } = ctx.options;
  return new ArchiverError('ECONFLICT', `${store.describe(key)} exists without its sidecar ${store.describe(sidecarKey(key))} and without a manifest entry (left by an interrupted run of an older version); it cannot be authenticated, and is never overwritten`, {
    hint: `check it (openssl enc -d -aes-256-cbc -pbkdf2 -iter 100000 -pass file:KEY -in OBJECT | zstd -d | sha256sum must print the SHA-256 of ${candidate.path}), then move the object aside and run again: the binlog is archived afresh`,
    context: { object: key, binlog: candidate.name },
  });
}

/**
 * An earlier run stored the object but died before writing its entry. The object was encrypted under that
 * run's data key and identity, which its header (or sidecar) records: decode it fully, and adopt it only if
 * it holds exactly this binlog; anything else is a conflict left for a person.
 */
async function adopt(ctx: BatchContext, run: BinlogRun, candidate: Candidate, key: string): Promise<BinlogOutcome> {
  const { options, keys } = ctx;
  const { store } = options;
  run.advance('adopting', { objectKey: key });
  const info = await inspectBinlog(candidate.path);
  await assertClosed(candidate, info);
  const sha256 = await sha256File(candidate.path);
  const sidecar = options.format === 'openssl-aes-256-cbc' ? sidecarKey(key) : null;
  let earlier: ObjectIdentity;
  let keyRef: ManifestEntry['key'];
  let formatVersion = 1;
  if (sidecar === null) {
    const opened = await readHeader(store.get(key), { objectName: store.describe(key) });
    formatVersion = opened.version;
    const { header } = opened;
    await opened.close();
    earlier = header.identity;
    keyRef = { provider: header.key.provider, keyId: header.key.keyId, keyVersion: header.key.keyVersion ?? null, wrappedDek: header.wrappedKey.toString('base64'), context: header.encryptionContext };
  } else {
    if ((await store.head(sidecar)) === undefined) throw orphanWithoutSidecar(ctx, candidate, key);
    earlier = parseSidecar(await readAll(store, sidecar), { object: store.describe(sidecar) }).identity;
    keyRef = { provider: 'passphrase', keyId: keys.passphrase().keyId, keyVersion: null, wrappedDek: null, context: {} };
  }
  if (earlier.source !== ctx.source || earlier.binlogFile !== candidate.name || earlier.sequence !== candidate.sequence) {
    throw new ArchiverError('ECONFLICT', `${store.describe(key)} exists but names ${earlier.source}/${earlier.binlogFile}; it is never overwritten`);
  }
  const decoded = await verifyStoredObject({ store, ref: { key, format: options.format, sidecarKey: sidecar, identity: earlier }, keys });
  if (decoded.plaintextSha256 !== sha256) {
    throw new ArchiverError('ECONFLICT', `${store.describe(key)} exists without a manifest entry and holds different content than ${candidate.path} (sha256 ${decoded.plaintextSha256} != ${sha256}); it is never overwritten`, {
      hint: 'inspect the object, and move it aside if it is debris from another server',
    });
  }
  run.advance('stored', { adopted: true });
  const object: ManifestEntry['object'] = { key, size: decoded.objectLength, sha256: decoded.objectSha256, format: options.format, formatVersion, sidecarKey: sidecar };
  // The entry keeps the earlier run's correlation and batch ids: they are baked into the object's identity.
  // The edges of the archived bytes (whose SHA-256 was just compared with the file's), not a second read of the file.
  const entry = entryFor(ctx, earlier, candidate, info, { sha256, edgesSha256: decoded.edgesSha256 }, object, keyRef);
  await racing(writeEntry(store, entry));
  run.advance('manifested');
  run.logger.log('info', 'Adopted archived binlog left by an interrupted run', { objectKey: key, earlierCorrelationId: earlier.correlationId });
  return { status: 'adopted', entry, resumed: false, upload: null };
}
