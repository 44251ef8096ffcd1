/**
 * One closed binlog through the pipeline: inspect, check what is already archived, then encode (compress
 * first, encrypt, verify every frame) while uploading, commit, and write the manifest entry last.
 * Any failure leaves nothing marked archived: the store makes no object visible unless its whole body was
 * produced, and the entry is written only after the object is stored and its checksums agree.
 */
import fs from 'node:fs';
import { type BinlogInfo, inspectBinlog } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';
import { type ObjectIdentity, encodeObject, encodeOpensslObject, FORMAT_VERSION, parseSidecar, readHeader } from '../format/index.ts';
import type { BatchKeys } from '../keys/batch-keys.ts';
import { verifyStoredObject } from '../restore/stored-object.ts';
import { objectKey, sidecarKey } from '../store/layout.ts';
import { type ManifestEntry, ENTRY_SCHEMA, readEntry, writeEntry } from '../store/manifest.ts';
import { once, readAll } from '../store/object-store.ts';
import type { ResolvedArchiveOptions } from './archive-options.ts';
import { BinlogRun } from './binlog-state.ts';
import type { Candidate } from './discover.ts';
import { sha256File } from './file-hash.ts';

export interface BinlogOutcome {
  binlog: string;
  sequence: number;
  correlationId: string;
  status: 'archived' | 'skipped' | 'adopted';
  bytes: number;
  objectKey: string;
  objectBytes: number;
  info: BinlogInfo;
}

export interface BatchContext {
  options: ResolvedArchiveOptions;
  keys: BatchKeys;
  batchId: string;
  source: string;
}

/** Re-reads the binlog's size and mtime after the last byte was read: a file that changed is the active one. */
async function* guardUnchanged(path: string, before: fs.Stats, body: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  yield* body;
  const after = await fs.promises.stat(path);
  if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
    throw new ArchiverError('EBINLOGACTIVE', `binlog ${path} changed while it was being archived (${before.size} -> ${after.size} bytes)`, {
      hint: 'it is being written by the server: only closed binlogs can be archived',
    });
  }
}

function progressStream(source: fs.ReadStream, report: (bytes: number) => void): AsyncIterable<Buffer> {
  let bytes = 0;
  return (async function* () {
    for await (const chunk of source) {
      bytes += (chunk as Buffer).length;
      report(bytes);
      yield chunk as Buffer;
    }
  })();
}

function entryFor(ctx: BatchContext, correlationId: string, candidate: Candidate, info: BinlogInfo, sha256: string,
  object: ManifestEntry['object'], key: ManifestEntry['key']): ManifestEntry {
  const plain = info.magic === 'plain' ? info : null;
  return {
    schema: ENTRY_SCHEMA,
    correlationId,
    batchId: ctx.batchId,
    archivedAt: ctx.options.clock().toISOString(),
    source: {
      name: ctx.source,
      serverId: plain?.serverId ?? null,
      serverUuid: null,
      flavor: info.flavor,
      version: plain?.serverVersion ?? null,
    },
    binlog: {
      name: candidate.name,
      sequence: candidate.sequence,
      size: info.size,
      sha256,
      firstEventTime: plain?.firstEventTime ?? null,
      lastEventTime: plain?.lastEventTime ?? null,
      firstPosition: plain?.firstEventPosition ?? 0,
      lastPosition: plain?.lastEventPosition ?? 0,
      endPosition: plain?.endPosition ?? info.size,
      previousGtids: plain?.previousGtids?.text ?? null,
      gtidsAdded: plain?.gtidsAdded.format() ?? '',
      firstGtid: plain?.firstGtid ?? null,
      lastGtid: plain?.lastGtid ?? null,
      checksumAlg: plain?.checksumAlg ?? null,
      mysqlEncryptionKeyId: info.magic === 'mysql-encrypted' ? info.encryption.keyId : null,
      transactionCompressed: (plain?.transactionPayload.count ?? 0) > 0,
    },
    object,
    key,
  };
}

