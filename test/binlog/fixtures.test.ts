/**
 * Every real fixture, read by our reader, agrees with expected.json (written by an independent parser).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { ArchiverError } from '../../src/errors.ts';
import { MysqlGtidSet, inspectBinlog } from '../../src/binlog/index.ts';
import type { BinlogEvent, PlainBinlogInfo } from '../../src/binlog/index.ts';
import { EXPECTED, expectedFor, fixture, withTempDir } from './helpers.ts';
import type { Expected } from './helpers.ts';

const ANONYMOUS = '00000000-0000-0000-0000-000000000000:0';
/** Rows that are not plain binlogs readable as they are; tested one by one below. */
const SPECIAL = new Set([
  'encrypted/lightning/binlog.encrypted',
  'encrypted/lightning/keyring',
  'other-versions/osheroff/mysql-bin.sakila.gz',
  'other-versions/canal/parse_tsdb_mysql-bin.000001',
]);

function algOf(expected: string | null): string {
  if (expected === 'CRC32') return 'crc32';
  if (expected === 'OFF') return 'none';
  if (expected?.startsWith('UNDEF') === true) return 'undef';
  throw new Error(`unmapped checksum_alg ${expected}`);
}

function countsOf(e: Expected): Record<number, number> {
  const out: Record<number, number> = {};
  for (const [k, v] of Object.entries(e.event_counts ?? {})) out[Number(k.split(' ')[0])] = v;
  return out;
}

async function inspectPlain(path: string, onEvent?: (e: BinlogEvent) => void): Promise<PlainBinlogInfo> {
  const info = await inspectBinlog(path, onEvent === undefined ? {} : { onEvent });
  assert.equal(info.magic, 'plain');
  return info;
}

/** Compares one info with its expected.json row. */
function assertAgrees(info: PlainBinlogInfo, e: Expected): void {
  assert.equal(info.serverVersion, e.server_version);
  assert.equal(info.binlogVersion, e.binlog_version);
  assert.equal(info.checksumAlg, algOf(e.checksum_alg));
  assert.equal(info.inUse, e.in_use_flag);
  assert.equal(info.serverId, e.server_id);
  assert.equal(info.eventCount, e.n_events);
  assert.deepEqual(info.eventCounts, countsOf(e));
  assert.equal(info.endPosition, info.size, 'every byte belongs to an event');

  // CRC: expected.json counts only files with CRC32; with 'OFF' the FDE alone still has a (valid) CRC.
  if (info.checksumAlg === 'crc32') {
    assert.deepEqual({ ok: info.crc.ok, bad: info.crc.bad, skipped: info.crc.skipped }, { ok: e.crc32.ok, bad: e.crc32.bad, skipped: 0 });
  } else if (info.checksumAlg === 'none') {
    assert.deepEqual(e.crc32, {});
    assert.deepEqual({ ok: info.crc.ok, bad: info.crc.bad, skipped: info.crc.skipped }, { ok: 1, bad: 0, skipped: info.eventCount - 1 });
  } else {
    assert.deepEqual(e.crc32, {});
    assert.deepEqual({ ok: info.crc.ok, bad: info.crc.bad, skipped: info.crc.skipped }, { ok: 0, bad: 0, skipped: info.eventCount });
  }

  // Previous_gtids: "(empty)" = event present with no GTIDs; "" = no such event (pre-5.7 servers, MariaDB).
  if (info.flavor === 'mariadb') {
    assert.equal(e.previous_gtids, '');
    assert.equal(info.previousGtids?.set.flavor, 'mariadb', 'MariaDB reports its Gtid_list event');
  } else if (e.previous_gtids === '') {
    assert.equal(info.previousGtids, null);
  } else if (e.previous_gtids === '(empty)') {
    assert.equal(info.previousGtids?.text, '');
    assert.equal(info.previousGtids?.set.isEmpty(), true);
  } else {
    const set = info.previousGtids?.set;
    assert.ok(set instanceof MysqlGtidSet);
    assert.ok(set.equals(MysqlGtidSet.parse(e.previous_gtids)), `${set.format()} vs ${e.previous_gtids}`);
  }

  // GTID events: expected.json counts 33/34/42 together and prints anonymous ones as the all-zero UUID.
  const mysqlGtidEvents = (info.eventCounts[33] ?? 0) + (info.eventCounts[42] ?? 0);
  if (info.flavor === 'mysql') {
    assert.equal(info.gtidEventCount, mysqlGtidEvents);
    assert.equal(info.anonymousGtidCount, info.eventCounts[34] ?? 0);
    assert.equal(info.gtidEventCount + info.anonymousGtidCount, e.gtid_events ?? 0);
  }
  if (e.gtid_first === ANONYMOUS) {
    assert.equal(info.firstGtid, null);
    assert.equal(info.lastGtid, null);
    assert.ok(info.anonymousGtidCount > 0);
    assert.equal(e.gtid_last, ANONYMOUS);
  } else if (e.gtid_first === '' && info.flavor === 'mysql') {
    assert.equal(info.firstGtid, null);
    assert.equal(info.lastGtid, null);
    // (expected.json does not decode MariaDB GTIDs: the MariaDB test checks them.)
  } else if (e.gtid_first !== '' && !e.gtid_first.startsWith('{')) {
    assert.equal(info.firstGtid, e.gtid_first);
    assert.equal(info.lastGtid, e.gtid_last);
  }
  // Every GTID event is one transaction here (no fixture splits one across files).
  assert.equal(info.transactionCount, info.gtidEventCount + info.anonymousGtidCount);
}

