/**
 * Where the retained range of a source starts: `retention/<source>.json`, written by `expire` BEFORE it deletes
 * anything. Every binlog with a smaller sequence is expired or about to be: the manifest readers (index rebuild,
 * restore planning, verify) skip its entry, and verify does not count its object as an orphan. So an expire
 * killed between two deletes leaves a store that looks exactly like the finished one, never one with a hole at
 * the start of the kept range, and a rerun deletes the rest. The marker only moves forward: what was expired
 * cannot come back, and a longer window later keeps from the marker.
 */
import { ArchiverError } from '../errors.ts';
import { type Check, BAD, Problems, integer, nullable, oneOf, record, shown, text } from './json-check.ts';
import { assertSourceName, binlogNameProblem, isSourceName } from './layout.ts';
import { type ObjectStore, readAll } from './object-store.ts';

export const RETAINED_RANGE_SCHEMA = 'binlog-archiver.dev/retained-range/v1';

export interface RetainedRange {
  schema: typeof RETAINED_RANGE_SCHEMA;
  source: string;
  /** The first kept binlog: entries and objects of smaller sequence numbers are expired. */
  firstSequence: number;
  firstBinlog: string;
  /** The first event of the first kept binlog: the earliest point a restore can reach. */
  firstRecoverableTime: string | null;
  /** The run that moved the range: its window (as given), the window's start, and the anchor it kept from. */
  recoveryWindow: string;
  windowStart: string;
  anchorKey: string | null;
  updatedAt: string;
}

export function retainedRangeKey(source: string): string {
  assertSourceName(source);
  return `retention/${source}.json`;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Instants as toISOString writes them, and real ones. */
export const isoInstant: Check<string> = (value, field, problems) =>
  typeof value === 'string' && ISO.test(value) && new Date(value).toISOString() === value ? value : problems.add(field, `must be a UTC time like 2024-01-31T12:00:00.000Z (got ${shown(value)})`);

const checkRange: Check<RetainedRange> = record({
  schema: oneOf([RETAINED_RANGE_SCHEMA]),
  source: text({ max: 128 }),
  firstSequence: integer(),
  firstBinlog: text({ max: 255 }),
  firstRecoverableTime: nullable(isoInstant),
  recoveryWindow: text({ max: 64, pattern: /^[0-9.a-zµ]+$/, shape: 'a duration such as 168h' }),
  windowStart: isoInstant,
  anchorKey: nullable(text({ max: 1024 })),
  updatedAt: isoInstant,
});

/** A JSON document read from `key`, checked by `check` plus `relations`; one EFORMAT naming every bad field. */
export function parseStoreDocument<T>(raw: Buffer, where: string, what: string, check: Check<T>, relations: (doc: T, p: Problems) => void): T {
  const fail = (detail: string, cause?: unknown): ArchiverError => new ArchiverError('EFORMAT', `${what} ${where}: ${detail}`, {
    ...(cause === undefined ? {} : { cause }),
    hint: `it was changed or damaged outside binlog-archiver; put back the original (a bucket version) or remove it after checking what it should say`,
  });
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (err) {
    throw fail('is not valid UTF-8 JSON', err);
  }
  const problems = new Problems(`the ${what}`);
  const doc = check(json, '', problems);
  if (doc !== BAD) relations(doc, problems);
  if (doc === BAD || problems.list.length > 0) throw fail(problems.list.join('; '));
  return doc;
}

export async function readRetainedRange(store: ObjectStore, source: string): Promise<RetainedRange | undefined> {
  const key = retainedRangeKey(source);
  if ((await store.head(key)) === undefined) return undefined;
  return parseStoreDocument(await readAll(store, key), store.describe(key), 'retained-range marker', checkRange, (doc, p) => {
    if (!isSourceName(doc.source) || doc.source !== source) p.add('source', `is ${shown(doc.source)}, but the marker is stored for source ${JSON.stringify(source)}`);
    const problem = binlogNameProblem(doc.firstBinlog);
    if (problem !== undefined) p.add('firstBinlog', problem);
  });
}

export async function writeRetainedRange(store: ObjectStore, range: RetainedRange): Promise<void> {
  await store.replace(retainedRangeKey(range.source), Buffer.from(`${JSON.stringify(range, null, 2)}\n`));
}

const SEQUENCED = /^(?:manifest|binlogs)\/([^/]+)\/(\d{10,})-[^/]+$/;

/** The sequence number in a manifest entry's or an archive object's key (layout.ts), or undefined. */
export function sequenceOfKey(key: string): { source: string; sequence: number } | undefined {
  const m = SEQUENCED.exec(key);
  return m === null ? undefined : { source: m[1]!, sequence: Number(m[2]) };
}

/** True for a manifest entry or archive object below the source's retained range (expired or being expired). */
export function isBelowRange(key: string, range: RetainedRange | undefined): boolean {
  if (range === undefined) return false;
  const at = sequenceOfKey(key);
  return at !== undefined && at.source === range.source && at.sequence < range.firstSequence;
}
