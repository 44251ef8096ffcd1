/**
 * The reader's entry points: inspect a binlog into a BinlogInfo, or stream its transactions for restore
 * planning. Both read the file once, sequentially, in constant memory.
 */
import { ArchiverError, withContext } from '../errors.ts';
import type { BinlogInfo, EncryptedBinlogInfo } from './binlog-info.ts';
import { notBinlog, truncated } from './binlog-errors.ts';
import { ChunkedFile, DEFAULT_CHUNK_SIZE } from './chunked-file.ts';
import { BINLOG_MAGIC, ENCRYPTED_BINLOG_MAGIC, ENCRYPTION_HEADER_SIZE, MAGIC_SIZE } from './constants.ts';
import { parseEncryptionHeader } from './encryption-header.ts';
import type { BinlogEvent } from './event-types.ts';
import { walkEvents } from './event-walker.ts';
import type { WalkOptions } from './event-walker.ts';
import { InfoBuilder } from './info-builder.ts';
import { TransactionTracker } from './transactions.ts';
import type { BinlogTransaction } from './transactions.ts';

export interface ReadOptions extends WalkOptions {
  /** Bytes read per refill; also the largest event handled without streaming (default 4 MiB). */
  chunkSize?: number;
}

export interface InspectOptions extends ReadOptions {
  /** Called for every transaction, in file order, while the file is read. */
  onTransaction?: (t: BinlogTransaction) => void;
  /** Called for every event, in file order. */
  onEvent?: (e: BinlogEvent) => void;
}

export type BinlogMagic = 'plain' | 'mysql-encrypted';

async function openFile(path: string, chunkSize: number): Promise<ChunkedFile> {
  try {
    return await ChunkedFile.open(path, chunkSize);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ArchiverError('ENOTFOUND', `binlog ${path} does not exist`, { cause: err, hint: 'Check the path; the server may have purged the file.', context: { path } });
    }
    if (code === 'EISDIR' || code === 'EACCES' || code === 'EPERM') {
      const what = code === 'EISDIR' ? 'is a directory' : 'cannot be read (permission denied)';
      throw new ArchiverError('EBADINPUT', `binlog ${path} ${what}`, {
        cause: err,
        hint: code === 'EISDIR' ? 'Name a binlog file, not the directory that holds it.' : 'Run with a user that may read the binlog volume (the mysql group, or an fsGroup on the pod).',
        context: { path },
      });
    }
    throw withContext(err, `opening binlog ${path}`);
  }
}

async function readMagic(file: ChunkedFile): Promise<BinlogMagic> {
  const head = await file.read(0, MAGIC_SIZE);
  if (head.length === MAGIC_SIZE && head.equals(BINLOG_MAGIC)) return 'plain';
  if (head.length === MAGIC_SIZE && head.equals(ENCRYPTED_BINLOG_MAGIC)) return 'mysql-encrypted';
  const cut = head.length > 0 && head.length < MAGIC_SIZE;
  if (cut && (BINLOG_MAGIC.subarray(0, head.length).equals(head) || ENCRYPTED_BINLOG_MAGIC.subarray(0, head.length).equals(head))) {
    throw truncated(file.path, 0, 'the 4-byte magic number', file.size);
  }
  throw notBinlog(file.path, Buffer.from(head));
}

async function inspectEncrypted(file: ChunkedFile): Promise<EncryptedBinlogInfo> {
  if (file.size < ENCRYPTION_HEADER_SIZE) {
    throw truncated(file.path, 0, `the ${ENCRYPTION_HEADER_SIZE}-byte encryption header of a MySQL-encrypted binlog`, file.size);
  }
  const header = await file.read(0, ENCRYPTION_HEADER_SIZE);
  const parsed = parseEncryptionHeader(header, file.size);
  if (parsed.kind === 'error') {
    throw new ArchiverError('EBINLOGCORRUPT', `${file.path} is corrupt at offset ${parsed.offset}: ${parsed.message}`, {
      hint: 'The encryption header of a MySQL-encrypted binlog is damaged or from an unknown MySQL version; the file cannot be restored without it. Copy it again from the server.',
      context: { path: file.path, offset: parsed.offset },
    });
  }
  return { path: file.path, size: file.size, magic: 'mysql-encrypted', flavor: 'mysql', encryption: parsed };
}

/** Tells a plain binlog from a MySQL-encrypted one by its first 4 bytes; ENOTBINLOG for anything else. */
export async function detectBinlogMagic(path: string): Promise<BinlogMagic> {
  const file = await openFile(path, 64);
  try {
    return await readMagic(file);
  } finally {
    await file.close();
  }
}

/**
 * Reads a binlog once and summarises it; verifies every event's CRC32 unless told not to. Throws ArchiverError
 * ENOTBINLOG, EBINLOGTRUNCATED, EBINLOGCHECKSUM or EBINLOGCORRUPT naming the file and byte offset.
 */
export async function inspectBinlog(path: string, opts: InspectOptions = {}): Promise<BinlogInfo> {
  const file = await openFile(path, opts.chunkSize ?? DEFAULT_CHUNK_SIZE);
  try {
    if ((await readMagic(file)) === 'mysql-encrypted') return await inspectEncrypted(file);
    const builder = new InfoBuilder(path, file.size);
    const onTransaction = opts.onTransaction;
    const tracker = new TransactionTracker((t) => {
      builder.onTransaction(t);
      onTransaction?.(t);
    });
    const onEvent = opts.onEvent;
    for await (const batch of walkEvents(file, opts)) {
      for (const ev of batch) {
        builder.onEvent(ev);
        tracker.onEvent(ev);
        onEvent?.(ev);
      }
    }
    tracker.finish();
    return builder.build();
  } finally {
    await file.close();
  }
}

/**
 * Streams the transactions of a plain binlog in file order (see BinlogTransaction); for planning stop positions
 * by time or GTID without holding the file's transactions in memory. A MySQL-encrypted binlog is refused
 * (EBADINPUT): its events are ciphertext.
 */
export async function* readBinlogTransactions(path: string, opts: ReadOptions = {}): AsyncGenerator<BinlogTransaction> {
  const file = await openFile(path, opts.chunkSize ?? DEFAULT_CHUNK_SIZE);
  try {
    if ((await readMagic(file)) === 'mysql-encrypted') {
      throw new ArchiverError('EBADINPUT', `${path} is a MySQL-encrypted binlog: its transactions cannot be read without decrypting it`, {
        hint: 'Plan restores of encrypted binlogs by file and position, or decrypt a copy with the keyring key named in its header.',
        context: { path },
      });
    }
    const pending: BinlogTransaction[] = [];
    const tracker = new TransactionTracker((t) => pending.push(t));
    for await (const batch of walkEvents(file, opts)) {
      for (const ev of batch) tracker.onEvent(ev);
      yield* pending.splice(0);
    }
    tracker.finish();
    yield* pending.splice(0);
  } finally {
    await file.close();
  }
}
