/**
 * The run CRC of crc.ts (one native CRC32 over many whole events, compared with a value computed from their lengths)
 * against zlib over the concatenation, and the walker's report of damage inside a run: the first bad event is
 * named, as when every event was checked alone.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { createBinlogInspector } from '../../src/binlog/index.ts';
import { CRC32_RESIDUE, crcAppendIntact } from '../../src/binlog/crc.ts';
import { fixture } from './helpers.ts';

function intactEvent(n: number): Buffer {
  const b = randomBytes(n);
  b.writeUInt32LE(crc32(b.subarray(0, n - 4)), n - 4);
  return b;
}

describe('run CRC32', { timeout: 60_000 }, () => {
  test('any intact event has the residue as its CRC32', () => {
    for (const n of [23, 100, 4096]) assert.equal(crc32(intactEvent(n)) | 0, CRC32_RESIDUE);
  });

  test('the CRC32 of consecutive intact events follows from their lengths (tabled and long lengths)', () => {
    for (let t = 0; t < 300; t++) {
      const lengths = Array.from({ length: 1 + (t % 13) }, (_, i) => (t % 10 === 0 && i === 1 ? 70_000 + t : 23 + ((t * 7919 + i * 104_729) % 3000)));
      const events = lengths.map(intactEvent);
      let c = CRC32_RESIDUE;
      for (const e of events.slice(1)) c = crcAppendIntact(c, e.length);
      assert.equal(c, crc32(Buffer.concat(events)) | 0, `lengths ${lengths.join(',')}`);
    }
  });

  test('two damaged events in one chunk: the first is reported, with its position', () => {
    const bytes = Buffer.from(readFileSync(fixture('mysql80/lightning/binlog.000002')));
    // Event starts, from the headers.
    const starts: number[] = [];
    for (let i = 4; i + 19 <= bytes.length; i += bytes.readUInt32LE(i + 9)) starts.push(i);
    const a = starts[40]!;
    const b = starts[60]!;
    bytes[a + 25] = (bytes[a + 25] as number) ^ 1;
    bytes[b + 25] = (bytes[b + 25] as number) ^ 1;
    const ins = createBinlogInspector({ path: 'two-bad' });
    assert.throws(() => ins.write(bytes), (err: Error & { code?: string }) => err.code === 'EBINLOGCHECKSUM' && err.message.includes(`offset ${a}`));
    const counted = createBinlogInspector({ path: 'two-bad', checksumFailure: 'count' });
    counted.write(bytes);
    const info = counted.finish();
    assert.ok(info.magic === 'plain');
    assert.deepEqual(info.crc.badPositions, [a, b]);
  });
});