export async function archiveBinlog(ctx: BatchContext, candidate: Candidate, correlationId: string): Promise<BinlogOutcome> {
  const { options, keys, source } = ctx;
  const run = new BinlogRun({ correlationId, binlog: candidate.name, logger: options.logger, clock: options.clock });
  try {
    const info = await inspectBinlog(candidate.path);
    run.advance('inspected', { size: info.size, flavor: info.flavor });
    if (info.magic === 'plain' && info.inUse) {
      // Not the newest binlog (discovery never offers that one), yet flagged in use: the server crashed while
      // writing it. It is still part of the history a recovery needs, so it is archived, with a warning.
      run.logger.log('warn', 'Binlog has the in-use flag set although a newer binlog exists; archiving it as the server left it', { closed: info.closed });
    }
    const key = objectKey(source, candidate.sequence, candidate.name, options.format);
    const existing = await readEntry(options.store, source, candidate.sequence, candidate.name);
    if (existing !== undefined) {
      const sha256 = await sha256File(candidate.path);
      if (existing.binlog.sha256 !== sha256) {
        throw new ArchiverError('ECONFLICT', `binlog ${candidate.name} of source ${source} is already archived with different content (archived sha256 ${existing.binlog.sha256}, this file ${sha256}); the archive is never overwritten`, {
          hint: 'a server with the same name and binlog numbering wrote it: give each server its own --source',
        });
      }
      run.advance('skipped');
      return { binlog: candidate.name, sequence: candidate.sequence, correlationId, status: 'skipped', bytes: info.size, objectKey: existing.object.key, objectBytes: existing.object.size, info };
    }
    const identity: ObjectIdentity = { source, binlogFile: candidate.name, sequence: candidate.sequence, correlationId, batchId: ctx.batchId };
    if ((await options.store.head(key)) !== undefined) return await adopt(ctx, run, candidate, info, key, identity);
    const before = await fs.promises.stat(candidate.path);
    const reader = progressStream(fs.createReadStream(candidate.path, { highWaterMark: 1024 * 1024 }),
      (bytes) => options.onProgress?.({ binlog: candidate.name, bytes, total: before.size }));
    run.advance('encoding', { objectKey: key, format: options.format });
    let entryObject: ManifestEntry['object'];
    let entryKey: ManifestEntry['key'];
    let plaintextSha256: string;
    if (options.format === 'gcm') {
      const context = { ...options.context, source, batch: ctx.batchId };
      const dataKey = await keys.dataKey(context);
      const encoded = encodeObject({
        source: reader, dek: dataKey.plaintext, wrappedKey: dataKey.wrapped,
        key: { provider: keys.provider().kind, keyId: dataKey.keyId, ...(dataKey.keyVersion === undefined ? {} : { keyVersion: dataKey.keyVersion }) },
        identity, encryptionContext: context, level: options.level, segmentSize: options.segmentSize, objectName: options.store.describe(key),
      });
      const stored = await options.store.put(key, guardUnchanged(candidate.path, before, encoded));
      const result = await encoded.result;
      if (stored.sha256 !== result.objectSha256 || stored.size !== result.objectLength) {
        throw new ArchiverError('EVERIFY', `${options.store.describe(key)} holds other bytes than were produced (sha256 ${stored.sha256} != ${result.objectSha256})`);
      }
      plaintextSha256 = result.plaintextSha256;
      entryObject = { key, size: stored.size, sha256: stored.sha256, format: 'gcm', formatVersion: FORMAT_VERSION, sidecarKey: null };
      entryKey = { provider: keys.provider().kind, keyId: dataKey.keyId, keyVersion: dataKey.keyVersion ?? null, wrappedDek: dataKey.wrapped.toString('base64'), context };
    } else {
      const { passphrase, keyId } = keys.passphrase();
      const encoded = encodeOpensslObject({ source: reader, passphrase, identity, key: { provider: 'passphrase', keyId }, level: options.level, segmentSize: options.segmentSize, objectName: options.store.describe(key) });
      const stored = await options.store.put(key, guardUnchanged(candidate.path, before, encoded));
      const result = await encoded.result;
      if (stored.sha256 !== result.objectSha256) {
        throw new ArchiverError('EVERIFY', `${options.store.describe(key)} holds other bytes than were produced`);
      }
      const sidecar = sidecarKey(key);
      await options.store.put(sidecar, once(result.sidecarBytes));
      plaintextSha256 = result.plaintextSha256;
      entryObject = { key, size: stored.size, sha256: stored.sha256, format: 'openssl-aes-256-cbc', formatVersion: 1, sidecarKey: sidecar };
      entryKey = { provider: 'passphrase', keyId, keyVersion: null, wrappedDek: null, context: {} };
    }
    run.advance('stored', { objectBytes: entryObject.size });
    await writeEntry(options.store, entryFor(ctx, run.correlationId, candidate, info, plaintextSha256, entryObject, entryKey));
    run.advance('manifested');
    run.logger.log('info', 'Archived binlog', { objectKey: key, bytes: info.size, objectBytes: entryObject.size });
    return { binlog: candidate.name, sequence: candidate.sequence, correlationId, status: 'archived', bytes: info.size, objectKey: key, objectBytes: entryObject.size, info };
  } catch (err) {
    if (run.stage !== 'failed') run.advance('failed', { code: (err as ArchiverError).code, error: (err as Error).message });
    throw err;
  }
}

