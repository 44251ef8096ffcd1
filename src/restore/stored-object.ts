/**
 * Reads one archived object back to plaintext, checking everything the format authenticates: used by
 * restore, by verify, and by the archive pipeline when it adopts an object an earlier run stored.
 */
import { ArchiverError } from '../errors.ts';
import { type HashPlacement, type ObjectIdentity, type StreamWithResult, decodeObject, decodeOpensslObject, readHeader } from '../format/index.ts';
import type { BatchKeys } from '../keys/batch-keys.ts';
import { zero } from '../keys/key-provider.ts';
import type { ArchiveFormat } from '../store/layout.ts';
import { EdgesCollector } from '../store/binlog-edges.ts';
import { type ObjectStore, readAll } from '../store/object-store.ts';
import { type PlanningFields, createPlanningDeriver } from './planning-fields.ts';

export interface StoredObjectRef {
  key: string;
  format: ArchiveFormat;
  sidecarKey: string | null;
  identity: ObjectIdentity;
}

export interface DecodedSummary {
  plaintextLength: number;
  plaintextSha256: string;
  objectLength: number;
  /** null when the caller asked for no object hash (`hashObject: false`, gcm objects only). */
  objectSha256: string | null;
  /**
   * Hex planning digest the object authenticates (format v2 trailer, or v2 sidecar HMAC); null for v1 objects,
   * whose planning fields only the decoded bytes can prove. Compare with planningDigestMismatch.
   */
  planningSha256: string | null;
  /** Where the decoder chose to hash the plaintext (gcm objects, 'adaptive'); absent or null when it did not choose. */
  plaintextHashChoice?: 'here' | 'worker' | null;
}

/**
 * `maxInFlight`: frames between the read and the consumer at most (decodeObject's default when absent).
 * `plaintextHash`: where a gcm object's plaintext is hashed (decodeObject's option; 'adaptive' by default).
 * `hashObject: false`: the SHA-256 of a gcm object's bytes is not computed, for a caller that does not compare
 * it with the manifest (restore: the frames and the trailer authenticate every byte; an openssl object's digest
 * is what its sidecar authenticates, so it is always computed).
 */
export async function openStoredObject(options: {
  store: ObjectStore; ref: StoredObjectRef; keys: BatchKeys; maxInFlight?: number; hashObject?: boolean; plaintextHash?: HashPlacement;
}): Promise<StreamWithResult<DecodedSummary>> {
  const { store, ref, keys } = options;
  const objectName = store.describe(ref.key);
  if ((await store.head(ref.key)) === undefined) {
    throw new ArchiverError('ENOTFOUND', `archived object ${objectName} is missing`, { hint: 'the manifest lists it: it was deleted or never finished uploading' });
  }
  if (ref.format === 'openssl-aes-256-cbc') {
    if (ref.sidecarKey === null || (await store.head(ref.sidecarKey)) === undefined) {
      throw new ArchiverError('ENOTFOUND', `the HMAC sidecar of ${objectName} is missing`, { hint: 'without it the object cannot be authenticated' });
    }
    const sidecar = await readAll(store, ref.sidecarKey);
    const { passphrase } = keys.passphrase();
    return decodeOpensslObject({ source: store.get(ref.key), sidecar, passphrase, expected: ref.identity, objectName });
  }
  const opened = await readHeader(store.get(ref.key), { objectName, hashObject: options.hashObject !== false });
  try {
    const provider = keys.provider();
    const { key, wrappedKey, encryptionContext } = opened.header;
    if (key.provider !== provider.kind) {
      throw new ArchiverError('EKEY', `${objectName} was encrypted under a ${key.provider} key (${key.keyId}), but --key names a ${provider.kind} key provider`, {
        hint: 'pass the --key the archive was written with',
      });
    }
    const dek = await provider.decryptDataKey(wrappedKey, encryptionContext, key.keyId);
    try {
      return decodeObject({
        object: opened, dek, expected: ref.identity,
        ...(options.maxInFlight === undefined ? {} : { maxInFlight: options.maxInFlight }),
        ...(options.plaintextHash === undefined ? {} : { plaintextHash: options.plaintextHash }),
      });
    } finally {
      zero(dek);
    }
  } catch (err) {
    // Refused before decoding started: nothing else will close the object.
    await opened.close().catch(() => undefined);
    throw err;
  }
}

export interface VerifiedObject extends Omit<DecodedSummary, 'objectSha256'> {
  objectSha256: string;
  /** The edges digest of the decoded binlog (src/store/binlog-edges.ts), to compare with the entry's. */
  edgesSha256: string;
  /** The planning fields re-derived from the decoded binlog bytes (compare with planningMismatches). */
  planning: PlanningFields;
}

/**
 * Decodes to the end, discarding plaintext, and re-derives the planning fields from the same bytes on the way:
 * the integrity check of `verify` and of adoption. Plaintext that authenticates but is not a binlog the reader
 * accepts is EVERIFY (the archive only ever stores such binlogs).
 */
export async function verifyStoredObject(options: { store: ObjectStore; ref: StoredObjectRef; keys: BatchKeys }): Promise<VerifiedObject> {
  const decoded = await openStoredObject(options);
  const name = `${options.store.describe(options.ref.key)} (${options.ref.identity.binlogFile})`;
  const deriver = createPlanningDeriver(name);
  const edges = new EdgesCollector();
  let unreadable: unknown;
  for await (const chunk of decoded) {
    edges.update(chunk);
    if (unreadable === undefined) {
      try {
        deriver.write(chunk);
      } catch (err) {
        // Keep decoding: whether the object authenticates is the first thing to report.
        unreadable = err;
      }
    }
    decoded.release?.(chunk);
  }
  const result = await decoded.result;
  const notBinlog = (err: unknown): ArchiverError =>
    new ArchiverError('EVERIFY', `${name} authenticates but does not decode to a binlog the reader accepts: ${(err as Error).message}`, { cause: err });
  if (unreadable !== undefined) throw notBinlog(unreadable);
  const { objectSha256 } = result;
  if (objectSha256 === null) throw new ArchiverError('EINTERNAL', `${name} was decoded without its object hash`);
  try {
    return { ...result, objectSha256, edgesSha256: edges.digest(), planning: deriver.finish() };
  } catch (err) {
    throw notBinlog(err);
  }
}
