/**
 * Where things live in a store. Object keys carry the source server identity and the binlog's sequence number
 * (zero-padded so listings sort in order), and are never overwritten.
 *
 *   binlogs/<source>/<sequence>-<binlog name>.blarc        archive object (format gcm, docs/FORMAT.md)
 *   binlogs/<source>/<sequence>-<binlog name>.zst.aes      archive object (format openssl-aes-256-cbc)
 *   binlogs/<source>/<sequence>-<binlog name>.zst.aes.json its HMAC sidecar
 *   manifest/<source>/<sequence>-<binlog name>.json        manifest entry, written last
 *   index/<source>.json                                    per-source index, rebuilt from the entries
 */
import { ArchiverError } from '../errors.ts';

export const ARCHIVE_FORMATS = ['gcm', 'openssl-aes-256-cbc'] as const;
export type ArchiveFormat = (typeof ARCHIVE_FORMATS)[number];

const SOURCE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isSourceName(source: string): boolean {
  return SOURCE.test(source);
}

export function assertSourceName(source: string): void {
  if (!isSourceName(source)) {
    throw new ArchiverError('EUSAGE', `source name ${JSON.stringify(source)} is not usable in object keys`, {
      hint: 'use letters, digits, ".", "_" and "-" (up to 128 characters), starting with a letter or digit',
    });
  }
}

/**
 * Why `name` cannot be a binlog's name in keys and on disk, or undefined. It becomes a path segment (object keys,
 * the restored file in --out) and an argument of mysqlbinlog in replay.sh, so it must be one plain file name that
 * no tool reads as a path or an option: `<base>.<6+ digits>`, at most 255 UTF-8 bytes, no "/", "\\", NUL or other
 * control character, not starting with "-" ("." and ".." fail the pattern).
 */
export function binlogNameProblem(name: string): string | undefined {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0 || bytes > 255) return `must be 1 to 255 UTF-8 bytes (got ${bytes})`;
  if (!name.isWellFormed()) return 'is not well-formed Unicode';
  if (/[/\\]/.test(name)) return 'must be a plain file name, without "/" or "\\"';
  if (/\p{Cc}/u.test(name)) return 'contains a control character';
  if (name.startsWith('-')) return 'must not start with "-" (mysqlbinlog would read it as an option)';
  if (!/^.+\.\d{6,}$/.test(name)) return 'must be <base>.<6 or more digits>, e.g. mysql-bin.000042';
  return undefined;
}

function stem(source: string, sequence: number, binlogName: string): string {
  assertSourceName(source);
  const problem = binlogNameProblem(binlogName);
  if (problem !== undefined) throw new ArchiverError('EBADINPUT', `binlog name ${JSON.stringify(binlogName)} ${problem}`);
  if (!Number.isSafeInteger(sequence) || sequence < 0) throw new ArchiverError('EBADINPUT', `binlog sequence ${sequence} is not a non-negative integer`);
  return `${source}/${String(sequence).padStart(10, '0')}-${binlogName}`;
}

export function objectKey(source: string, sequence: number, binlogName: string, format: ArchiveFormat): string {
  return `binlogs/${stem(source, sequence, binlogName)}${format === 'gcm' ? '.blarc' : '.zst.aes'}`;
}

export function sidecarKey(objectKeyOfOpenssl: string): string {
  return `${objectKeyOfOpenssl}.json`;
}

export function manifestKey(source: string, sequence: number, binlogName: string): string {
  return `manifest/${stem(source, sequence, binlogName)}.json`;
}

export function indexKey(source: string): string {
  assertSourceName(source);
  return `index/${source}.json`;
}

export const MANIFEST_PREFIX = 'manifest/';
