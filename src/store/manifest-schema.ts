/**
 * The schema of what the store's manifest holds, checked where it is read: a manifest entry and the per-source
 * index. Anyone who can write to the store can write these files, and their names become paths in --out and
 * arguments in replay.sh, so every field is checked for type and shape, and then against each other and the
 * layout: the keys must be exactly the ones the layout derives from source, sequence, binlog name and format.
 * A failure is one EFORMAT per document naming it and every bad field.
 */
import { type GtidFlavor, parseGtid, parseGtidSet, parseSequence } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';
import { FORMAT_VERSION } from '../format/constants.ts';
import { type Check, BAD, Problems, bool, integer, isObject, list, map, nullable, oneOf, optional, record, shown, text } from './json-check.ts';
import { ARCHIVE_FORMATS, type ArchiveFormat, binlogNameProblem, isSourceName, manifestKey, objectKey, sidecarKey } from './layout.ts';
import type { IndexRecord, ManifestEntry, SourceIndex } from './manifest.ts';

export const ENTRY_SCHEMA = 'binlog-archiver.dev/manifest-entry/v1';
export const INDEX_SCHEMA = 'binlog-archiver.dev/source-index/v1';

/** Object format versions this build reads, per format (gcm: every version up to the one it writes). */
export const READABLE_FORMAT_VERSIONS: Readonly<Record<ArchiveFormat, readonly number[]>> = {
  gcm: Array.from({ length: FORMAT_VERSION }, (_, i) => i + 1),
  'openssl-aes-256-cbc': [1],
};

const sourceName: Check<string> = (value, field, problems) => {
  if (typeof value !== 'string' || !isSourceName(value)) {
    return problems.add(field, `must be a source name ([A-Za-z0-9][A-Za-z0-9._-]{0,127}) (got ${shown(value)})`);
  }
  return value;
};

const binlogName: Check<string> = (value, field, problems) => {
  if (typeof value !== 'string') return problems.add(field, `must be a string (got ${shown(value)})`);
  const problem = binlogNameProblem(value);
  return problem === undefined ? value : problems.add(field, `${problem} (got ${shown(value)})`);
};

/** Instants as the writer records them: Date.prototype.toISOString, UTC, milliseconds, a real calendar date. */
const isoTime: Check<string> = (value, field, problems) => {
  const exact = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(value);
  if (!exact || Number.isNaN(Date.parse(value)) || new Date(value).toISOString() !== value) {
    return problems.add(field, `must be a UTC time like 2024-01-31T12:00:00.000Z (got ${shown(value)})`);
  }
  return value;
};

const sha256 = text({ max: 64, pattern: /^[0-9a-f]{64}$/, shape: '64 lowercase hex digits' });
const count = integer();
const label = text({ max: 255 });
// GTID sets: one UUID with intervals per server that ever wrote; 1 MiB is far beyond any real set.
const gtidText = text({ min: 0, max: 1 << 20 });
const CORRELATION_ID = /^bl-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BATCH_ID = /^batch-\d{8}T\d{6}-[0-9a-f]{8}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const checkEntry: Check<ManifestEntry> = record({
  schema: oneOf([ENTRY_SCHEMA]),
  correlationId: text({ max: 128, pattern: CORRELATION_ID, shape: 'bl-<uuid>' }),
  batchId: text({ max: 128, pattern: BATCH_ID, shape: 'batch-<yyyymmddThhmmss>-<8 hex digits>' }),
  archivedAt: isoTime,
  source: record({
    name: sourceName,
    serverId: nullable(integer(0, 0xffffffff)),
    serverUuid: nullable(label),
    flavor: oneOf(['mysql', 'mariadb']),
    version: nullable(label),
  }),
  binlog: record({
    name: binlogName, sequence: count, size: count, sha256, edgesSha256: optional(sha256),
    firstEventTime: nullable(isoTime), lastEventTime: nullable(isoTime),
    firstPosition: count, lastPosition: count, endPosition: count,
    previousGtids: nullable(gtidText), gtidsAdded: gtidText, firstGtid: nullable(label), lastGtid: nullable(label),
    checksumAlg: nullable(oneOf(['none', 'crc32', 'undef'])),
    // Copied from the binlog's own encryption header as latin1: any bytes.
    mysqlEncryptionKeyId: nullable(text({ max: 1024, controls: true })),
    transactionCompressed: bool,
  }),
  object: record({
    key: text({ max: 1024 }), size: count, sha256,
    format: oneOf(ARCHIVE_FORMATS), formatVersion: integer(1, 0xffff),
    sidecarKey: nullable(text({ max: 1024 })),
    // Added with the per-segment level choice; older entries have none.
    compression: optional(record({ level: integer(1, 19), frames: integer(1), storedFrames: count, smallTableFrames: optional(count) })),
  }),
  // The same limits as the object header these fields are copied from (docs/FORMAT.md 2.2).
  key: record({
    provider: text({ max: 64, controls: true }),
    keyId: text({ max: 2048, controls: true }),
    keyVersion: nullable(text({ max: 256, controls: true })),
    wrappedDek: nullable(text({ max: 12000, pattern: BASE64, shape: 'canonical base64' })),
    context: map(text({ max: 256, controls: true }), text({ min: 0, max: 1024, controls: true }), 64),
  }),
});

