/**
 * The reader's entry points: inspect a binlog file into a BinlogInfo, or stream its transactions for restore
 * planning. Both read the file once, sequentially, in constant memory, through the push-mode Inspector
 * (inspector.ts) — the same code that inspects bytes streamed to it by createBinlogInspector.
 */
import { ArchiverError } from '../errors.ts';
import type { BinlogInfo } from './binlog-info.ts';
import { ChunkedFile, DEFAULT_CHUNK_SIZE } from './chunked-file.ts';
import { BINLOG_MAGIC as PLAIN_MAGIC, EventType, LOG_EVENT_BINLOG_IN_USE_F, LOG_EVENT_RELAY_LOG_F, MAGIC_SIZE } from './constants.ts';
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

function openFile(path: string, chunkSize: number): Promise<ChunkedFile> {
  return ChunkedFile.open(path, chunkSize);
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

/** What the first Format_description event's header and post-header say, read without reading further. */
export interface FdeHead {
  /** LOG_EVENT_BINLOG_IN_USE_F: the server has (or had, when it stopped or the file was copied) the file open. */
  readonly inUse: boolean;
  /** Written by a replica's I/O thread (LOG_EVENT_RELAY_LOG_F). */
  readonly relayLog: boolean;
  /** `created` is non-zero only in the first binlog a server opens after it starts (0 after a rotation). */
  readonly openedAtStartup: boolean;
}

/** Magic, header, binlog_version (2), server_version (50), created (4). */
const FDE_HEAD_BYTES = MAGIC_SIZE + 19 + 2 + 50 + 4;

/** The FDE head of a plain binlog, or null for a file too short to have one or not plain (encrypted, not a binlog). */
export async function readFdeHead(path: string): Promise<FdeHead | null> {
  const file = await openFile(path, 128);
  try {
    const head = await file.head(FDE_HEAD_BYTES);
    if (head.length < FDE_HEAD_BYTES || !head.subarray(0, MAGIC_SIZE).equals(PLAIN_MAGIC) || head[MAGIC_SIZE + 4] !== EventType.FORMAT_DESCRIPTION) return null;
    const flags = head.readUInt16LE(MAGIC_SIZE + 17);
    return {
      inUse: (flags & LOG_EVENT_BINLOG_IN_USE_F) !== 0,
      relayLog: (flags & LOG_EVENT_RELAY_LOG_F) !== 0,
      openedAtStartup: head.readUInt32LE(FDE_HEAD_BYTES - 4) !== 0,
    };
  } finally {
    await file.close();
  }
}
