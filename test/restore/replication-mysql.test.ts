/**
 * The MySQL replication path without a MySQL server (none runs in the test environment): the source is driven by
 * an independent client implementation (mysql2: its caching_sha2_password, its result-set reader, its binlog-dump
 * command) through the setup queries MySQL 8.0.26+/8.4/9.x receiver threads send (rpl_replica.cc), then serves a
 * real MySQL 8.0.26 binlog from a transaction boundary as a MySQL source does (artificial Rotate, detached FDE,
 * the events as written, Heartbeat v2 while idle). The target's statements and refusals are checked as built.
 * What only a MySQL server could show (its receiver accepting this stream, its applier stopping at the UNTIL
 * position) is untested here: docs/PERFORMANCE.md §8.4.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { createConnection, type Connection } from 'mysql2';
import { silentLogger } from '../../src/logger.ts';
import { DumpFramer, heartbeatV2 } from '../../src/restore/replication-events.ts';
import { PacketReader, frame } from '../../src/restore/replication-packets.ts';
import { ReplicationSource } from '../../src/restore/replication-source.ts';
import { gtidModeFits, replicaStatusOf, startStatements, versionAtLeast } from '../../src/restore/replication-target-mysql.ts';
import { crc32Range } from '../../src/binlog/crc.ts';
import { REPO_ROOT } from '../support/testenv.ts';

const FILE = 'binlog-invisible-columns.000001';
const BIN = fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'binlogs', 'mysql80', 'rust_mysql_common', FILE));
const EVENTS: { pos: number; end: number; type: number }[] = [];
for (let pos = 4; pos < BIN.length; pos += BIN.readUInt32LE(pos + 9)) EVENTS.push({ pos, end: pos + BIN.readUInt32LE(pos + 9), type: BIN[pos + 4]! });
const GTIDS = EVENTS.filter((e) => e.type === 33);
// From the second transaction to the start of the fourth: a range that starts past the FDE and Previous_gtids.
const START = GTIDS[1]!.pos;
const STOP = GTIDS[3]!.pos;
const PASSWORD = 'pw-for-this-run';


/**
 * A receiver thread's side after the setup queries, over a raw socket (mysql2's binlog parser cannot read these
 * events): caching_sha2_password handshake, COM_REGISTER_SLAVE (answered with OK), COM_BINLOG_DUMP, then the
 * event packets, each `0x00 + event`.
 */
async function rawDump(port: number, start: number, flags: number, count: number): Promise<{ events: Buffer[]; error: string | null }> {
  const socket = net.connect(port, '127.0.0.1');
  const reader = new PacketReader();
  const queue: Buffer[] = [];
  let wake: (() => void) | null = null;
  let closed = false;
  socket.on('data', (d: Buffer) => { for (const p of reader.push(d)) queue.push(p.payload); wake?.(); });
  socket.on('close', () => { closed = true; wake?.(); });
  const next = async (): Promise<Buffer> => {
    while (queue.length === 0) {
      if (closed) throw new Error('the source closed the connection');
      await new Promise<void>((resolve) => { wake = resolve; });
    }
    return queue.shift()!;
  };
  try {
    const hello = await next();
    const versionEnd = hello.indexOf(0, 1);
    const scramble = Buffer.concat([hello.subarray(versionEnd + 5, versionEnd + 13), hello.subarray(versionEnd + 32, versionEnd + 44)]);
    assert.equal(hello.toString('latin1', hello.length - 22, hello.length - 1), 'caching_sha2_password');
    const sha = (...b: Buffer[]): Buffer => createHash('sha256').update(Buffer.concat(b)).digest();
    const stage1 = sha(Buffer.from(PASSWORD));
    const token = sha(sha(stage1), scramble).map((x, i) => x ^ stage1[i]!);
    const caps = 0x1 | 0x200 | 0x8000 | 0x80000;
    const head = Buffer.alloc(32);
    head.writeUInt32LE(caps, 0);
    head.writeUInt32LE(1 << 24, 4);
    head[8] = 255;
    socket.write(frame(Buffer.concat([head, Buffer.from('blarc_restore\0'), Buffer.from([token.length]), token, Buffer.from('caching_sha2_password\0')]), 1).bytes);
    assert.deepEqual([...(await next())], [0x01, 0x03], 'fast authentication succeeded');
    assert.equal((await next())[0], 0x00, 'then OK');
    socket.write(frame(Buffer.concat([Buffer.from([0x03]), Buffer.from('SET @master_heartbeat_period = 200000000, @source_heartbeat_period = 200000000')]), 0).bytes);
    assert.equal((await next())[0], 0x00, 'SET is answered with OK');
    const register = Buffer.alloc(18);
    register[0] = 0x15;
    register.writeUInt32LE(99, 1);
    socket.write(frame(register, 0).bytes);
    assert.equal((await next())[0], 0x00, 'COM_REGISTER_SLAVE is answered with OK');
    const request = Buffer.alloc(11);
    request[0] = 0x12;
    request.writeUInt32LE(start, 1);
    request.writeUInt16LE(flags, 5);
    request.writeUInt32LE(99, 7);
    socket.write(frame(Buffer.concat([request, Buffer.from(FILE)]), 0).bytes);
    const events: Buffer[] = [];
    while (events.length < count) {
      const p = await next();
      if (p[0] === 0xff) return { events, error: p.toString('utf8', 9) };
      assert.equal(p[0], 0x00);
      events.push(p.subarray(1));
    }
    return { events, error: null };
  } finally {
    socket.destroy();
  }
}

