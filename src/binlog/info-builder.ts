/**
 * Folds the event stream of a plain binlog into a PlainBinlogInfo. Holds only counters and the few values the
 * summary needs, so memory does not grow with the file.
 */
import type { MariadbEncryption, PlainBinlogInfo } from './binlog-info.ts';
import { EventType, LOG_EVENT_BINLOG_IN_USE_F, LOG_EVENT_RELAY_LOG_F } from './constants.ts';
import { CRC_OK, CRC_SKIPPED } from './event-walker.ts';
import type { CrcVerdict } from './event-walker.ts';
import type { EventDetail, FormatDescription } from './event-types.ts';
import { MariadbGtidList, MysqlGtidSet, addGtidTo, emptyGtidSet, formatGtid } from './gtid.ts';
import type { Gtid, GtidSet } from './gtid.ts';
import type { MariadbGtid } from './mariadb-gtid-list.ts';
import type { MysqlGtid } from './mysql-gtid-set.ts';

const MAX_BAD_POSITIONS = 100;

function compressionName(type: number): string {
  if (type === 0) return 'zstd';
  if (type === 255) return 'none';
  return `unknown(${type})`;
}

function iso(seconds: number | null): string | null {
  return seconds === null ? null : new Date(seconds * 1000).toISOString();
}

export class InfoBuilder {
  readonly #path: string;
  #fde: FormatDescription | null = null;
  #fdeFlags = 0;
  #serverId = 0;
  #eventCount = 0;
  /** Events per type code + 1 (ENCRYPTED_EVENT_TYPE is -1); a typed array because this is counted per event. */
  readonly #counts = new Float64Array(257);
  readonly #crc = { ok: 0, bad: 0, skipped: 0, badPositions: [] as number[] };
  /** The last event's position, length and type (-2 before any event). */
  #lastPosition = 0;
  #lastLength = 0;
  #lastType = -2;
  #firstTime: number | null = null;
  #lastTime: number | null = null;
  #previous: GtidSet | null = null;
  #added: GtidSet | null = null;
  #firstGtid: Gtid | null = null;
  /** The last GTID, as its event's detail holds it (one of the two). */
  #lastMysql: MysqlGtid | null = null;
  #lastMariadb: MariadbGtid | null = null;
  #gtidEvents = 0;
  #anonymous = 0;
  #transactions = 0;
  #firstCommitUs: number | null = null;
  #lastCommitUs: number | null = null;
  #payloads = 0;
  readonly #compression = new Set<string>();
  #uncompressed = 0;
  #rotate: { nextFile: string; position: number } | null = null;
  #encryption: MariadbEncryption | null = null;

  constructor(path: string) {
    this.#path = path;
  }

