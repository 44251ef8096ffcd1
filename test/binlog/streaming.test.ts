/**
 * Constant memory: results do not depend on the read window, and an event far larger than the window is
 * checksummed by streaming through it instead of being loaded.
 */
import assert from 'node:assert/strict';
import { truncateSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { inspectBinlog } from '../../src/binlog/index.ts';
import type { BinlogEvent, BinlogTransaction, PlainBinlogInfo } from '../../src/binlog/index.ts';
import { EXPECTED, buildBinlog, fixture, withTempDir, writeBinlogWithHugeEvent } from './helpers.ts';

const PLAIN = EXPECTED.filter((e) => e.magic === 'fe62696e' && !e.path.endsWith('.gz')).map((e) => e.path);

function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

async function snapshot(path: string, chunkSize: number): Promise<string> {
  const events: BinlogEvent[] = [];
  const txs: BinlogTransaction[] = [];
  const info = await inspectBinlog(path, { chunkSize, onEvent: (e) => events.push(e), onTransaction: (t) => txs.push(t) });
  return canonical({ info, events, txs });
}

describe('streaming', () => {
  test('every fixture reads the same through a 64-byte window as through the default 4 MiB one', async () => {
    assert.ok(PLAIN.length >= 35);
    for (const rel of PLAIN) {
      const path = fixture(rel);
      const small = await snapshot(path, 64);
      assert.equal(small, await snapshot(path, 4 * 1024 * 1024), rel);
      assert.ok(small.includes('"crc":"ok"') || rel.includes('canal/parse_mysql') || rel.includes('checksum-none'), rel);
    }
  });

  test('a 48 MiB event is checksummed through a 1 MiB window without being held in memory', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'binlog.000001');
      const big = 48 * 1024 * 1024;
      const uuid = '11111111-2222-3333-4444-555555555555';
      const written = await writeBinlogWithHugeEvent(path, big, uuid);
      const before = process.memoryUsage().arrayBuffers;
      let peak = before;
      const sample = (): void => {
        peak = Math.max(peak, process.memoryUsage().arrayBuffers);
      };
      const txs: BinlogTransaction[] = [];
      const info = (await inspectBinlog(path, {
        chunkSize: 1024 * 1024,
        onEvent: sample,
        onTransaction: (t) => txs.push(t),
      })) as PlainBinlogInfo;
      assert.equal(info.size, written.size);
      assert.deepEqual(info.crc, { ok: 5, bad: 0, skipped: 0, badPositions: [] });
      assert.deepEqual(info.eventCounts, { 4: 1, 15: 1, 16: 1, 30: 1, 33: 1 });
      assert.equal(info.closed, true);
      assert.equal(info.gtidsAdded.format(), `${uuid}:1`);
      assert.equal(txs.length, 1);
      assert.equal(txs[0]?.startPosition, written.trxStart);
      assert.equal(txs[0]?.declaredLength, written.trxLength);
      assert.equal(txs[0]?.complete, true);
      assert.equal(txs[0]?.commitTimestampUs, 1_700_000_000_123_456);
      // Had the reader loaded the event, at least 48 MiB more would be live in ArrayBuffers.
      assert.ok(peak - before < 8 * 1024 * 1024, `ArrayBuffer growth ${peak - before} bytes`);
    });
  });

  test('with verification off, large bodies are skipped unread and nothing is counted as checked', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'binlog.000001');
      await writeBinlogWithHugeEvent(path, 8 * 1024 * 1024, '11111111-2222-3333-4444-555555555555');
      const info = (await inspectBinlog(path, { chunkSize: 256 * 1024, verifyChecksums: false })) as PlainBinlogInfo;
      assert.deepEqual(info.crc, { ok: 0, bad: 0, skipped: 5, badPositions: [] });
      assert.equal(info.transactionCount, 1);
    });
  });
});

describe('a file that changes under the reader', () => {
  test('shrinking after open is reported as truncation at the offset where bytes ran out', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'binlog.000001');
      // 5000 small events (4 + 122 + 5000 × 49 = 245126 bytes): more than one batch (1024), so the reader is
      // mid-file when the first batch arrives.
      await writeFile(path, buildBinlog(Array.from({ length: 5000 }, () => ({ type: 2, body: Buffer.alloc(26, 7) }))));
      let shrunk = false;
      const p = inspectBinlog(path, {
        chunkSize: 1024,
        onEvent: () => {
          if (!shrunk) {
            shrunk = true;
            truncateSync(path, 100_000);
          }
        },
      });
      await assert.rejects(p, (err: unknown) => {
        assert.ok(err instanceof ArchiverError);
        assert.equal(err.code, 'EBINLOGTRUNCATED');
        assert.match(err.message, /shrank while being read: no bytes at offset 100000 of the 245126 it had when opened/);
        return true;
      });
    });
  });
});