describe('real fixtures agree with expected.json', () => {
  for (const e of EXPECTED) {
    if (SPECIAL.has(e.path)) continue;
    test(e.path, async () => {
      const path = fixture(e.path);
      const bytes = await readFile(path);
      assert.equal(createHash('sha256').update(bytes).digest('hex'), e.sha256, 'fixture copied intact');
      assert.equal(e.magic, 'fe62696e');
      const info = await inspectPlain(path);
      assert.equal(info.size, e.size);
      assertAgrees(info, e);
    });
  }
});

describe('fixture specifics', () => {
  test('MySQL-encrypted binlog: header read, key id reported, body left alone', async () => {
    const info = await inspectBinlog(fixture('encrypted/lightning/binlog.encrypted'));
    assert.equal(info.magic, 'mysql-encrypted');
    if (info.magic !== 'mysql-encrypted') return;
    assert.equal(info.size, 1168);
    assert.equal(info.encryption.version, 1);
    assert.equal(info.encryption.keyId, 'MySQLReplicationKey_cfe557b7-766c-11eb-afbf-3cfdfed34198_2');
    assert.equal(info.encryption.serverUuid, 'cfe557b7-766c-11eb-afbf-3cfdfed34198');
    assert.equal(info.encryption.keySeqno, 2);
    // The ciphertext after the header is exactly as long as the plain binlog it encrypts.
    assert.equal(info.encryption.encryptedBodySize, expectedFor('encrypted/lightning/binlog.decrypted').size);
  });

  test('the decrypted twin is the same server (uuid in Previous_gtids matches the key id)', async () => {
    const info = await inspectPlain(fixture('encrypted/lightning/binlog.decrypted'));
    assert.equal(info.rotate?.nextFile, 'mysql-bin.000222');
    assert.equal(info.rotate?.position, 4);
    assert.ok(info.closed);
    assert.ok(info.gtidsAdded.flavor === 'mysql' && info.gtidsAdded.equals(MysqlGtidSet.parse('cfe557b7-766c-11eb-afbf-3cfdfed34198:100-101')));
  });

  test('gzip-compressed binlog is refused with a gunzip hint, and its content agrees once decompressed', async () => {
    const gz = fixture('other-versions/osheroff/mysql-bin.sakila.gz');
    await assert.rejects(inspectBinlog(gz), (err: unknown) => {
      assert.ok(err instanceof ArchiverError);
      assert.equal(err.code, 'ENOTBINLOG');
      assert.match(err.hint ?? '', /gzip/);
      return true;
    });
    await withTempDir(async (dir) => {
      const plain = join(dir, 'mysql-bin.sakila');
      await writeFile(plain, gunzipSync(await readFile(gz)));
      const info = await inspectPlain(plain);
      // MySQL 5.5: FDE without a checksum-algorithm byte.
      assertAgrees(info, expectedFor('other-versions/osheroff/mysql-bin.sakila.gz'));
      assert.equal(info.checksumAlg, 'undef');
      assert.equal(info.closed, false, 'in-use flag set, no Rotate/Stop');
    });
  });

  test('tagged GTIDs (MySQL 9.6): tagged Previous_gtids and the type-42 event decoded', async () => {
    const e = expectedFor('mysql9/rust_mysql_common/binlog_transaction_with_GTID_TAG.000001');
    const lengths: number[] = [];
    const info = await inspectPlain(fixture(e.path), (ev) => {
      if (ev.type === 42) lengths.push(ev.length - 19 - 4);
    });
    assertAgrees(info, e);
    // expected.json did not decode type 42; it recorded its raw body length.
    assert.deepEqual(lengths, [(JSON.parse(e.gtid_first) as { raw_len: number }).raw_len]);
    // MySQL prints one UUID once, untagged intervals first: not the comma form expected.json uses.
    assert.equal(info.previousGtids?.text, '55778904-0299-11f1-b1b8-4ef0c4956feb:1-13:mytag:1-2');
    // Decoded by hand from the event bytes: gno zig-zag 0x0c = 3, tag "mytag"; it follows Previous_gtids' mytag:1-2.
    assert.equal(info.firstGtid, '55778904-0299-11f1-b1b8-4ef0c4956feb:mytag:3');
    assert.equal(info.lastGtid, info.firstGtid);
    assert.equal(info.gtidsAdded.format(), '55778904-0299-11f1-b1b8-4ef0c4956feb:mytag:3');
    assert.equal(info.lastCommitTimestampUs, 1770368687207196);
  });

  test('MariaDB: GTID events, Gtid_list and GTIDs added', async () => {
    const e = expectedFor('mariadb/rust_mysql_common/mariadb-bin.000001');
    const info = await inspectPlain(fixture(e.path));
    assertAgrees(info, e);
    assert.equal(info.flavor, 'mariadb');
    assert.equal(info.gtidEventCount, 2);
    assert.equal(info.firstGtid, '0-1-1');
    assert.equal(info.lastGtid, '0-1-2');
    assert.equal(info.previousGtids?.text, '');
    assert.equal(info.gtidsAdded.flavor, 'mariadb');
    assert.equal(info.gtidsAdded.format(), '0-1-2');
    assert.equal(info.closed, false);
  });

  test('compressed transactions: payload count, zstd, uncompressed size from the TLV header', async () => {
    const a = await inspectPlain(fixture('compressed/osheroff/mysql-bin.compressed'));
    assert.deepEqual(a.transactionPayload, { count: 1, compressionTypes: ['zstd'], uncompressedBytes: 960 });
    const b = await inspectPlain(fixture('compressed/apecloud/mysql-bin.000057'));
    assert.equal(b.transactionPayload.count, 2);
    assert.deepEqual(b.transactionPayload.compressionTypes, ['zstd']);
    // Ends right after a payload event with the in-use flag clear: readable, but not known to be finished.
    assert.equal(b.closed, false);
    assert.equal(b.inUse, false);
  });

  test('relay log: flagged, second FDE ignored for identity, ends in a Rotate to the next relay file', async () => {
    const info = await inspectPlain(fixture('relaylog/kingbus/5.7/flikedev1-c8pyy-relay-bin.000284'));
    assert.equal(info.relayLog, true);
    assert.equal(info.serverId, 3415, 'the replica, not the source (3150)');
    assert.equal(info.rotate?.nextFile, 'flikedev1-c8pyy-relay-bin.000285');
    assert.ok(info.closed);
  });

  test('first commit timestamp of the 8.0.27 fixture matches the value decoded in the format notes', async () => {
    const info = await inspectPlain(fixture('mysql80/lightning/binlog.000002'));
    assert.equal(info.firstCommitTimestampUs, 1640612573883851);
    assert.equal(info.endsWithStop, true);
    assert.equal(info.firstEventTime, '2021-12-27T13:42:53.000Z');
    assert.equal(info.firstEventTimeMs, Date.parse('2021-12-27T13:42:53.000Z'));
  });
});
