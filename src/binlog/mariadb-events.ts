/**
 * Body decoders for MariaDB's own events (MariaDB `sql/log_event.h`; checked against the MariaDB 10.5 fixture).
 * Same contract as mysql-events.ts: body without header and CRC, RangeError when short.
 */
import type {
  MariadbCheckpointDetail,
  MariadbGtidDetail,
  MariadbGtidListDetail,
  MariadbStartEncryptionDetail,
} from './event-types.ts';
import { MariadbGtidList } from './mariadb-gtid-list.ts';

const FL_STANDALONE = 1;

function u32(b: Buffer, i: number): number {
  return ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24)) >>> 0;
}

/**
 * GTID (162): seq_no 8, domain_id 4, flags 1, then optional fields; the server id comes from the event header.
 * The body is b[at, end): once per transaction, so without a view of it, and with one BigInt rather than the four
 * readBigUInt64LE makes (docs/PERFORMANCE.md 4e).
 */
export function parseMariadbGtid(b: Buffer, serverId: number, at = 0, end = b.length): MariadbGtidDetail {
  if (end - at < 13) throw new RangeError(`MariaDB GTID body is ${end - at} bytes, needs at least 13`);
  const lo = u32(b, at);
  const hi = u32(b, at + 4);
  const seqNo = hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
  const domainId = u32(b, at + 8);
  const flags = b[at + 12] as number;
  return { kind: 'mariadb-gtid', gtid: { domainId, serverId, seqNo }, flags, standalone: (flags & FL_STANDALONE) !== 0 };
}

/** Gtid_list (163): count in the low 28 bits of a 4-byte field, then (domain 4, server 4, seq 8) per entry. */
export function parseMariadbGtidList(body: Buffer): MariadbGtidListDetail {
  if (body.length < 4) throw new RangeError(`MariaDB Gtid_list body is ${body.length} bytes, needs at least 4`);
  const count = body.readUInt32LE(0) & 0x0fffffff;
  if (body.length < 4 + count * 16) throw new RangeError(`MariaDB Gtid_list announces ${count} entries past its end`);
  const list = MariadbGtidList.empty();
  for (let i = 0; i < count; i++) {
    const off = 4 + i * 16;
    list.add({ domainId: body.readUInt32LE(off), serverId: body.readUInt32LE(off + 4), seqNo: body.readBigUInt64LE(off + 8) });
  }
  return { kind: 'mariadb-gtid-list', list };
}

/** Binlog_checkpoint (161): 4-byte name length, then the name of the oldest binlog crash recovery still needs. */
export function parseMariadbCheckpoint(body: Buffer): MariadbCheckpointDetail {
  if (body.length < 4) throw new RangeError(`MariaDB Binlog_checkpoint body is ${body.length} bytes, needs at least 4`);
  const len = body.readUInt32LE(0);
  if (body.length < 4 + len) throw new RangeError('MariaDB Binlog_checkpoint name runs past the event');
  return { kind: 'mariadb-checkpoint', file: body.toString('utf8', 4, 4 + len) };
}

/** Start_encryption (164): scheme 1, key_version 4, nonce 12. Every later event is encrypted. */
export function parseMariadbStartEncryption(body: Buffer): MariadbStartEncryptionDetail {
  if (body.length < 5) throw new RangeError(`MariaDB Start_encryption body is ${body.length} bytes, needs at least 5`);
  return { kind: 'mariadb-start-encryption', scheme: body[0] as number, keyVersion: body.readUInt32LE(1) };
}
