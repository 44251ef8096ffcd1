/**
 * The manifest fields restore plans with (times, GTIDs, positions, server identity): one mapping from a binlog's
 * BinlogInfo, used to write the manifest entry at archive time and to re-derive the same fields from the decoded
 * bytes at verify and restore time, so an edited entry is caught instead of silently moving a stop point. Also
 * their canonical digest, which format v2 binds into the authenticated trailer (docs/FORMAT.md 5.3).
 */
import { createHash } from 'node:crypto';
import { type BinlogInfo, createBinlogInspector } from '../binlog/index.ts';
import { canonicalJson, type CanonicalObject } from '../format/canonical-json.ts';
import type { ManifestEntry } from '../store/manifest.ts';

type Binlog = ManifestEntry['binlog'];
type Source = ManifestEntry['source'];

/** Every planning field of an entry: all of `source` but its name, all of `binlog` but name, sequence and sha256. */
export interface PlanningFields {
  source: Pick<Source, 'serverId' | 'serverUuid' | 'flavor' | 'version'>;
  binlog: Omit<Binlog, 'name' | 'sequence' | 'sha256'>;
}

/** The one mapping from what the reader saw to what the manifest records. */
export function planningFieldsOf(info: BinlogInfo): PlanningFields {
  const plain = info.magic === 'plain' ? info : null;
  return {
    source: { serverId: plain?.serverId ?? null, serverUuid: null, flavor: info.flavor, version: plain?.serverVersion ?? null },
    binlog: {
      size: info.size,
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
  };
}

const SOURCE_FIELDS = ['serverId', 'serverUuid', 'flavor', 'version'] as const;
const BINLOG_FIELDS = [
  'size', 'firstEventTime', 'lastEventTime', 'firstPosition', 'lastPosition', 'endPosition', 'previousGtids', 'gtidsAdded',
  'firstGtid', 'lastGtid', 'checksumAlg', 'mysqlEncryptionKeyId', 'transactionCompressed',
] as const satisfies readonly (keyof PlanningFields['binlog'])[];

/** The planning fields as an entry records them (whatever their JSON types: the entry came from outside). */
export function planningFieldsOfEntry(entry: ManifestEntry): PlanningFields {
  const source = Object.fromEntries(SOURCE_FIELDS.map((f) => [f, entry.source?.[f]]));
  const binlog = Object.fromEntries(BINLOG_FIELDS.map((f) => [f, entry.binlog?.[f]]));
  return { source, binlog } as unknown as PlanningFields;
}

/**
 * One message per planning field whose manifest value differs from the value in the binlog bytes, naming the
 * field and both values (JSON, so null, "" and a missing value are told apart); empty when all agree.
 */
export function planningMismatches(entry: ManifestEntry, derived: PlanningFields): string[] {
  const recorded = planningFieldsOfEntry(entry);
  const out: string[] = [];
  const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));
  for (const f of SOURCE_FIELDS) {
    if (recorded.source[f] !== derived.source[f]) out.push(`source.${f}: manifest ${show(recorded.source[f])}, binlog bytes ${show(derived.source[f])}`);
  }
  for (const f of BINLOG_FIELDS) {
    if (recorded.binlog[f] !== derived.binlog[f]) out.push(`binlog.${f}: manifest ${show(recorded.binlog[f])}, binlog bytes ${show(derived.binlog[f])}`);
  }
  return out;
}

/** Push-mode derivation: `write` each decoded chunk as it is produced (chunks may be reused after), then `finish`. */
export interface PlanningDeriver {
  write(chunk: Uint8Array): void;
  /** The planning fields of the bytes written; throws the reader's ArchiverError if they are not a whole binlog. */
  finish(): PlanningFields;
}

/** `name` labels the bytes in the reader's errors, e.g. the object key and binlog name. */
export function createPlanningDeriver(name: string): PlanningDeriver {
  const inspector = createBinlogInspector({ path: name });
  return {
    write: (chunk) => inspector.write(chunk),
    finish: () => planningFieldsOf(inspector.finish()),
  };
}

/**
 * Canonical JSON (docs/FORMAT.md 2.4) of the planning fields: canonical JSON has no null and no booleans, so a
 * null field is left out and `transactionCompressed` is 1 or 0. Throws TypeError for values outside that subset.
 */
export function canonicalPlanningJson(fields: PlanningFields): Buffer {
  const members = (o: Record<string, unknown>): CanonicalObject => {
    const out: CanonicalObject = {};
    for (const [k, v] of Object.entries(o)) {
      if (v === null) continue;
      if (typeof v === 'boolean') out[k] = v ? 1 : 0;
      else if (typeof v === 'string' || typeof v === 'number') out[k] = v;
      else throw new TypeError(`planning field ${k} is ${JSON.stringify(v)}, not a string, integer, boolean or null`);
    }
    return out;
  };
  return canonicalJson({ binlog: members(fields.binlog), source: members(fields.source) });
}

/** SHA-256 of canonicalPlanningJson: what a v2 trailer (and a v2 sidecar's HMAC) authenticates. */
export function planningDigest(fields: PlanningFields): Buffer {
  return createHash('sha256').update(canonicalPlanningJson(fields)).digest();
}

/**
 * Compares the authenticated planning digest of an object (hex; null for a v1 object, which has none) with the
 * entry's fields: a message when they differ, else null. An entry whose fields cannot be serialised differs.
 */
export function planningDigestMismatch(entry: ManifestEntry, authenticated: string | null): string | null {
  if (authenticated === null) return null;
  let recorded: string;
  try {
    recorded = planningDigest(planningFieldsOfEntry(entry)).toString('hex');
  } catch (err) {
    return `the manifest's planning fields are malformed (${(err as Error).message}); the object authenticates planning digest ${authenticated}`;
  }
  return recorded === authenticated ? null : `the manifest's planning fields digest to ${recorded}; the object authenticates ${authenticated}`;
}