const checkIndex: Check<SourceIndex> = record({
  schema: oneOf([INDEX_SCHEMA]),
  source: sourceName,
  updatedAt: isoTime,
  entries: list(record({
    name: binlogName, sequence: count, size: count, sha256,
    firstEventTime: nullable(isoTime), lastEventTime: nullable(isoTime),
    previousGtids: nullable(gtidText), gtidsAdded: gtidText, lastGtid: nullable(label),
    entryKey: text({ max: 1024 }), objectKey: text({ max: 1024 }),
    flavor: oneOf(['mysql', 'mariadb']),
  }), 10_000_000),
});

/** The binlog name's numeric suffix is its sequence: a name and sequence that disagree name two binlogs. */
function sequenceMatches(name: string, sequence: number, field: string, p: Problems): boolean {
  if (parseSequence(name) === sequence) return true;
  p.add(field, `is ${sequence}, but the binlog name ${JSON.stringify(name)} ends in ${String(parseSequence(name))}`);
  return false;
}

function gtidsParse(flavor: GtidFlavor, fields: Record<string, { set: boolean; value: string | null }>, p: Problems): void {
  for (const [field, { set, value }] of Object.entries(fields)) {
    if (value === null) continue;
    try {
      if (set) parseGtidSet(flavor, value);
      else parseGtid(flavor, value);
    } catch (err) {
      p.add(field, `is not a ${flavor} GTID${set ? ' set' : ''}: ${(err as Error).message}`);
    }
  }
}

/** `what` the key names ("object", "sidecar", "entry"): keys are derived, never chosen by the document. */
function keyMatches(field: string, what: string, actual: string | null, expected: string | null, p: Problems): void {
  if (actual !== expected) {
    p.add(field, `is ${actual === null ? 'null' : shown(actual)}, but the layout puts this binlog's ${what} at ${expected === null ? 'nothing (null)' : JSON.stringify(expected)}`);
  }
}

function entryRelations(e: ManifestEntry, at: Site, p: Problems): void {
  const { binlog: b, object: o } = e;
  if (e.source.name !== at.source) p.add('source.name', `is ${shown(e.source.name)}, but the entry is listed under source ${JSON.stringify(at.source)}`);
  const sequenceOk = sequenceMatches(b.name, b.sequence, 'binlog.sequence', p);
  if (!(b.firstPosition <= b.lastPosition && b.lastPosition <= b.endPosition && b.endPosition <= b.size)) {
    p.add('binlog', `positions must satisfy firstPosition <= lastPosition <= endPosition <= size (got ${b.firstPosition}, ${b.lastPosition}, ${b.endPosition}, ${b.size})`);
  }
  gtidsParse(e.source.flavor, {
    'binlog.previousGtids': { set: true, value: b.previousGtids }, 'binlog.gtidsAdded': { set: true, value: b.gtidsAdded },
    'binlog.firstGtid': { set: false, value: b.firstGtid }, 'binlog.lastGtid': { set: false, value: b.lastGtid },
  }, p);
  if (!READABLE_FORMAT_VERSIONS[o.format].includes(o.formatVersion)) {
    p.add('object.formatVersion', `is ${o.formatVersion}; this build reads ${o.format} versions ${READABLE_FORMAT_VERSIONS[o.format].join(', ')}`);
  }
  if (o.compression !== undefined) {
    const { frames, storedFrames, smallTableFrames = 0 } = o.compression;
    if (storedFrames > frames) p.add('object.compression.storedFrames', `is ${storedFrames}, more than the object's ${frames} frames`);
    else if (storedFrames + smallTableFrames > frames) {
      p.add('object.compression.smallTableFrames', `is ${smallTableFrames}, more than the ${frames - storedFrames} frames left beside the ${storedFrames} stored of the object's ${frames}`);
    }
  }
  const wrapped = e.key.wrappedDek;
  if ((o.format === 'gcm') !== (wrapped !== null)) p.add('key.wrappedDek', o.format === 'gcm' ? 'is missing (null) for a gcm object' : `must be null for format ${o.format}`);
  else if (wrapped !== null && (wrapped === '' || Buffer.from(wrapped, 'base64').toString('base64') !== wrapped)) p.add('key.wrappedDek', 'must be non-empty canonical base64');
  if (!sequenceOk || e.source.name !== at.source) return;
  const object = objectKey(e.source.name, b.sequence, b.name, o.format);
  keyMatches('object.key', 'object', o.key, object, p);
  keyMatches('object.sidecarKey', 'sidecar', o.sidecarKey, o.format === 'gcm' ? null : sidecarKey(object), p);
  const entryKey = manifestKey(e.source.name, b.sequence, b.name);
  if (at.key !== entryKey) p.add('', `is stored at ${JSON.stringify(at.key)}, but its source, sequence and binlog name belong at ${JSON.stringify(entryKey)}`);
}

