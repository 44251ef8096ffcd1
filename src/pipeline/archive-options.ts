/** Options of an archive run: defaults in one place, validated with precise messages. */
import { DEFAULT_SEGMENT_SIZE, DEFAULT_ZSTD_LEVEL } from '../format/index.ts';
import { ArchiverError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { silentLogger } from '../logger.ts';
import type { KeyProvider } from '../keys/key-provider.ts';
import type { ArchiveFormat } from '../store/layout.ts';
import { assertSourceName } from '../store/layout.ts';
import type { ObjectStore } from '../store/object-store.ts';

export interface ArchiveOptions {
  binlogDir: string;
  store: ObjectStore;
  /** `file:///path` (local key, or the passphrase file for openssl-aes-256-cbc), later awskms:// and vault://. */
  keyUrl: string;
  /** A key provider built by the caller instead of from keyUrl. */
  keyProvider?: KeyProvider;
  format?: ArchiveFormat;
  level?: number;
  segmentSize?: number;
  /** Source server name used in object keys; default `<flavor>-<server_id>` from the binlogs. */
  source?: string;
  /**
   * The binlog series to archive (`mysql-bin` for `mysql-bin.000042`) when the directory has no index file and
   * holds several series that are not relay logs.
   */
  binlogBasename?: string;
  /** Extra encryption context (namespace, policy) bound to the batch's data key. */
  context?: Record<string, string>;
  logger?: Logger;
  clock?: () => Date;
  /** Called with bytes read so far for the binlog being archived (progress display). */
  onProgress?: (event: { binlog: string; bytes: number; total: number }) => void;
}

type OptionalOptions = 'source' | 'keyProvider' | 'onProgress' | 'binlogBasename';
export type ResolvedArchiveOptions = Required<Omit<ArchiveOptions, OptionalOptions>> & Pick<ArchiveOptions, OptionalOptions>;

export const ARCHIVE_DEFAULTS = {
  format: 'gcm' as ArchiveFormat,
  level: DEFAULT_ZSTD_LEVEL,
  segmentSize: DEFAULT_SEGMENT_SIZE,
};

export function resolveArchiveOptions(options: ArchiveOptions): ResolvedArchiveOptions {
  const resolved: ResolvedArchiveOptions = {
    ...options,
    format: options.format ?? ARCHIVE_DEFAULTS.format,
    level: options.level ?? ARCHIVE_DEFAULTS.level,
    segmentSize: options.segmentSize ?? ARCHIVE_DEFAULTS.segmentSize,
    context: options.context ?? {},
    logger: options.logger ?? silentLogger,
    clock: options.clock ?? (() => new Date()),
  };
  if (resolved.format !== 'gcm' && resolved.format !== 'openssl-aes-256-cbc') {
    throw new ArchiverError('EUSAGE', `--format ${String(resolved.format)} is not known`, { hint: 'use gcm (default) or openssl-aes-256-cbc' });
  }
  if (!Number.isInteger(resolved.level) || resolved.level < 1 || resolved.level > 19) {
    throw new ArchiverError('EUSAGE', `--level ${resolved.level} is out of range`, { hint: 'zstd levels 1 to 19 are supported (default 3)' });
  }
  if (resolved.source !== undefined) assertSourceName(resolved.source);
  if (resolved.binlogBasename !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(resolved.binlogBasename)) {
    throw new ArchiverError('EUSAGE', `binlog basename ${JSON.stringify(resolved.binlogBasename)} is not a file name prefix`, {
      hint: 'give the part before .NNNNNN, e.g. mysql-bin for mysql-bin.000042',
    });
  }
  for (const [k, v] of Object.entries(resolved.context)) {
    if (typeof v !== 'string' || k === 'source' || k === 'batch') {
      throw new ArchiverError('EUSAGE', `encryption context key ${JSON.stringify(k)} is reserved or not a string`);
    }
  }
  return resolved;
}
