/**
 * Base-backup anchors: `anchors/<source>/<time>-<digest>.json`, one per base backup, recording where in the
 * binlog stream the backup is consistent (the GTID set, or the binlog file and position, its tool reports) and
 * when. `expire` keeps every binlog from the newest anchor at or before the window start. An anchor is never
 * overwritten: its key is derived from its content, so recording the same backup twice finds the first record.
 */
import { createHash } from 'node:crypto';
import { type GtidFlavor, parseGtidSet } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';
import { type Check, integer, nullable, oneOf, record, text } from '../store/json-check.ts';
import { assertSourceName, binlogNameProblem } from '../store/layout.ts';
import { type ObjectStore, once, readAll } from '../store/object-store.ts';
import { isoInstant, parseStoreDocument } from '../store/retained-range.ts';

export const ANCHOR_SCHEMA = 'binlog-archiver.dev/backup-anchor/v1';

export interface BackupAnchor {
  schema: typeof ANCHOR_SCHEMA;
  source: string;
  /** The instant the backup is consistent at. */
  time: string;
  /** Either the executed GTID set at that instant ... */
  gtidSet: string | null;
  /** ... or the binlog coordinates. */
  file: string | null;
  position: number | null;
  recordedAt: string;
}

const checkAnchor: Check<BackupAnchor> = record({
  schema: oneOf([ANCHOR_SCHEMA]),
  source: text({ max: 128 }),
  time: isoInstant,
  gtidSet: nullable(text({ min: 0, max: 1 << 20 })),
  file: nullable(text({ max: 255 })),
  position: nullable(integer(4)),
  recordedAt: isoInstant,
});

export function anchorPrefix(source: string): string {
  assertSourceName(source);
  return `anchors/${source}/`;
}

/** The GTID set in whichever flavor's syntax it is written (MySQL uuid:intervals, MariaDB domain-server-seq). */
function gtidProblem(text: string): string | undefined {
  const errors: string[] = [];
  for (const flavor of ['mysql', 'mariadb'] as GtidFlavor[]) {
    try {
      parseGtidSet(flavor, text);
      return undefined;
    } catch (err) {
      errors.push(`${flavor}: ${(err as Error).message}`);
    }
  }
  return `is not a MySQL or MariaDB GTID set (${errors.join('; ')})`;
}

/** Why the anchor's position is not one of the two forms, or undefined. */
export function anchorProblems(a: Pick<BackupAnchor, 'gtidSet' | 'file' | 'position'>): string[] {
  const problems: string[] = [];
  const coordinates = a.file !== null || a.position !== null;
  if ((a.gtidSet !== null) === coordinates) problems.push('give either a GTID set or a binlog file and position, not both and not neither');
  if (a.gtidSet !== null) {
    const p = gtidProblem(a.gtidSet);
    if (p !== undefined) problems.push(`the GTID set ${p}`);
  }
  if (coordinates && (a.file === null || a.position === null)) problems.push('a binlog file needs its position, and a position its file');
  if (a.file !== null) {
    const p = binlogNameProblem(a.file);
    if (p !== undefined) problems.push(`the binlog file ${JSON.stringify(a.file)} ${p}`);
  }
  return problems;
}

export function anchorKey(anchor: BackupAnchor): string {
  const digest = createHash('sha256').update(JSON.stringify([anchor.time, anchor.gtidSet, anchor.file, anchor.position])).digest('hex').slice(0, 16);
  return `${anchorPrefix(anchor.source)}${anchor.time.replace(/[-:]/g, '')}-${digest}.json`;
}

export async function readAnchors(store: ObjectStore, source: string): Promise<{ key: string; anchor: BackupAnchor }[]> {
  const anchors: { key: string; anchor: BackupAnchor }[] = [];
  for await (const info of store.list(anchorPrefix(source))) {
    const anchor = parseStoreDocument(await readAll(store, info.key), store.describe(info.key), 'backup anchor', checkAnchor, (doc, p) => {
      if (doc.source !== source) p.add('source', `is ${JSON.stringify(doc.source)}, but the anchor is stored for source ${JSON.stringify(source)}`);
      for (const problem of anchorProblems(doc)) p.add('', problem);
      if (info.key !== anchorKey(doc)) p.add('', `is stored at ${JSON.stringify(info.key)}, but its content belongs at ${JSON.stringify(anchorKey(doc))}`);
    });
    anchors.push({ key: info.key, anchor });
  }
  return anchors.sort((a, b) => Date.parse(a.anchor.time) - Date.parse(b.anchor.time));
}

/** Records an anchor (never overwriting); the same anchor recorded again is found, not duplicated. */
export async function recordAnchor(store: ObjectStore, anchor: BackupAnchor): Promise<{ key: string; created: boolean }> {
  const problems = anchorProblems(anchor);
  if (problems.length > 0) throw new ArchiverError('EUSAGE', `backup-anchor: ${problems.join('; ')}`);
  const key = anchorKey(anchor);
  if ((await store.head(key)) !== undefined) return { key, created: false };
  try {
    await store.put(key, once(Buffer.from(`${JSON.stringify(anchor, null, 2)}\n`)));
  } catch (err) {
    // Another run recorded the same backup meanwhile: the content decides the key, so it is this anchor.
    if (err instanceof ArchiverError && err.code === 'ECONFLICT') return { key, created: false };
    throw err;
  }
  return { key, created: true };
}
