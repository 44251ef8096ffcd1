/**
 * Event shapes no fixture has, built byte by byte from the server's documented layouts.
 */
import assert from 'node:assert/strict';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { inspectBinlog } from '../../src/binlog/index.ts';
import type { BinlogTransaction, PlainBinlogInfo } from '../../src/binlog/index.ts';
import { parseGtid } from '../../src/binlog/mysql-events.ts';
import { buildBinlog, encodeEvent, uuidBytes, withTempDir } from './helpers.ts';

const UUID = '0a0b0c0d-1111-2222-3333-444455556666';

describe('synthetic events', () => {
  test('Gtid event of a replica: original commit timestamp and server version differ from the immediate ones', () => {
    const b = Buffer.alloc(25 + 17 + 14 + 1 + 8);
    b[0] = 1;
    uuidBytes(UUID).copy(b, 1);
    b.writeBigInt64LE(77n, 17);
    b[25] = 2;
    b.writeBigInt64LE(5n, 26);
    b.writeBigInt64LE(6n, 34);
    const immediate = 1_700_000_000_000_002;
    const original = 1_699_999_999_000_001;
    b.writeUIntLE(immediate % 2 ** 48, 42, 6);
    b[48] = Math.floor(immediate / 2 ** 48) | 0x80; // bit 55: an original timestamp follows
    b.writeUIntLE(original % 2 ** 48, 49, 6);
    b[55] = Math.floor(original / 2 ** 48);
    b[56] = 200; // transaction_length, 1-byte length-encoded
    b.writeUInt32LE((80036 | 0x80000000) >>> 0, 57); // bit 31: an original server version follows
    b.writeUInt32LE(80400, 61);
    const d = parseGtid(b, false);
    assert.deepEqual(d, {
      kind: 'gtid',
      gtid: { uuid: UUID, tag: '', gno: 77n },
      flags: 1,
      lastCommitted: 5n,
      sequenceNumber: 6n,
      immediateCommitTimestampUs: immediate,
      originalCommitTimestampUs: original,
      transactionLength: 200,
      immediateServerVersion: 80036,
      originalServerVersion: 80400,
    });
  });

  test('MySQL 5.6 Gtid event (no logical timestamps): GTID only', () => {
    const b = Buffer.alloc(25);
    uuidBytes(UUID).copy(b, 1);
    b.writeBigInt64LE(3n, 17);
    const d = parseGtid(b, false);
    assert.deepEqual([d.gtid?.gno, d.sequenceNumber, d.immediateCommitTimestampUs, d.transactionLength], [3n, null, null, null]);
  });

  test('MariaDB Start_encryption: later events are walked by the clear length in the timestamp slot, CRC unverifiable', async () => {
    const gtidList = Buffer.alloc(4);
    const startEnc = Buffer.concat([Buffer.from([1]), Buffer.from([3, 0, 0, 0]), Buffer.alloc(12, 9)]);
    const head = buildBinlog(
      [
        { type: 163, body: gtidList },
        { type: 164, body: startEnc },
      ],
      { serverVersion: '10.6.12-MariaDB-log' },
    );
    // Two "encrypted" events: 4-byte length in clear, then ciphertext (random-looking bytes).
    const enc = (len: number, fill: number): Buffer => {
      const e = Buffer.alloc(len, fill);
      e.writeUInt32LE(len, 0);
      return e;
    };
    const bytes = Buffer.concat([head, enc(64, 0x5a), enc(200, 0xc3)]);
    await withTempDir(async (dir) => {
      const path = join(dir, 'mariadb-bin.000009');
      await writeFile(path, bytes);
      const info = (await inspectBinlog(path)) as PlainBinlogInfo;
      assert.equal(info.flavor, 'mariadb');
      assert.deepEqual(info.encryption, { kind: 'mariadb', startPosition: head.length - (19 + startEnc.length + 4), scheme: 1, keyVersion: 3 });
      assert.deepEqual(info.eventCounts, { 15: 1, 163: 1, 164: 1, [-1]: 2 });
      assert.deepEqual({ ok: info.crc.ok, skipped: info.crc.skipped }, { ok: 3, skipped: 2 });
      assert.equal(info.endPosition, bytes.length);
    });
  });

  test('past 4 GiB: offsets stay exact and log_pos is compared modulo 2^32 (sparse file, bodies skipped unread)', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'binlog.000100');
      const head = buildBinlog([]);
      const bigLen = 2 ** 32 - 64; // a Write_rows event of almost 4 GiB: its body stays a hole in the sparse file
      const bigHeader = encodeEvent({ type: 30, body: Buffer.alloc(0) }, head.length, false).subarray(0, 19);
      bigHeader.writeUInt32LE(bigLen, 9);
      bigHeader.writeUInt32LE((head.length + bigLen) % 2 ** 32, 13);
      const rotatePos = head.length + bigLen;
      const rotate = encodeEvent({ type: 4, body: Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('binlog.000101')]) }, rotatePos, true);
      assert.ok(rotatePos > 2 ** 32);
      assert.ok(rotate.readUInt32LE(13) < 2 ** 32 && rotate.readUInt32LE(13) === (rotatePos + rotate.length) % 2 ** 32);
      const fh = await open(path, 'w');
      try {
        await fh.write(head, 0, head.length, 0);
        await fh.write(bigHeader, 0, 19, head.length);
        await fh.write(rotate, 0, rotate.length, rotatePos);
      } finally {
        await fh.close();
      }
      const info = (await inspectBinlog(path, { verifyChecksums: false })) as PlainBinlogInfo;
      assert.equal(info.size, rotatePos + rotate.length);
      assert.equal(info.lastEventPosition, rotatePos);
      assert.deepEqual(info.rotate, { nextFile: 'binlog.000101', position: 4 });
      assert.equal(info.closed, true);
    });
  });

  test('transactions of a synthetic file end at Rotate, with JSON-friendly summaries', async () => {
    const q = { type: 2, body: Buffer.alloc(30, 1) };
    const xid = { type: 16, body: Buffer.alloc(8) };
    const gtid = (gno: number): { type: number; body: Buffer } => {
      const b = Buffer.alloc(42);
      uuidBytes(UUID).copy(b, 1);
      b.writeBigInt64LE(BigInt(gno), 17);
      b[25] = 2;
      return { type: 33, body: b }; // 5.7-style: no commit timestamp or transaction length
    };
    const rotate = { type: 4, body: Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('binlog.000010')]) };
    const bytes = buildBinlog([{ type: 35, body: Buffer.alloc(8) }, gtid(1), q, xid, gtid(2), q, xid, rotate]);
    await withTempDir(async (dir) => {
      const path = join(dir, 'binlog.000009');
      await writeFile(path, bytes);
      const txs: BinlogTransaction[] = [];
      const info = (await inspectBinlog(path, { onTransaction: (t) => txs.push(t) })) as PlainBinlogInfo;
      assert.deepEqual(txs.map((t) => [t.gtid, t.eventCount, t.complete, t.declaredLength]), [
        [`${UUID}:1`, 3, true, null],
        [`${UUID}:2`, 3, true, null],
      ]);
      assert.equal(txs[1]?.endPosition, info.lastEventPosition);
      const json = JSON.parse(JSON.stringify(info)) as Record<string, unknown>;
      assert.equal(json.gtidsAdded, `${UUID}:1-2`);
      assert.deepEqual(json.previousGtids, { text: '', set: '' });
      assert.deepEqual(json.rotate, { nextFile: 'binlog.000010', position: 4 });
    });
  });
});
