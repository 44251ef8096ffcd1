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

export type ArchiveFormat = 'gcm' | 'openssl-aes-256-cbc';

const SOURCE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function assertSourceName(source: string): void {
  if (!SOURCE.test(source)) {
    throw new ArchiverError('EUSAGE', `source name ${JSON.stringify(source)} is not usable in object keys`, {
      hint: 'use letters, digits, ".", "_" and "-" (up to 128 characters), starting with a letter or digit',
    });
  }
}

function stem(source: string, sequence: number, binlogName: string): string {
  assertSourceName(source);
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
