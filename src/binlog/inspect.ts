/**
 * The reader's entry points: inspect a binlog file into a BinlogInfo, or stream its transactions for restore
 * planning. Both read the file once, sequentially, in constant memory, through the push-mode Inspector
 * (inspector.ts) — the same code that inspects bytes streamed to it by createBinlogInspector.
 */
import { ArchiverError, withContext } from '../errors.ts';
import type { BinlogInfo } from './binlog-info.ts';
import { ChunkedFile, DEFAULT_CHUNK_SIZE } from './chunked-file.ts';
import { MAGIC_SIZE } from './constants.ts';
import { magicOf } from './event-walker.ts';
import type { BinlogMagic, WalkOptions } from './event-walker.ts';
import type { BinlogEvent } from './event-types.ts';
import { Inspector } from './inspector.ts';
import type { BinlogTransaction } from './transactions.ts';

export type { BinlogMagic };

export interface ReadOptions extends WalkOptions {
  /** Bytes read per refill (default 4 MiB; two such buffers are used). Events of any size are streamed. */
  chunkSize?: number;
}

export interface InspectOptions extends ReadOptions {
  /** Called for every transaction, in file order, while the file is read. */
  onTransaction?: (t: BinlogTransaction) => void;
  /** Called for every event, in file order. */
  onEvent?: (e: BinlogEvent) => void;
}

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

/** Tells a plain binlog from a MySQL-encrypted one by its first 4 bytes; ENOTBINLOG for anything else. */
export async function detectBinlogMagic(path: string): Promise<BinlogMagic> {
  const file = await openFile(path, 64);
  try {
    return magicOf(path, await file.head(MAGIC_SIZE), true) as BinlogMagic;
  } finally {
    await file.close();
  }
}

/**
 * Reads a binlog once and summarises it; verifies every event's CRC32 unless told not to. Throws ArchiverError
 * ENOTBINLOG, EBINLOGTRUNCATED, EBINLOGCHECKSUM or EBINLOGCORRUPT naming the file and byte offset. Of a
 * MySQL-encrypted binlog only the 512-byte header is read.
 */
export async function inspectBinlog(path: string, opts: InspectOptions = {}): Promise<BinlogInfo> {
  const file = await openFile(path, opts.chunkSize ?? DEFAULT_CHUNK_SIZE);
  try {
    const inspector = new Inspector({ ...opts, path }, file.size);
    for await (const _ of file.feed(inspector)) {
      // each chunk is parsed as it is fed
    }
    return inspector.finish();
  } finally {
    await file.close();
  }
}

function encryptedRefused(path: string): ArchiverError {
  return new ArchiverError('EBADINPUT', `${path} is a MySQL-encrypted binlog: its transactions cannot be read without decrypting it`, {
    hint: 'Plan restores of encrypted binlogs by file and position, or decrypt a copy with the keyring key named in its header.',
    context: { path },
  });
}

/**
 * Streams the transactions of a plain binlog in file order (see BinlogTransaction); for planning stop positions
 * by time or GTID without holding the file's transactions in memory. A MySQL-encrypted binlog is refused
 * (EBADINPUT): its events are ciphertext.
 */
export async function* readBinlogTransactions(path: string, opts: ReadOptions = {}): AsyncGenerator<BinlogTransaction> {
  const file = await openFile(path, opts.chunkSize ?? DEFAULT_CHUNK_SIZE);
  try {
    const pending: BinlogTransaction[] = [];
    const inspector = new Inspector({ ...opts, path, onTransaction: (t) => pending.push(t) }, file.size);
    for await (const _ of file.feed(inspector)) {
      if (inspector.magic === 'mysql-encrypted') throw encryptedRefused(path);
      yield* pending.splice(0);
    }
    inspector.finish();
    if (inspector.magic === 'mysql-encrypted') throw encryptedRefused(path);
    yield* pending.splice(0);
  } finally {
    await file.close();
  }
}
