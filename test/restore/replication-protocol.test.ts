/**
 * The replication source's wire format, read back with the same reader a peer would need: packets of 16 MiB and
 * more split and reassembled, events cut across decoder chunks framed whole and in order, the range filter
 * (FDE always, nothing before the start or from the stop, the last file's closing Rotate left out), a detached
 * FDE with a valid CRC32, and mysql_native_password checked both ways.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { crc32Range } from '../../src/binlog/crc.ts';
import { DumpFramer } from '../../src/restore/replication-events.ts';
import { MAX_PAYLOAD, PacketReader, frame, nativePasswordMatches } from '../../src/restore/replication-packets.ts';
import { REPO_ROOT } from '../support/testenv.ts';

/** A loopback socket pair: what the framer writes to one end, the test reads from the other. */
async function socketPair(): Promise<{ writer: net.Socket; received: () => Promise<Buffer> }> {
  const chunks: Buffer[] = [];
  let ended!: () => void;
  const closed = new Promise<void>((resolve) => { ended = resolve; });
  const server = net.createServer((s) => { s.on('data', (d: Buffer) => chunks.push(d)); s.on('end', () => { ended(); server.close(); }); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const writer = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve) => writer.once('connect', resolve));
  return { writer, received: async () => { writer.end(); await closed; return Buffer.concat(chunks); } };
}

function events(stream: Buffer): Buffer[] {
  const reader = new PacketReader();
  return reader.push(stream).map(({ payload }) => { assert.equal(payload[0], 0, 'every event packet starts with the OK byte'); return payload.subarray(1); });
}

const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'binlogs');

function mariadbFixture(): Buffer {
  return fs.readFileSync(path.join(FIXTURE, 'mariadb', 'rust_mysql_common', 'mariadb-bin.000001'));
}

/** Offsets of the events of a binlog, read from their headers. */
function offsets(bin: Buffer): { pos: number; len: number; type: number }[] {
  const out = [];
  for (let pos = 4; pos < bin.length; pos += bin.readUInt32LE(pos + 9)) out.push({ pos, len: bin.readUInt32LE(pos + 9), type: bin[pos + 4]! });
  return out;
}

describe('replication source wire format', () => {
  it('splits payloads of 16 MiB and more into packets and reassembles them', () => {
    for (const size of [0, 1, MAX_PAYLOAD - 1, MAX_PAYLOAD, MAX_PAYLOAD + 5]) {
      const payload = randomBytes(size);
      const { bytes, seq } = frame(payload, 250);
      assert.equal(seq, (250 + Math.floor(size / MAX_PAYLOAD) + 1) & 0xff, `size ${size}`);
      const reader = new PacketReader();
      // Delivered in uneven pieces, as a socket would.
      const got = [...reader.push(bytes.subarray(0, 3)), ...reader.push(bytes.subarray(3, 70_000)), ...reader.push(bytes.subarray(70_000))];
      assert.equal(got.length, 1);
      assert.ok(got[0]!.payload.equals(payload), `size ${size}`);
    }
  });

  it('frames every event of a real binlog, cut into odd chunks, whole and in order, within the range', async () => {
    const bin = mariadbFixture();
    const all = offsets(bin);
    const start = all.find((e) => e.pos > all[2]!.pos && e.type === 162)?.pos ?? all[3]!.pos;
    const { writer, received } = await socketPair();
    const framer = new DumpFramer(writer, 7, true, 1);
    await framer.beginFile({ name: 'mysql-bin.000009', start, stop: null, last: true });
    for (let at = 0; at < bin.length; at += 997) await framer.push(bin.subarray(at, at + 997));
    framer.endFile();
    await framer.flush();
    const sent = events(await received());
    const expected = all.filter((e) => e.pos === 4 || (e.pos >= start && e.type !== 4 && e.type !== 3));
    assert.equal(sent.length, expected.length + 1, 'fake Rotate, the FDE, the events from the start');
    const rotate = sent[0]!;
    assert.equal(rotate[4], 4);
    assert.equal(rotate.readUInt16LE(17) & 0x20, 0x20, 'the Rotate is artificial');
    assert.equal(Number(rotate.readBigUInt64LE(19)), start);
    assert.equal(rotate.toString('utf8', 27, rotate.length - 4), 'mysql-bin.000009');
    for (const ev of [rotate, sent[1]!]) assert.equal(ev.readUInt32LE(ev.length - 4), crc32Range(ev, null, 0, ev.length - 4), 'CRC32 of a made event');
    assert.equal(sent[1]!.readUInt32LE(13), 0, 'the FDE of a dump that starts later carries log_pos 0');
    for (const [i, e] of expected.slice(1).entries()) assert.ok(sent[i + 2]!.equals(bin.subarray(e.pos, e.pos + e.len)), `event at ${e.pos} is sent byte-identical`);
    assert.equal(framer.position, expected.at(-1)!.pos + expected.at(-1)!.len);
  });

  it('never sends an event at or after the stop position, nor a partial one', async () => {
    const bin = mariadbFixture();
    const all = offsets(bin);
    const stop = all[Math.floor(all.length / 2)]!.pos;
    const { writer, received } = await socketPair();
    const framer = new DumpFramer(writer, 7, true, 1);
    await framer.beginFile({ name: 'b.000001', start: 4, stop, last: true });
    await framer.push(bin.subarray(0, stop + 10));
    assert.throws(() => framer.endFile(), /ends inside an event/);
    await framer.flush();
    const sent = events(await received());
    assert.equal(sent.length, 1 + all.filter((e) => e.pos < stop).length);
    // Byte for byte as written, except the FDE's in-use flag (this fixture was copied from an open binlog), which a
    // source clears, with the CRC32 made again.
    const expected = Buffer.from(bin.subarray(4, stop));
    const fdeLength = expected.readUInt32LE(9);
    assert.equal(expected[17]! & 1, 1, 'the fixture\'s FDE says in use');
    expected[17] = expected[17]! & ~1;
    expected.writeUInt32LE(crc32Range(expected, null, 0, fdeLength - 4), fdeLength - 4);
    assert.equal(createHash('sha256').update(Buffer.concat(sent.slice(1))).digest('hex'), createHash('sha256').update(expected).digest('hex'));
  });

  it('checks mysql_native_password against the scramble', () => {
    const scramble = randomBytes(20);
    const sha1 = (b: Buffer): Buffer => createHash('sha1').update(b).digest();
    const stage1 = sha1(Buffer.from('s3cret'));
    const mix = sha1(Buffer.concat([scramble, sha1(stage1)]));
    const response = Buffer.from(stage1.map((b, i) => b ^ mix[i]!));
    assert.ok(nativePasswordMatches('s3cret', scramble, response));
    assert.ok(!nativePasswordMatches('other', scramble, response));
    assert.ok(!nativePasswordMatches('s3cret', randomBytes(20), response));
    assert.ok(!nativePasswordMatches('s3cret', scramble, response.subarray(1)));
  });
});