/**
 * An earlier run stored the object but died before writing its entry. The object was encrypted under that
 * run's data key and identity, which its header records: decode it fully, and adopt it only if it holds
 * exactly this binlog; anything else is a conflict left for a person.
 */
async function adopt(ctx: BatchContext, run: BinlogRun, candidate: Candidate, info: BinlogInfo, key: string, identity: ObjectIdentity): Promise<BinlogOutcome> {
  const { options, keys } = ctx;
  run.advance('adopting', { objectKey: key });
  const sha256 = await sha256File(candidate.path);
  const sidecar = options.format === 'openssl-aes-256-cbc' ? sidecarKey(key) : null;
  let earlier: ObjectIdentity = identity;
  let wrapped: ManifestEntry['key'] = { provider: 'passphrase', keyId: keys.passphrase().keyId, keyVersion: null, wrappedDek: null, context: {} };
  if (options.format === 'gcm') {
    const { header } = await readHeader(options.store.get(key), { objectName: options.store.describe(key) });
    earlier = header.identity;
    wrapped = { provider: header.key.provider, keyId: header.key.keyId, keyVersion: header.key.keyVersion ?? null, wrappedDek: header.wrappedKey.toString('base64'), context: header.encryptionContext };
  } else if (sidecar !== null) {
    earlier = parseSidecar(await readAll(options.store, sidecar), { object: options.store.describe(sidecar) }).identity;
  }
  if (earlier.source !== identity.source || earlier.binlogFile !== identity.binlogFile || earlier.sequence !== identity.sequence) {
    throw new ArchiverError('ECONFLICT', `${options.store.describe(key)} exists but names ${earlier.source}/${earlier.binlogFile}; it is never overwritten`);
  }
  const decoded = await verifyStoredObject({ store: options.store, ref: { key, format: options.format, sidecarKey: sidecar, identity: earlier }, keys });
  if (decoded.plaintextSha256 !== sha256) {
    throw new ArchiverError('ECONFLICT', `${options.store.describe(key)} exists without a manifest entry and holds different content than ${candidate.path} (sha256 ${decoded.plaintextSha256} != ${sha256}); it is never overwritten`, {
      hint: 'inspect the object, and move it aside if it is debris from another server',
    });
  }
  run.advance('stored', { adopted: true });
  const object: ManifestEntry['object'] = { key, size: decoded.objectLength, sha256: decoded.objectSha256, format: options.format, formatVersion: 1, sidecarKey: sidecar };
  // The entry keeps the earlier run's correlation and batch ids: they are baked into the object's identity.
  await writeEntry(options.store, entryFor({ ...ctx, batchId: earlier.batchId }, earlier.correlationId, candidate, info, sha256, object, wrapped));
  run.advance('manifested');
  run.logger.log('info', 'Adopted archived binlog left by an interrupted run', { objectKey: key, earlierCorrelationId: earlier.correlationId });
  return { binlog: candidate.name, sequence: candidate.sequence, correlationId: earlier.correlationId, status: 'adopted', bytes: info.size, objectKey: key, objectBytes: decoded.objectLength, info };
}