function query(conn: Connection, sql: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => conn.query(sql, (err, rows) => (err ? reject(err) : resolve(rows as Record<string, unknown>[]))));
}

describe('replication source for a MySQL replica (no MySQL server: mysql2 as the client)', () => {
  let source: ReplicationSource;
  let port: number;
  before(async () => {
    source = new ReplicationSource({
      flavor: 'mysql', host: '127.0.0.1', serverId: 1, serverVersion: '8.0.26', gtidMode: 'ON', checksum: true, user: 'blarc_restore', password: PASSWORD,
      expect: { file: FILE, position: START }, logger: silentLogger,
      serve: async (framer) => {
        await framer.beginFile({ name: FILE, start: START, stop: STOP, last: true });
        for (let at = 0; at < BIN.length; at += 97) await framer.push(BIN.subarray(at, at + 97));
        framer.endFile();
      },
    });
    port = await source.listen();
  });
  after(async () => { await source.close(); });

  const connect = (password = PASSWORD): Promise<Connection> => new Promise((resolve, reject) => {
    const conn = createConnection({ host: '127.0.0.1', port, user: 'blarc_restore', password });
    conn.once('connect', () => resolve(conn));
    conn.once('error', reject);
  });

  it('authenticates with caching_sha2_password (fast path), refuses a wrong password, and answers the receiver thread\'s queries', async () => {
    await assert.rejects(connect('wrong'), /Access denied/);
    const conn = await connect();
    try {
      assert.match(String(Object.values((await query(conn, 'SELECT UNIX_TIMESTAMP()'))[0]!)[0]), /^\d{10}$/);
      assert.deepEqual(Object.values((await query(conn, 'SELECT @@GLOBAL.SERVER_ID'))[0]!), ['1']);
      await query(conn, 'SET @master_heartbeat_period = 30000000000, @source_heartbeat_period = 30000000000');
      await query(conn, 'SET @master_binlog_checksum = @@global.binlog_checksum, @source_binlog_checksum = @@global.binlog_checksum');
      assert.deepEqual(Object.values((await query(conn, 'SELECT @source_binlog_checksum'))[0]!), ['CRC32']);
      assert.deepEqual(Object.values((await query(conn, 'SELECT @master_binlog_checksum'))[0]!), ['CRC32'], 'replicas before 8.0.26 ask by the old name');
      assert.deepEqual(Object.values((await query(conn, 'SELECT @@GLOBAL.GTID_MODE'))[0]!), ['ON']);
      assert.match(String(Object.values((await query(conn, 'SELECT @@GLOBAL.SERVER_UUID'))[0]!)[0]), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      await query(conn, "SET @slave_uuid = '3e11fa47-71ca-11e1-9e33-c80aa9429562', @replica_uuid = '3e11fa47-71ca-11e1-9e33-c80aa9429562'");
      await assert.rejects(query(conn, 'SELECT @@GLOBAL.no_such_variable'), (err: { errno?: number }) => err.errno === 1193);
    } finally {
      conn.destroy();
    }
  });

  it('serves the planned range as a MySQL source does: artificial Rotate, detached FDE, the events as written, then Heartbeat v2', async () => {
    const wanted = EVENTS.filter((e) => e.pos >= START && e.pos < STOP);
    const { events, error } = await rawDump(port, START, 0x02, 2 + wanted.length + 1);
    assert.equal(error, null);
    const [rotate, fde, ...rest] = events;
    assert.deepEqual([rotate![4], rotate!.readUInt32LE(13), rotate!.readUInt16LE(17), Number(rotate!.readBigUInt64LE(19)), rotate!.toString('utf8', 27, rotate!.length - 4)],
      [4, 0, 0x20, START, FILE], 'artificial Rotate: log_pos 0, LOG_EVENT_ARTIFICIAL_F, the start position and file');
    assert.equal(fde![4], 15);
    assert.equal(fde!.readUInt32LE(13), 0, 'an FDE sent for a start past it has log_pos 0, so the replica does not move its position');
    assert.equal(fde!.readUInt32LE(19 + 2 + 50), 0, 'and created 0');
    assert.equal(fde!.readUInt32LE(fde!.length - 4), crc32Range(fde!, null, 0, fde!.length - 4));
    const sent = rest.slice(0, wanted.length);
    assert.ok(Buffer.concat(sent).equals(BIN.subarray(START, STOP)), 'the events byte for byte as the server wrote them, nothing at or past the stop');
    const beat = rest[wanted.length]!;
    assert.deepEqual([beat[4], beat.readUInt32LE(13), beat.readUInt16LE(17)], [41, STOP, 0], 'Heartbeat v2 at the position reached');
    const again = await rawDump(port, START, 0x02, 1);
    assert.match(again.error ?? '', /serves one dump/, 'a second dump is refused');
  });

  it('encodes Heartbeat v2 as MySQL does: TLV file name and position, end mark, CRC32', () => {
    const ev = heartbeatV2(7, 'binlog.000042', 300, true);
    assert.deepEqual([ev[4], ev.readUInt32LE(5), ev.readUInt32LE(9), ev.readUInt32LE(13), ev.readUInt16LE(17)], [41, 7, ev.length, 300, 0]);
    const body = ev.subarray(19, ev.length - 4);
    assert.deepEqual([...body.subarray(0, 2)], [1, 13]);
    assert.equal(body.toString('utf8', 2, 15), 'binlog.000042');
    assert.deepEqual([...body.subarray(15)], [2, 3, 0xfc, 300 & 0xff, 300 >> 8, 0]);
    assert.equal(ev.readUInt32LE(ev.length - 4), crc32Range(ev, null, 0, ev.length - 4));
  });

  it('frames the FDE of a binlog its server did not close with the in-use flag cleared', async () => {
    const open = Buffer.from(BIN);
    const fdeEnd = open.readUInt32LE(4 + 9) + 4;
    open[4 + 17] = open[4 + 17]! | 1;
    open.writeUInt32LE(crc32Range(open, null, 4, fdeEnd - 4), fdeEnd - 4);
    const chunks: Buffer[] = [];
    const sink = { destroyed: false, write: (b: Buffer) => { chunks.push(Buffer.from(b)); return true; } };
    const framer = new DumpFramer(sink as never, 1, true, 1);
    await framer.beginFile({ name: FILE, start: 4, stop: null, last: true });
    await framer.push(open);
    await framer.flush();
    const stream = Buffer.concat(chunks);
    const rotateLength = stream.readUIntLE(0, 3);
    const fde = stream.subarray(4 + rotateLength + 4 + 1, 4 + rotateLength + 4 + stream.readUIntLE(4 + rotateLength, 3));
    assert.equal(fde[17]! & 1, 0);
    assert.equal(fde.readUInt32LE(13), BIN.readUInt32LE(4 + 13), 'log_pos kept at a start of 4');
    assert.equal(fde.readUInt32LE(fde.length - 4), crc32Range(fde, null, 0, fde.length - 4));
  });
});

describe('MySQL target statements and refusals (as built)', () => {
  it('configures a channel of its own, position-based, until the planned stop', () => {
    const [change, start] = startStatements({ host: '10.0.0.7', port: 40000, user: 'u', password: 'p', file: 'binlog.000003', position: 157, untilFile: 'binlog.000005', untilPosition: 999, parallelThreads: 4 });
    assert.match(change![0], /^CHANGE REPLICATION SOURCE TO SOURCE_HOST = \?, SOURCE_PORT = \?, .*SOURCE_AUTO_POSITION = 0, SOURCE_SSL = 0.* FOR CHANNEL 'binlog_archiver_restore'$/s);
    assert.deepEqual(change![1], ['10.0.0.7', 40000, 'u', 'p', 'binlog.000003', 157]);
    assert.equal(start![0], "START REPLICA UNTIL SOURCE_LOG_FILE = ?, SOURCE_LOG_POS = ? FOR CHANNEL 'binlog_archiver_restore'");
    assert.deepEqual(start![1], ['binlog.000005', 999]);
  });

  it('applies GTID binlogs only on gtid_mode ON or ON_PERMISSIVE, anonymous ones only on OFF or OFF_PERMISSIVE, mixed ones on the permissive modes', () => {
    const modes = ['OFF', 'OFF_PERMISSIVE', 'ON_PERMISSIVE', 'ON'];
    assert.deepEqual(modes.map((m) => gtidModeFits(m, { gtids: true, anonymous: false })), [false, false, true, true]);
    assert.deepEqual(modes.map((m) => gtidModeFits(m, { gtids: false, anonymous: true })), [true, true, false, false]);
    assert.deepEqual(modes.map((m) => gtidModeFits(m, { gtids: true, anonymous: true })), [false, true, true, false]);
  });

  it('reads versions and SHOW REPLICA STATUS as MySQL 8.0.22+ names them', () => {
    assert.deepEqual(['8.0.25', '8.0.26', '8.4.3', '9.1.0-commercial', '5.7.44-log', 'x'].map((v) => versionAtLeast(v, [8, 0, 26])), [false, true, true, true, false, false]);
    const st = replicaStatusOf({ Relay_Source_Log_File: 'binlog.000005', Exec_Source_Log_Pos: '999', Replica_SQL_Running: 'No', Replica_IO_Running: 'Yes',
      Last_SQL_Errno: '0', Last_SQL_Error: '', Last_IO_Errno: '2003', Last_IO_Error: 'error connecting' });
    assert.deepEqual(st, { file: 'binlog.000005', position: 999, sqlRunning: false, ioRunning: 'Yes', sqlErrno: 0, sqlError: '', ioErrno: 2003, ioError: 'error connecting' });
  });
});
