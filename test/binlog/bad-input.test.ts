/**
 * Damaged and foreign input: every case is an ArchiverError with the right code, naming the file and the byte
 * offset. Damage is made by editing copies of real fixtures.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import type { ErrorCode } from '../../src/errors.ts';
import { inspectBinlog } from '../../src/binlog/index.ts';
import type { BinlogEvent, PlainBinlogInfo } from '../../src/binlog/index.ts';
import { buildBinlog, encodeEvent, fdeBody, fixture, withTempDir } from './helpers.ts';

const GTID_FIXTURE = fixture('mysql80/lightning/binlog.000002'); // 8.0.27, CRC32, 107 events, ends with Stop
const NO_CRC_FIXTURE = fixture('other-versions/osheroff/mysql-bin.checksum-none');
const RELAY_FIXTURE = fixture('relaylog/kingbus/5.7/flikedev1-c8pyy-relay-bin.000284');

async function eventsOf(path: string): Promise<BinlogEvent[]> {
  const events: BinlogEvent[] = [];
  await inspectBinlog(path, { onEvent: (e) => events.push(e) });
  return events;
}

/** Asserts `p` rejects with `code`, the path in the message and, if given, the offset in context and message. */
async function rejectsWith(p: Promise<unknown>, code: ErrorCode, path: string, offset?: number, pattern?: RegExp): Promise<ArchiverError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ArchiverError, `expected ArchiverError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(caught.message.includes(path), `message names the file: ${caught.message}`);
  assert.ok((caught.hint ?? '').length > 20, 'says what to do');
  if (offset !== undefined) {
    assert.equal(caught.context.offset, offset);
    assert.ok(caught.message.includes(`offset ${offset}`), caught.message);
  }
  if (pattern !== undefined) assert.match(caught.message, pattern);
  return caught;
}

async function damaged(dir: string, name: string, source: string, edit: (b: Buffer) => Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, edit(Buffer.from(await readFile(source))));
  return path;
}

describe('not a binlog', () => {
  test('text file, empty file, keyring, a directory, a missing file', async () => {
    await withTempDir(async (dir) => {
      const text = join(dir, 'notes.txt');
      await writeFile(text, 'hello, binlog\n');
      await rejectsWith(inspectBinlog(text), 'ENOTBINLOG', text, 0, /starts with 68 65 6c 6c/);
      const empty = join(dir, 'empty');
      await writeFile(empty, '');
      await rejectsWith(inspectBinlog(empty), 'ENOTBINLOG', empty, 0, /it is empty/);
      const keyring = fixture('encrypted/lightning/keyring');
      await rejectsWith(inspectBinlog(keyring), 'ENOTBINLOG', keyring, 0);
      const sub = join(dir, 'binlog.000001');
      await mkdir(sub);
      await rejectsWith(inspectBinlog(sub), 'EBADINPUT', sub);
      const missing = join(dir, 'binlog.000404');
      await rejectsWith(inspectBinlog(missing), 'ENOTFOUND', missing);
    });
  });

  test('a FIFO, a character device and a symlink loop are refused at once, by name (no hang, no "empty")', async () => {
    await withTempDir(async (dir) => {
      const fifo = join(dir, 'binlog.000001');
      execFileSync('mkfifo', [fifo]);
      // Opening a FIFO for reading blocks until a writer comes: this must return (EBADINPUT) by itself.
      await rejectsWith(inspectBinlog(fifo), 'EBADINPUT', fifo, undefined, /is a FIFO \(named pipe\), not a regular file/);
      await rejectsWith(inspectBinlog('/dev/zero'), 'EBADINPUT', '/dev/zero', undefined, /is a character device, not a regular file/);
      const loop = join(dir, 'binlog.000002');
      await symlink(loop, loop);
      await rejectsWith(inspectBinlog(loop), 'EBADINPUT', loop, undefined, /symbolic link loop/);
    });
  });

  test('the corrupt canal file (0xFE turned into U+FFFD) is refused with a text-conversion hint', async () => {
    const path = fixture('other-versions/canal/parse_tsdb_mysql-bin.000001');
    const err = await rejectsWith(inspectBinlog(path), 'ENOTBINLOG', path, 0, /starts with ef bf bd 62/);
    assert.match(err.hint ?? '', /text conversion/);
  });
});

describe('truncated files', () => {
  test('cut inside the magic, after it, inside the FDE header and body', async () => {
    await withTempDir(async (dir) => {
      const cut = (n: number): Promise<string> => damaged(dir, `cut-${n}`, GTID_FIXTURE, (b) => b.subarray(0, n));
      await rejectsWith(inspectBinlog(await cut(2)), 'EBINLOGTRUNCATED', join(dir, 'cut-2'), 0, /magic number/);
      await rejectsWith(inspectBinlog(await cut(4)), 'EBINLOGTRUNCATED', join(dir, 'cut-4'), 4, /Format_description_event/);
      await rejectsWith(inspectBinlog(await cut(10)), 'EBINLOGTRUNCATED', join(dir, 'cut-10'), 4, /only 6 of its 19 bytes/);
      await rejectsWith(inspectBinlog(await cut(60)), 'EBINLOGTRUNCATED', join(dir, 'cut-60'), 4, /FORMAT_DESCRIPTION_EVENT event of 121 bytes/);
    });
  });

  test('cut inside later events reports the offset of the event that runs past the end', async () => {
    const events = await eventsOf(GTID_FIXTURE);
    assert.equal(events.length, 107);
    await withTempDir(async (dir) => {
      for (const i of [1, 2, 50, 105, 106]) {
        const ev = events[i] as BinlogEvent;
        for (const into of [1, 19, ev.length - 1]) {
          const name = `cut-${i}-${into}`;
          const path = await damaged(dir, name, GTID_FIXTURE, (b) => b.subarray(0, ev.position + into));
          await rejectsWith(inspectBinlog(path), 'EBINLOGTRUNCATED', path, ev.position);
        }
      }
    });
  });

  test('a file cut exactly at an event boundary is valid, just not closed', async () => {
    const events = await eventsOf(GTID_FIXTURE);
    const tenth = events[10] as BinlogEvent;
    await withTempDir(async (dir) => {
      const path = await damaged(dir, 'cut-at-boundary', GTID_FIXTURE, (b) => b.subarray(0, tenth.position));
      const info = (await inspectBinlog(path)) as PlainBinlogInfo;
      assert.equal(info.eventCount, 10);
      assert.equal(info.endPosition, tenth.position);
      assert.equal(info.endsWithStop, false);
      assert.equal(info.closed, false);
      assert.equal(info.crc.ok, 10);
    });
  });

  test('an encrypted binlog cut inside its 512-byte header', async () => {
    await withTempDir(async (dir) => {
      const path = await damaged(dir, 'enc-cut', fixture('encrypted/lightning/binlog.encrypted'), (b) => b.subarray(0, 300));
      await rejectsWith(inspectBinlog(path), 'EBINLOGTRUNCATED', path, 0, /512-byte encryption header/);
    });
  });
});

describe('checksums', () => {
  test('a flipped bit in an event body is a CRC error at that event', async () => {
    const events = await eventsOf(GTID_FIXTURE);
    const victim = events[40] as BinlogEvent;
    await withTempDir(async (dir) => {
      const path = await damaged(dir, 'flipped', GTID_FIXTURE, (b) => {
        b[victim.position + 25] = (b[victim.position + 25] as number) ^ 0x10;
        return b;
      });
      await rejectsWith(inspectBinlog(path), 'EBINLOGCHECKSUM', path, victim.position, /CRC32 mismatch .* stored [0-9a-f]{8}, computed [0-9a-f]{8}/);

      const counted = (await inspectBinlog(path, { checksumFailure: 'count' })) as PlainBinlogInfo;
      assert.deepEqual(counted.crc, { ok: 106, bad: 1, skipped: 0, badPositions: [victim.position] });

      const unchecked = (await inspectBinlog(path, { verifyChecksums: false })) as PlainBinlogInfo;
      assert.deepEqual(unchecked.crc, { ok: 0, bad: 0, skipped: 107, badPositions: [] });
    });
  });

  test('a flipped stored CRC is caught too', async () => {
    const events = await eventsOf(GTID_FIXTURE);
    const last = events[106] as BinlogEvent;
    await withTempDir(async (dir) => {
      const path = await damaged(dir, 'crc-byte', GTID_FIXTURE, (b) => {
        b[b.length - 1] = (b[b.length - 1] as number) ^ 0x01;
        return b;
      });
      await rejectsWith(inspectBinlog(path), 'EBINLOGCHECKSUM', path, last.position, /STOP_EVENT/);
    });
  });

  test('the FDE in-use bit is outside its CRC (MySQL clears it in place); other FDE flag bits are not', async () => {
    await withTempDir(async (dir) => {
      const inUse = await damaged(dir, 'in-use', GTID_FIXTURE, (b) => {
        b[21] = (b[21] as number) | 0x01;
        return b;
      });
      const info = (await inspectBinlog(inUse)) as PlainBinlogInfo;
      assert.equal(info.inUse, true);
      assert.equal(info.closed, false, 'ends with Stop, but the in-use flag says the server still had it open');
      assert.equal(info.crc.bad, 0);
      const other = await damaged(dir, 'fde-flag', GTID_FIXTURE, (b) => {
        b[21] = (b[21] as number) | 0x02;
        return b;
      });
      await rejectsWith(inspectBinlog(other), 'EBINLOGCHECKSUM', other, 4, /FORMAT_DESCRIPTION_EVENT/);
    });
  });
});

describe('corrupt events', () => {
  test('a damaged length field is caught by log_pos, with and without checksums', async () => {
    await withTempDir(async (dir) => {
      for (const [name, source] of [['crc', GTID_FIXTURE], ['nocrc', NO_CRC_FIXTURE]] as const) {
        const victim = (await eventsOf(source))[30] as BinlogEvent;
        const path = await damaged(dir, `len-${name}`, source, (b) => {
          b[victim.position + 9] = (b[victim.position + 9] as number) ^ 0x04;
          return b;
        });
        await rejectsWith(inspectBinlog(path), 'EBINLOGCORRUPT', path, victim.position, /log_pos says the next event starts at/);
      }
    });
  });

  test('lengths below the header size, and absurd lengths in relay logs (no log_pos check there)', async () => {
    const events = await eventsOf(RELAY_FIXTURE);
    const victim = events[60] as BinlogEvent;
    await withTempDir(async (dir) => {
      const tiny = await damaged(dir, 'tiny', RELAY_FIXTURE, (b) => {
        b.writeUInt32LE(5, victim.position + 9);
        return b;
      });
      await rejectsWith(inspectBinlog(tiny), 'EBINLOGCORRUPT', tiny, victim.position, /length of 5 bytes, less than the minimum 23/);
      const huge = await damaged(dir, 'huge', RELAY_FIXTURE, (b) => {
        b.writeUInt32LE(0x7fffffff, victim.position + 9);
        return b;
      });
      await rejectsWith(inspectBinlog(huge), 'EBINLOGTRUNCATED', huge, victim.position);
    });
  });

  test('a first event that is not a Format_description_event', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'no-fde');
      await writeFile(path, Buffer.concat([Buffer.from([0xfe, 0x62, 0x69, 0x6e]), encodeEvent({ type: 2, body: Buffer.alloc(30) }, 4, true)]));
      await rejectsWith(inspectBinlog(path), 'EBINLOGCORRUPT', path, 4, /first event is QUERY_EVENT/);
      const v3 = join(dir, 'v3');
      await writeFile(v3, Buffer.concat([Buffer.from([0xfe, 0x62, 0x69, 0x6e]), encodeEvent({ type: 1, body: Buffer.alloc(60) }, 4, false)]));
      await rejectsWith(inspectBinlog(v3), 'EBINLOGCORRUPT', v3, 4, /Start_event_v3/);
    });
  });

  test('an FDE naming an unknown checksum algorithm', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'alg7');
      await writeFile(path, Buffer.concat([Buffer.from([0xfe, 0x62, 0x69, 0x6e]), encodeEvent({ type: 15, body: fdeBody('8.0.36', 7) }, 4, true)]));
      await rejectsWith(inspectBinlog(path), 'EBINLOGCORRUPT', path, 4, /unknown checksum algorithm 7/);
    });
  });

  test('a Previous_gtids body that announces more than it holds (valid CRC)', async () => {
    const body = Buffer.alloc(8 + 16 + 8);
    body.writeBigUInt64LE(1n, 0);
    body.writeBigUInt64LE(1000n, 24); // 1000 intervals, none present
    const bytes = buildBinlog([{ type: 35, body }]);
    await withTempDir(async (dir) => {
      const path = join(dir, 'prev');
      await writeFile(path, bytes);
      await rejectsWith(inspectBinlog(path), 'EBINLOGCORRUPT', path, 4 + 19 + fdeBody().length + 4, /PREVIOUS_GTIDS_LOG_EVENT event body cannot be decoded/);
    });
  });

  test('an encrypted binlog header of an unknown version', async () => {
    await withTempDir(async (dir) => {
      const path = await damaged(dir, 'enc-v2', fixture('encrypted/lightning/binlog.encrypted'), (b) => {
        b[4] = 2;
        return b;
      });
      await rejectsWith(inspectBinlog(path), 'EBINLOGCORRUPT', path, 4, /encryption header version 2/);
    });
  });
});
