/**
 * Push-mode inspection: feed a binlog's bytes as they stream past (to a compressor, an upload, a hash) and get the
 * same BinlogInfo `inspectBinlog` computes, without reading the file a second time. inspectBinlog itself is this
 * inspector fed from the file.
 */
import { ArchiverError } from '../errors.ts';
import type { BinlogInfo } from './binlog-info.ts';
import { EventWalker } from './event-walker.ts';
import type { BinlogMagic, CrcVerdict, EventSink, WalkOptions } from './event-walker.ts';
import type { BinlogEvent, EventDetail } from './event-types.ts';
import { InfoBuilder } from './info-builder.ts';
import { TransactionTracker } from './transactions.ts';
import type { BinlogTransaction } from './transactions.ts';

export interface InspectorOptions extends WalkOptions {
  /** Names the input in error messages and in BinlogInfo.path (default `<stream>`). */
  path?: string;
  /** Called for every transaction, in file order, as soon as it is known to have ended. */
  onTransaction?: (t: BinlogTransaction) => void;
  /**
   * Called for every event, in file order, once its last byte is written. Builds an object per event: a consumer
   * that needs only positions, types and the decoded details should use `observer`.
   */
  onEvent?: (e: BinlogEvent) => void;
  /** Called for every event before `onEvent`, with no object built per event (see EventObserver). */
  observer?: EventObserver;
}

/**
 * Sees every event as arguments: its position, type code, length and, for the types the reader decodes (FDE,
 * GTID events, Previous_gtids, Gtid_list, Rotate, ...), the detail; null for the rest. A transaction that an event
 * ends is passed to onTransaction before the event is passed here.
 */
export interface EventObserver {
  /** When true, `event` is called only for events with a decoded detail (a few per transaction), not for each. */
  readonly detailsOnly?: boolean;
  event(position: number, type: number, length: number, detail: EventDetail | null): void;
  /**
   * Called by `finish` with the number of events that were outside any transaction and are neither GTID nor
   * file-level events (Rotate, Stop, FDE, Previous_gtids, Incident, Gtid_list, Binlog_checkpoint, Start_encryption).
   */
  end?(eventsOutsideTransactions: number): void;
}

const CRC_NAMES = ['skipped', 'ok', 'bad'] as const;

export interface BinlogInspector {
  /**
   * Parses as much of `chunk` as it can; chunks may be split anywhere and may be reused by the caller once this
   * returns. Throws ArchiverError ENOTBINLOG, EBINLOGCHECKSUM or EBINLOGCORRUPT (naming the path and offset) before
   * it returns if the chunk shows damage (the callbacks may have seen events of that chunk, including the damaged
   * one: the CRC32s of a chunk's events are checked together); after an error every call throws it again.
   */
  write(chunk: Uint8Array): void;
  /**
   * Ends the input and returns what inspectBinlog returns for the same bytes. Throws EBINLOGTRUNCATED if the
   * bytes end inside the magic number, an encryption header or an event (or hold no Format_description_event).
   */
  finish(): BinlogInfo;
  /** Bytes written so far. */
  readonly bytesWritten: number;
  /** 'plain' or 'mysql-encrypted' once the first 4 bytes are in; null before. */
  readonly magic: BinlogMagic | null;
}

export const STREAM_PATH = '<stream>';

/** The one implementation behind createBinlogInspector, inspectStream, inspectBinlog and readBinlogTransactions. */
export class Inspector implements BinlogInspector, EventSink {
  readonly #path: string;
  readonly #walker: EventWalker;
  readonly #builder: InfoBuilder;
  readonly #tracker: TransactionTracker;
  readonly #observer: EventObserver | null;
  /** The observer, when it wants every event (not only those with a detail). */
  readonly #everyEvent: EventObserver | null;
  readonly #onEvent: ((e: BinlogEvent) => void) | null;

  /** `size`: the total when known up front (a file), so a cut event is reported before its bytes are read. */
  constructor(opts: InspectorOptions = {}, size?: number) {
    const path = opts.path ?? STREAM_PATH;
    this.#path = path;
    const builder = new InfoBuilder(path);
    const onTransaction = opts.onTransaction;
    // Without a consumer of transactions, none is built: the builder counts them (docs/PERFORMANCE.md 4e).
    const tracker = new TransactionTracker(onTransaction ?? null, (commitUs) => builder.transactionEnded(commitUs));
    this.#builder = builder;
    this.#tracker = tracker;
    this.#observer = opts.observer ?? null;
    this.#everyEvent = opts.observer?.detailsOnly === true ? null : (opts.observer ?? null);
    this.#onEvent = opts.onEvent ?? null;
    this.#walker = new EventWalker(path, opts, this, size);
  }

  /** EventSink: called by the walker for every event. */
  event(position: number, type: number, length: number, timestamp: number, serverId: number, logPos: number, flags: number, crc: CrcVerdict, detail: EventDetail | null): void {
    this.#builder.event(position, type, length, timestamp, serverId, flags, crc, detail);
    this.#tracker.event(position, type, length, timestamp, detail);
    if (this.#everyEvent !== null) this.#everyEvent.event(position, type, length, detail);
    else if (detail !== null) this.#observer?.event(position, type, length, detail);
    const onEvent = this.#onEvent;
    if (onEvent !== null) onEvent({ position, timestamp, type, serverId, length, logPos, flags, crc: CRC_NAMES[crc], detail });
  }

  get bytesWritten(): number {
    return this.#walker.bytesWritten;
  }

  get magic(): BinlogMagic | null {
    return this.#walker.magic;
  }

  write(chunk: Uint8Array): void {
    this.#walker.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }

  /** See EventWalker.skippable: bytes a file reader need not read. */
  skippable(): number {
    return this.#walker.skippable();
  }

  skip(n: number): void {
    this.#walker.skip(n);
  }

  finish(): BinlogInfo {
    const walker = this.#walker;
    walker.end();
    const size = walker.bytesWritten;
    const encryption = walker.encryptionHeader;
    if (walker.magic === 'mysql-encrypted') {
      if (encryption === null) throw new ArchiverError('EINTERNAL', `${this.#path}: encrypted binlog finished without its header`);
      return { path: this.#path, size, magic: 'mysql-encrypted', flavor: 'mysql', encryption };
    }
    this.#tracker.finish();
    this.#observer?.end?.(this.#tracker.outside);
    return this.#builder.build(size);
  }
}

/**
 * A push-mode inspector: `write` each chunk of a binlog as it is read, then `finish()`. Keeps only the part of an
 * event cut by a chunk boundary (its header and the few bytes that get decoded), so memory stays constant.
 */
export function createBinlogInspector(opts: InspectorOptions = {}): BinlogInspector {
  return new Inspector(opts);
}

/** Inspects a binlog arriving as a stream of chunks (a fs.ReadStream, a fetch body, an array of Buffers). */
export async function inspectStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, opts: InspectorOptions = {}): Promise<BinlogInfo> {
  const inspector = new Inspector(opts);
  for await (const chunk of source) inspector.write(chunk);
  return inspector.finish();
}