function indexRelations(index: SourceIndex, at: Site, p: Problems): void {
  if (index.source !== at.source) p.add('source', `is ${shown(index.source)}, but the index is stored for source ${JSON.stringify(at.source)}`);
  index.entries.forEach((r: IndexRecord, i) => {
    const field = `entries[${i}]`;
    if (!sequenceMatches(r.name, r.sequence, `${field}.sequence`, p)) return;
    gtidsParse(r.flavor, {
      [`${field}.previousGtids`]: { set: true, value: r.previousGtids }, [`${field}.gtidsAdded`]: { set: true, value: r.gtidsAdded },
      [`${field}.lastGtid`]: { set: false, value: r.lastGtid },
    }, p);
    keyMatches(`${field}.entryKey`, 'manifest entry', r.entryKey, manifestKey(at.source, r.sequence, r.name), p);
    const candidates = ARCHIVE_FORMATS.map((f) => objectKey(at.source, r.sequence, r.name, f));
    if (!candidates.includes(r.objectKey)) p.add(`${field}.objectKey`, `is ${shown(r.objectKey)}, but the layout puts this binlog's object at ${candidates.map((k) => JSON.stringify(k)).join(' or ')}`);
  });
}

/** Where a document was read: its key, how to describe it to a person, and the source it was listed under. */
export interface Site {
  key: string;
  where: string;
  source: string;
}

interface Kind<T> {
  /** "manifest entry" */
  what: string;
  schema: string;
  check: Check<T>;
  relations: (doc: T, at: Site, p: Problems) => void;
}

function parseDocument<T>(raw: Buffer, at: Site, { what, schema, check, relations }: Kind<T>): T {
  const fail = (detail: string, cause?: unknown): ArchiverError =>
    new ArchiverError('EFORMAT', `${what} ${at.where}: ${detail}`, {
      ...(cause === undefined ? {} : { cause }),
      hint: `it was changed or damaged outside binlog-archiver; put back the original (a bucket version or a backup). \`binlog-archiver verify\` lists every such ${what}`,
    });
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (err) {
    throw fail('is not valid UTF-8 JSON', err);
  }
  const problems = new Problems(`the ${what.split(' ').at(-1) ?? what}`);
  // Another schema (a later version) is one problem, not one per field it changed.
  if (isObject(json) && json.schema !== schema) throw fail(`has schema ${shown(json.schema)}; this build reads ${schema}`);
  const doc = check(json, '', problems);
  if (doc !== BAD) relations(doc, at, problems);
  if (doc === BAD || problems.list.length > 0) throw fail(problems.list.join('; '));
  return doc;
}

/** A manifest entry read from `at.key`, checked in full; throws one EFORMAT naming the entry and every bad field. */
export function parseManifestEntry(raw: Buffer, at: Site): ManifestEntry {
  return parseDocument(raw, at, { what: 'manifest entry', schema: ENTRY_SCHEMA, check: checkEntry, relations: entryRelations });
}

/** A per-source index read from `at.key`, checked in full; throws one EFORMAT naming the index and every bad field. */
export function parseSourceIndex(raw: Buffer, at: Site): SourceIndex {
  return parseDocument(raw, at, { what: 'source index', schema: INDEX_SCHEMA, check: checkIndex, relations: indexRelations });
}
