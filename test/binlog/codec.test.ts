/**
 * Integer encodings inside event bodies, checked against byte sequences taken from the fixtures and the format
 * notes rather than against our own encoder.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readLenenc, readUInt56LE, readVarlenInt, readVarlenUint, versionSplit } from '../../src/binlog/codec.ts';
import { parsePayloadHeader, parsePreviousGtids } from '../../src/binlog/mysql-events.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('codec', () => {
  test('serialization-library varlen integers (bytes from the 9.6.0 tagged GTID event)', () => {
    assert.deepEqual(readVarlenUint(hex('aa'), 0), { value: 0x55n, next: 1 });
    assert.deepEqual(readVarlenUint(hex('2502'), 0), { value: 0x89n, next: 2 });
    assert.deepEqual(readVarlenUint(hex('a104'), 0), { value: 296n, next: 2 }, 'transaction_length');
    assert.deepEqual(readVarlenUint(hex('430f0b'), 0), { value: 90600n, next: 3 }, 'server version 9.6.0');
    assert.deepEqual(readVarlenUint(hex('7f1cf3b814244a06'), 0), { value: 1770368687207196n, next: 8 }, 'commit timestamp');
    assert.deepEqual(readVarlenUint(hex('ff0102030405060708'), 0), { value: 0x0807060504030201n, next: 9 });
    assert.deepEqual(readVarlenInt(hex('0c'), 0), { value: 3n, next: 1 }, 'gno, zig-zag');
    assert.deepEqual(readVarlenInt(hex('06'), 0), { value: -2n, next: 1 }, 'uint 3: odd, so negative');
    assert.throws(() => readVarlenUint(hex('7f00'), 0), RangeError);
  });

  test('length-encoded integers (Transaction_payload TLV of the osheroff fixture)', () => {
    assert.deepEqual(readLenenc(hex('fa'), 0), { value: 250, next: 1 });
    assert.deepEqual(readLenenc(hex('fcc003'), 0), { value: 960, next: 3 });
    assert.deepEqual(readLenenc(hex('fd010203'), 0), { value: 0x030201, next: 4 });
    assert.deepEqual(readLenenc(hex('fe0100000001000000'), 0), { value: 2 ** 32 + 1, next: 9 });
    assert.deepEqual(parsePayloadHeader(hex('020100 0303fcc003 0103fcc301 00 28b52ffd')), {
      kind: 'payload',
      compressionType: 0,
      uncompressedSize: 960,
      payloadSize: 451,
    });
  });

  test('7-byte commit timestamps (8.0.27 GTID event bytes from the format notes)', () => {
    assert.equal(readUInt56LE(hex('cb2daee120d405'), 0), 1640612573883851);
  });

  test('server version split', () => {
    assert.deepEqual(versionSplit('5.1.34sp1-enterprise-gpl-advanced-log'), [5, 1, 34]);
    assert.deepEqual(versionSplit('10.5.15-MariaDB-1:10.5.15+maria~focal-log'), [10, 5, 15]);
    assert.deepEqual(versionSplit('garbage'), [0, 0, 0]);
  });

  test('Previous_gtids: untagged bytes from the format notes, tagged bytes from the 9.6.0 fixture', () => {
    const untagged = hex('0100000000000000 8375987111411 1edb12d0242ac130003'.replace(/ /g, '') + '0100000000000000' + '0100000000000000' + '0600000000000000');
    assert.equal(parsePreviousGtids(untagged).set.format(), '83759871-1141-11ed-b12d-0242ac130003:1-5');
    const tagged = hex(
      '0102000000000001' + '5577890402 9911f1b1b84ef0c4956feb 00 0100000000000000 0100000000000000 0e00000000000000' +
        '5577890402 9911f1b1b84ef0c4956feb 0a6d79746167 0100000000000000 0100000000000000 0300000000000000',
    );
    const parsed = parsePreviousGtids(tagged);
    assert.equal(parsed.tagged, true);
    assert.equal(parsed.set.format(), '55778904-0299-11f1-b1b8-4ef0c4956feb:1-13:mytag:1-2');
  });
});
