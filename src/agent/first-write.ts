/**
 * When was the first transaction written to the active binlog? A freshly opened binlog holds only header events
 * (Format_description, Previous_gtids / Gtid_list, Binlog_checkpoint); the first other event is the first write,
 * and its header timestamp says when. Reading a few event headers from the start of the file answers this even
 * for a binlog that was written before the agent started, which watching its size could not.
 */
import fs from 'node:fs';
import { BINLOG_MAGIC, COMMON_HEADER_LEN, EventType, MAGIC_SIZE, OFFSET_EVENT_LEN, OFFSET_TYPE } from '../binlog/constants.ts';

export type FirstWrite =
  | { kind: 'empty' }
  /** Epoch ms of the first transaction event (its start: a conservative bound for the RPO). */
  | { kind: 'written'; atMs: number }
  /** MySQL- or MariaDB-encrypted events, or bytes that do not parse: the caller falls back to watching the size. */
  | { kind: 'unknown' };

/** Events a server writes into every new binlog (and MariaDB's checkpoint, which it also appends later on its own). */
const HEADER_EVENTS: ReadonlySet<number> = new Set([
  EventType.FORMAT_DESCRIPTION, EventType.PREVIOUS_GTIDS, EventType.MARIA_GTID_LIST, EventType.MARIA_BINLOG_CHECKPOINT,
  EventType.ROTATE, EventType.STOP,
]);
/** Header events come first and are few; a file that has more before a transaction is not one we understand. */
const MAX_HEADER_EVENTS = 16;
const MAX_EVENT_LEN = 1 << 30;

export async function firstWrite(path: string): Promise<FirstWrite> {
  const fh = await fs.promises.open(path, 'r');
  try {
    const header = Buffer.alloc(COMMON_HEADER_LEN);
    const magic = await fh.read(header, 0, MAGIC_SIZE, 0);
    if (magic.bytesRead < MAGIC_SIZE) return { kind: 'empty' };
    if (!header.subarray(0, MAGIC_SIZE).equals(BINLOG_MAGIC)) return { kind: 'unknown' };
    let pos = MAGIC_SIZE;
    for (let i = 0; i < MAX_HEADER_EVENTS; i++) {
      const { bytesRead } = await fh.read(header, 0, COMMON_HEADER_LEN, pos);
      // Nothing more, or a header being written right now: the caller looks again when the size changes.
      if (bytesRead < COMMON_HEADER_LEN) return { kind: 'empty' };
      const type = header.readUInt8(OFFSET_TYPE);
      if (type === EventType.MARIA_START_ENCRYPTION) return { kind: 'unknown' };
      if (!HEADER_EVENTS.has(type)) return { kind: 'written', atMs: header.readUInt32LE(0) * 1000 };
      const len = header.readUInt32LE(OFFSET_EVENT_LEN);
      if (len < COMMON_HEADER_LEN || len > MAX_EVENT_LEN) return { kind: 'unknown' };
      pos += len;
    }
    return { kind: 'unknown' };
  } finally {
    await fh.close();
  }
}