  /** One event (EventSink's arguments): counted; its detail, if any, folded in. */
  event(position: number, type: number, length: number, timestamp: number, serverId: number, flags: number, crc: CrcVerdict, d: EventDetail | null): void {
    this.#eventCount++;
    const t = type + 1;
    this.#counts[t] = (this.#counts[t] as number) + 1;
    if (crc === CRC_OK) this.#crc.ok++;
    else if (crc === CRC_SKIPPED) this.#crc.skipped++;
    else {
      this.#crc.bad++;
      if (this.#crc.badPositions.length < MAX_BAD_POSITIONS) this.#crc.badPositions.push(position);
    }
    if (timestamp !== 0) {
      this.#firstTime ??= timestamp;
      this.#lastTime = timestamp;
    }
    this.#lastPosition = position;
    this.#lastLength = length;
    this.#lastType = type;
    if (d === null) return;
    this.#detail(position, serverId, flags, d);
  }

  #detail(position: number, serverId: number, flags: number, d: EventDetail): void {
    switch (d.kind) {
      case 'fde':
        // Relay logs carry a second FDE copied from the source; the file's own is the first.
        if (this.#fde === null) {
          this.#fde = d;
          this.#fdeFlags = flags;
          this.#serverId = serverId;
          this.#added = emptyGtidSet(d.flavor);
        }
        break;
      case 'previous-gtids':
        this.#previous ??= d.set;
        break;
      case 'mariadb-gtid-list':
        this.#previous ??= d.list;
        break;
      // Once per transaction: the detail's GTID object is kept as it is, not copied (docs/PERFORMANCE.md 4e).
      case 'gtid':
        if (d.gtid === null) {
          this.#anonymous++;
        } else {
          this.#gtidEvents++;
          this.#lastMysql = d.gtid;
          this.#lastMariadb = null;
          this.#firstGtid ??= { flavor: 'mysql', ...d.gtid };
          if (this.#added?.flavor === 'mysql') this.#added.addGtid(d.gtid.uuid, d.gtid.gno, d.gtid.tag);
        }
        break;
      case 'mariadb-gtid':
        this.#gtidEvents++;
        this.#lastMariadb = d.gtid;
        this.#lastMysql = null;
        this.#firstGtid ??= { flavor: 'mariadb', ...d.gtid };
        if (this.#added?.flavor === 'mariadb') this.#added.add(d.gtid);
        else if (this.#added !== null) addGtidTo(this.#added, { flavor: 'mariadb', ...d.gtid });
        break;
      case 'payload':
        this.#payloads++;
        this.#compression.add(compressionName(d.compressionType));
        this.#uncompressed += d.uncompressedSize ?? d.payloadSize ?? 0;
        break;
      case 'rotate':
        this.#rotate = { nextFile: d.nextFile, position: d.position };
        break;
      case 'mariadb-start-encryption':
        this.#encryption = { kind: 'mariadb', startPosition: position, scheme: d.scheme, keyVersion: d.keyVersion };
        break;
      case 'mariadb-checkpoint':
        break;
    }
  }

  /** A transaction ended (TransactionTracker); its commit time when the binlog records one. */
  transactionEnded(commitTimestampUs: number | null): void {
    this.#transactions++;
    if (commitTimestampUs !== null) {
      this.#firstCommitUs ??= commitTimestampUs;
      this.#lastCommitUs = commitTimestampUs;
    }
  }

  #lastGtidText(): string | null {
    if (this.#lastMysql !== null) return formatGtid({ flavor: 'mysql', ...this.#lastMysql });
    return this.#lastMariadb === null ? null : formatGtid({ flavor: 'mariadb', ...this.#lastMariadb });
  }

  #eventCounts(): Record<number, number> {
    const out: Record<number, number> = {};
    this.#counts.forEach((n, i) => {
      if (n > 0) out[i - 1] = n;
    });
    return out;
  }

  /** The summary of a walk over `size` bytes. */
  build(size: number): PlainBinlogInfo {
    const fde = this.#fde;
    const lastType = this.#lastType;
    if (fde === null || lastType === -2) throw new Error('InfoBuilder.build() before any Format_description_event');
    const inUse = (this.#fdeFlags & LOG_EVENT_BINLOG_IN_USE_F) !== 0;
    const endsWithRotate = lastType === EventType.ROTATE;
    const endsWithStop = lastType === EventType.STOP;
    const previous = this.#previous;
    return {
      path: this.#path,
      size,
      magic: 'plain',
      flavor: fde.flavor,
      serverVersion: fde.serverVersion,
      binlogVersion: fde.binlogVersion,
      serverId: this.#serverId,
      checksumAlg: fde.checksumAlg,
      inUse,
      relayLog: (this.#fdeFlags & LOG_EVENT_RELAY_LOG_F) !== 0,
      closed: (endsWithRotate || endsWithStop) && !inUse,
      endsWithRotate,
      endsWithStop,
      eventCount: this.#eventCount,
      eventCounts: this.#eventCounts(),
      crc: { ...this.#crc, badPositions: [...this.#crc.badPositions] },
      firstEventPosition: 4,
      lastEventPosition: this.#lastPosition,
      endPosition: this.#lastPosition + this.#lastLength,
      lastEventType: lastType,
      firstEventTime: iso(this.#firstTime),
      firstEventTimeMs: this.#firstTime === null ? null : this.#firstTime * 1000,
      lastEventTime: iso(this.#lastTime),
      lastEventTimeMs: this.#lastTime === null ? null : this.#lastTime * 1000,
      previousGtids: previous === null ? null : { text: previous.format(), set: previous },
      gtidsAdded: this.#added ?? (fde.flavor === 'mysql' ? MysqlGtidSet.empty() : MariadbGtidList.empty()),
      firstGtid: this.#firstGtid === null ? null : formatGtid(this.#firstGtid),
      lastGtid: this.#lastGtidText(),
      gtidEventCount: this.#gtidEvents,
      anonymousGtidCount: this.#anonymous,
      transactionCount: this.#transactions,
      firstCommitTimestampUs: this.#firstCommitUs,
      lastCommitTimestampUs: this.#lastCommitUs,
      transactionPayload: { count: this.#payloads, compressionTypes: [...this.#compression].sort(), uncompressedBytes: this.#uncompressed },
      rotate: this.#rotate,
      encryption: this.#encryption,
    };
  }
}
