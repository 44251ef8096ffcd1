/**
 * The binlog dump stream a replication source sends: for each binlog, a fake Rotate naming it and the position
 * replay starts at, its Format_description event, then its events from that position up to the stop point, each
 * as a packet `0x00 + event` with consecutive sequence ids. Events are sent byte-identical (positions and
 * checksums as the server wrote them); only the artificial events (Rotate, Heartbeat) and, when replay starts
 * after the file's first event, the Format_description event (log_pos and `created` zeroed, as a server does
 * on such a dump, so the replica keeps its position and temporary tables) are made here, with their CRC32.
 *
 * The framer copies events into a batch buffer (never keeping a reference to the decoder's chunk, which is
 * reused) and writes it to the socket with backpressure. It records the last GTID sent per domain, which is
 * what the target's executed position must show afterwards.
 */
import type { Socket } from 'node:net';
import { EventType } from '../binlog/index.ts';
import { crc32Range } from '../binlog/crc.ts';
import { ArchiverError } from '../errors.ts';
import { MAX_PAYLOAD, lenencInt } from './replication-packets.ts';

const HEADER = 19;
const ARTIFICIAL_F = 0x20;
const HEARTBEAT = 27;
/** MySQL 8.0.26+: Heartbeat_log_event_v2, sent when the replica's dump request sets USE_HEARTBEAT_EVENT_V2. */
const HEARTBEAT_V2 = 41;
export const USE_HEARTBEAT_EVENT_V2 = 0x02;
/** LOG_EVENT_BINLOG_IN_USE_F: a source clears it in the FDE it sends (the file it reads is not the replica's). */
const IN_USE_F = 0x01;
const BATCH = 256 * 1024;

/** One artificial event: header, body, CRC32 when the stream carries checksums. */
function artificialEvent(type: number, serverId: number, logPos: number, body: Buffer, checksum: boolean, flags = ARTIFICIAL_F): Buffer {
  const size = HEADER + body.length + (checksum ? 4 : 0);
  const ev = Buffer.alloc(size);
  ev.writeUInt32LE(0, 0);
  ev[4] = type;
  ev.writeUInt32LE(serverId, 5);
  ev.writeUInt32LE(size, 9);
  ev.writeUInt32LE(logPos, 13);
  ev.writeUInt16LE(flags, 17);
  body.copy(ev, HEADER);
  if (checksum) ev.writeUInt32LE(crc32Range(ev, null, 0, size - 4), size - 4);
  return ev;
}

export function fakeRotate(serverId: number, file: string, position: number, checksum: boolean): Buffer {
  const body = Buffer.alloc(8 + Buffer.byteLength(file, 'utf8'));
  body.writeBigUInt64LE(BigInt(position), 0);
  body.write(file, 8, 'utf8');
  return artificialEvent(EventType.ROTATE, serverId, 0, body, checksum);
}

export function heartbeat(serverId: number, file: string, position: number, checksum: boolean): Buffer {
  return artificialEvent(HEARTBEAT, serverId, position, Buffer.from(file, 'utf8'), checksum);
}

/** Heartbeat_log_event_v2: TLV fields (lenenc type, lenenc length, value): 1 file name, 2 position (lenenc), 0 end. */
export function heartbeatV2(serverId: number, file: string, position: number, checksum: boolean): Buffer {
  const name = Buffer.from(file, 'utf8');
  const pos = lenencInt(position);
  const body = Buffer.concat([lenencInt(1), lenencInt(name.length), name, lenencInt(2), lenencInt(pos.length), pos, lenencInt(0)]);
  // A MySQL source sends it with flags 0, unlike the artificial Rotate.
  return artificialEvent(HEARTBEAT_V2, serverId, position >>> 0, body, checksum, 0);
}

/** The range of one binlog to send: events at [start, stop) plus its Format_description event. */
export interface FileRange {
  name: string;
  start: number;
  /** null: to the end of the file (its closing Rotate/Stop left out when it is the last file). */
  stop: number | null;
  last: boolean;
}

export class DumpFramer {
  readonly #socket: Socket;
  readonly #serverId: number;
  readonly #checksum: boolean;
  #seq: number;
  #batch = Buffer.allocUnsafe(BATCH);
  #used = 0;
  #range: FileRange | null = null;
  #pending: Buffer | null = null;
  #filePos = 4;
  /** Where the replica stands after the last event sent: file and end position (what a heartbeat reports). */
  file = '';
  position = 4;
  events = 0;

  readonly #heartbeatV2: boolean;

  constructor(socket: Socket, serverId: number, checksum: boolean, firstSeq: number, heartbeatV2 = false) {
    this.#heartbeatV2 = heartbeatV2;
    this.#socket = socket;
    this.#serverId = serverId;
    this.#checksum = checksum;
    this.#seq = firstSeq;
  }

  /** Starts a binlog: the fake Rotate; the file's bytes follow through `push`, from offset 0. */
  async beginFile(range: FileRange): Promise<void> {
    this.#range = range;
    this.#pending = null;
    this.#filePos = 0;
    this.file = range.name;
    this.position = range.start;
    await this.#send(fakeRotate(this.#serverId, range.name, range.start, this.#checksum));
  }

  /** Feeds decoded bytes of the current file, in order. */
  async push(chunk: Uint8Array): Promise<void> {
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#pending !== null) {
      data = Buffer.concat([this.#pending, data]);
      this.#pending = null;
    }
    let at = 0;
    if (this.#filePos === 0) {
      if (data.length < 4) {
        this.#pending = Buffer.from(data);
        return;
      }
      at = 4;
      this.#filePos = 4;
    }
    while (data.length - at >= HEADER) {
      const size = data.readUInt32LE(at + 9);
      if (size < HEADER) throw new ArchiverError('EBINLOGCORRUPT', `${this.file}: event at ${this.#filePos} declares ${size} bytes`);
      if (data.length - at < size) break;
      await this.#event(data.subarray(at, at + size), this.#filePos);
      this.#filePos += size;
      at += size;
    }
    // The tail of an event that continues in the next chunk: copied, because the chunk goes back to the decoder.
    if (at < data.length) this.#pending = Buffer.from(data.subarray(at));
  }

  async #event(ev: Buffer, pos: number): Promise<void> {
    const range = this.#range!;
    const type = ev[4]!;
    if (type === EventType.FORMAT_DESCRIPTION && pos === 4) {
      await this.#send(this.#sentFde(ev, range.start > 4));
      return;
    }
    if (pos < range.start || (range.stop !== null && pos >= range.stop)) return;
    if (range.last && range.stop === null && (type === EventType.ROTATE || type === EventType.STOP)) return;
    await this.#send(ev);
    this.position = pos + ev.length;
    this.events++;
  }

  /**
   * The FDE as a source sends it: the in-use flag cleared (a binlog its server did not close cleanly has it set)
   * and, when replay starts past it (`detached`), log_pos and `created` zeroed; a copy with the CRC recomputed
   * whenever a byte changed.
   */
  #sentFde(ev: Buffer, detached: boolean): Buffer {
    if (!detached && (ev[17]! & IN_USE_F) === 0) return ev;
    const fde = Buffer.from(ev);
    if (detached) {
      fde.writeUInt32LE(0, 13);
      fde.writeUInt32LE(0, HEADER + 2 + 50);
    }
    fde[17] = fde[17]! & ~IN_USE_F;
    if (this.#checksum) fde.writeUInt32LE(crc32Range(fde, null, 0, fde.length - 4), fde.length - 4);
    return fde;
  }

  /** Ends the current file: an event cut short by the end of the bytes is corruption, never sent. */
  endFile(): void {
    if (this.#pending !== null) throw new ArchiverError('EBINLOGCORRUPT', `${this.file} ends inside an event at ${this.#filePos}`);
  }

  /** Queues one event as packets (0x00 + event), writing out full batches. */
  async #send(ev: Buffer): Promise<void> {
    let remaining = ev.length + 1;
    let offset = -1; // -1: the 0x00 status byte comes first
    do {
      const len = Math.min(MAX_PAYLOAD, remaining);
      if (this.#used + 4 + len > this.#batch.length) await this.flush();
      if (4 + len > this.#batch.length) this.#batch = Buffer.allocUnsafe(4 + len);
      this.#batch.writeUIntLE(len, this.#used, 3);
      this.#batch[this.#used + 3] = this.#seq;
      this.#seq = (this.#seq + 1) & 0xff;
      let w = this.#used + 4;
      let n = len;
      if (offset === -1) {
        this.#batch[w++] = 0;
        n--;
        offset = 0;
      }
      ev.copy(this.#batch, w, offset, offset + n);
      offset += n;
      this.#used += 4 + len;
      remaining -= len;
      if (remaining === 0 && len === MAX_PAYLOAD) {
        // An exact multiple of 16 MiB ends with an empty packet.
        remaining = -1;
      }
    } while (remaining > 0);
    if (remaining === -1) await this.#emptyPacket();
  }

  async #emptyPacket(): Promise<void> {
    if (this.#used + 4 > this.#batch.length) await this.flush();
    this.#batch.writeUIntLE(0, this.#used, 3);
    this.#batch[this.#used + 3] = this.#seq;
    this.#seq = (this.#seq + 1) & 0xff;
    this.#used += 4;
  }

  /** Writes the batch; waits for the socket to drain when its buffer is full (backpressure from the replica). */
  async flush(): Promise<void> {
    if (this.#used === 0) return;
    const out = this.#batch.subarray(0, this.#used);
    // The written buffer belongs to the socket until flushed: the next batch gets its own.
    this.#batch = Buffer.allocUnsafe(BATCH);
    this.#used = 0;
    if (this.#socket.destroyed) throw new ArchiverError('EBADINPUT', 'the replica closed the replication connection');
    if (!this.#socket.write(out)) {
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error): void => {
          this.#socket.off('drain', onDrain);
          this.#socket.off('close', onClose);
          if (err === undefined) resolve();
          else reject(err);
        };
        const onDrain = (): void => done();
        const onClose = (): void => done(new ArchiverError('EBADINPUT', 'the replica closed the replication connection'));
        this.#socket.on('drain', onDrain);
        this.#socket.on('close', onClose);
      });
    }
  }

  /** A heartbeat at the current position, sent at once (the stream is idle). */
  async heartbeat(): Promise<void> {
    await this.#send((this.#heartbeatV2 ? heartbeatV2 : heartbeat)(this.#serverId, this.file, this.position, this.#checksum));
    await this.flush();
  }
}
