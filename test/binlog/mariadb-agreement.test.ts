// test-resources: env-mariadb, cpu
/**
 * Agreement with the real `mariadb-binlog` on binlogs a real MariaDB 10.11 wrote: for every event its position,
 * end, header time, server id, stored CRC32 and kind; per file the GTIDs, Gtid_list, Rotate target, version,
 * in-use flag and event count; per transaction the start and end positions MariaDB's own grouping gives (GTID
 * to Xid / COMMIT / the DDL), and that `mariadb-binlog --start-position/--stop-position` on them prints exactly
 * that transaction. Also: a copy cut inside an event is refused at the offset mariadb-binlog names, and the
 * server's open binlog is reported in use and not closed.
 *
 * The workload (DDL, rows > 64 KiB and > 4 MiB, updates, deletes, multi-statement and non-transactional
 * transactions, a rollback, a second GTID domain, rotation by FLUSH and by size) runs on a MariaDB instance this
 * test launches with the test environment's binlog settings: a second GTID domain cannot be removed from a
 * server's gtid_binlog_state without a discontinuity in its binlogs, and the shared server's tests assume domain
 * 0 only (test/testenv/mariadb.test.ts). The shared server's closed binlogs are compared too, read-only.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { stopProcess } from '../../testenv/proc.ts';
import { allocatePort } from '../../testenv/ports.ts';
import { launchMariadb, type Launched, type MariadbTools } from '../../testenv/servers/mariadb.ts';
import { ensureTools } from '../../testenv/tools.ts';
import { ArchiverError } from '../../src/errors.ts';
import { createBinlogInspector, formatMariadbGtid, inspectBinlog, inspectStream, readBinlogTransactions } from '../../src/binlog/index.ts';
import type { BinlogEvent, BinlogTransaction, PlainBinlogInfo } from '../../src/binlog/index.ts';
import { mysqlClient } from '../support/mysql.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';

/** One event as mariadb-binlog prints it: `# at N`, then `#YYMMDD hh:mm:ss server id S  end_log_pos E CRC32 0x… \t<what>`. */
interface PrintedEvent {
  at: number;
  end: number;
  /** Header time, Unix seconds (printed in UTC: the tool runs with TZ=UTC). */
  time: number;
  serverId: number;
  crc: number | null;
  what: string;
  /** The lines printed after the header (kept for GTID and Query events: START TRANSACTION, the statement). */
  body: string[];
}

interface Printed {
  events: PrintedEvent[];
  /** `# Warning: this binlog is either in use or was not closed properly.` */
  inUseWarning: boolean;
  exitCode: number | null;
  stderr: string;
}

const HEADER = /^#(\d\d)(\d\d)(\d\d) +(\d\d?):(\d\d):(\d\d) server id (\d+) +end_log_pos (\d+)(?: CRC32 0x([0-9a-f]{8}))? *\t(.*)$/;

/** Runs mariadb-binlog and parses its output as it streams (a plain dump of a big binlog is hundreds of MB). */
async function mariadbBinlog(file: string, ...args: string[]): Promise<Printed> {
  const child = spawn('mariadb-binlog', ['--no-defaults', ...args, file], { env: { ...process.env, TZ: 'UTC' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  const ats: number[] = [];
  const headers: Omit<PrintedEvent, 'at'>[] = [];
  let current: Omit<PrintedEvent, 'at'> | null = null;
  let keepBody = false;
  let inUseWarning = false;
  for await (const line of createInterface({ input: child.stdout, crlfDelay: Infinity })) {
    if (line.startsWith('# at ')) {
      ats.push(Number(line.slice(5)));
      continue;
    }
    const m = HEADER.exec(line);
    if (m !== null) {
      const [, yy, mo, dd, hh, mi, ss, sid, end, crc, what] = m as unknown as string[];
      current = {
        end: Number(end),
        time: Date.UTC(2000 + Number(yy), Number(mo) - 1, Number(dd), Number(hh), Number(mi), Number(ss)) / 1000,
        serverId: Number(sid),
        crc: crc === undefined ? null : parseInt(crc, 16),
        what: what as string,
        body: [],
      };
      headers.push(current);
      keepBody = /^(GTID|Query)\b/.test(current.what);
      continue;
    }
    if (line.startsWith('# Warning: this binlog is either in use')) inUseWarning = true;
    else if (current !== null && current.what.startsWith('Gtid list [') && !current.what.endsWith(']') && line.startsWith('# ')) {
      current.what += line.slice(2); // a long Gtid list continues on `# ` lines
    } else if (current !== null && keepBody) current.body.push(line);
  }
  const exitCode = await exited;
  assert.equal(ats.length, headers.length, `${file}: as many "# at" lines as event headers`);
  return { events: headers.map((h, i) => ({ ...h, at: ats[i] as number })), inUseWarning, exitCode, stderr };
}

/** The statement of a printed Query event: its body without the session SETs and the /*!*\/; terminators. */
function statementOf(ev: PrintedEvent): string {
  return ev.body
    .filter((l) => !l.startsWith('SET ') && !l.startsWith('/*'))
    .join('\n')
    .replace(/\/\*!\*\/;$/, '')
    .trim();
}

/** How mariadb-binlog describes each kind of event (MariaDB writes v1 row events, 23-25). */
const PRINTED_AS: Record<number, RegExp> = {
  2: /^Query\tthread_id=\d+\texec_time=\d+\terror_code=\d+/,
  3: /^Stop$/,
  4: /^Rotate to \S+ {2}pos: \d+$/,
  // mariadb-binlog pads the hour with a space: "created 261204  0:42:15" before 10 o'clock.
  15: /^Start: binlog v 4, server v \S+ created \d{6} [ \d]\d:\d\d:\d\d( at startup)?$/,
  16: /^Xid = \d+$/,
  19: /^Table_map: `[^`]+`\.`[^`]+` mapped to number \d+$/,
  23: /^Write_rows: table id \d+( flags: STMT_END_F)?$/,
  24: /^Update_rows: table id \d+( flags: STMT_END_F)?$/,
  25: /^Delete_rows: table id \d+( flags: STMT_END_F)?$/,
  160: /^Annotate_rows:$/,
  161: /^Binlog checkpoint \S+$/,
  162: /^GTID \d+-\d+-\d+( cid=\d+)?( trans| ddl)?$/,
  163: /^Gtid list \[.*\]$/,
};

function listOf(what: string): string[] {
  const inner = /^Gtid list \[(.*)\]$/.exec(what)?.[1] ?? '';
  return inner.split(',').map((s) => s.trim()).filter((s) => s !== '').sort();
}

/** Binlogs up to this size are also dumped in mariadb-binlog's default (base64) mode and compared with both. */
const PLAIN_DUMP_MAX = 64 * 1024 * 1024;

interface Expectations {
  active: boolean;
  /** The next binlog's name, when known: the Rotate must name it. */
  next?: string;
}

interface Compared {
  info: PlainBinlogInfo;
  events: BinlogEvent[];
  txs: BinlogTransaction[];
  printed: Printed;
}

/** Runs inspectBinlog, readBinlogTransactions and mariadb-binlog (both output modes) on one file; asserts they agree. */
async function compareFile(file: string, expect: Expectations): Promise<Compared> {
  const name = path.basename(file);
  const events: BinlogEvent[] = [];
  const fromInspect: BinlogTransaction[] = [];
  const info = (await inspectBinlog(file, { onEvent: (e) => events.push(e), onTransaction: (t) => fromInspect.push(t) })) as PlainBinlogInfo;
  assert.equal(info.magic, 'plain');
  const txs: BinlogTransaction[] = [];
  for await (const t of readBinlogTransactions(file)) txs.push(t);
  assert.deepEqual(txs, fromInspect, `${name}: readBinlogTransactions = inspectBinlog's onTransaction`);

  const printed = await mariadbBinlog(file, '--base64-output=decode-rows');
  assert.equal(printed.exitCode, 0, printed.stderr);
  if (info.size <= PLAIN_DUMP_MAX) {
    // The default output adds the events as base64 BINLOG statements (1.35 bytes of text per byte): same events.
    const plain = await mariadbBinlog(file);
    assert.equal(plain.exitCode, 0, plain.stderr);
    const strip = (p: Printed): unknown => p.events.map(({ body: _, ...e }) => e);
    assert.deepEqual(strip(plain), strip(printed), `${name}: both output modes list the same events`);
    assert.equal(plain.inUseWarning, printed.inUseWarning);
  }

  // Every event: position, end, time, server id, stored CRC32, kind.
  assert.equal(info.eventCount, printed.events.length, `${name}: event count`);
  assert.equal(events.length, printed.events.length);
  const fh = await fs.open(file, 'r');
  try {
    const crcBytes = Buffer.alloc(4);
    for (const [i, p] of printed.events.entries()) {
      const ev = events[i] as BinlogEvent;
      const where = `${name} event ${i} (# at ${p.at}, ${p.what.split('\t')[0]})`;
      assert.deepEqual([ev.position, ev.position + ev.length, ev.timestamp, ev.serverId], [p.at, p.end, p.time, p.serverId], where);
      assert.ok(p.crc !== null, `${where}: printed with a CRC32`);
      await fh.read(crcBytes, 0, 4, p.end - 4);
      assert.equal(crcBytes.readUInt32LE(0), p.crc, `${where}: the CRC32 mariadb-binlog prints is the one stored at the event's end`);
      assert.equal(ev.crc, 'ok', where);
      const kind = PRINTED_AS[ev.type];
      assert.ok(kind !== undefined, `${where}: event type ${ev.type} has no known mariadb-binlog description`);
      assert.match(p.what, kind, where);
      const d = ev.detail;
      if (d?.kind === 'fde') assert.ok(p.what.startsWith(`Start: binlog v ${d.binlogVersion}, server v ${d.serverVersion} created `), where);
      if (d?.kind === 'mariadb-gtid') assert.equal(/^GTID (\S+)/.exec(p.what)?.[1], formatMariadbGtid(d.gtid), where);
      if (d?.kind === 'mariadb-gtid-list') assert.deepEqual(listOf(p.what), d.list.entries().map(formatMariadbGtid).sort(), where);
      if (d?.kind === 'rotate') assert.equal(p.what, `Rotate to ${d.nextFile}  pos: ${d.position}`, where);
      if (d?.kind === 'mariadb-checkpoint') assert.equal(p.what, `Binlog checkpoint ${d.file}`, where);
    }
  } finally {
    await fh.close();
  }

  // The file.
  const first = printed.events[0] as PrintedEvent;
  const last = printed.events.at(-1) as PrintedEvent;
  const stat = await fs.stat(file);
  assert.equal(info.size, stat.size);
  assert.equal(info.endPosition, last.end, `${name}: end position`);
  assert.equal(info.endPosition, info.size);
  assert.equal(info.lastEventPosition, last.at);
  assert.equal(info.serverId, first.serverId);
  assert.equal(info.flavor, 'mariadb');
  assert.equal(info.checksumAlg, 'crc32');
  assert.deepEqual(info.crc, { ok: printed.events.length, bad: 0, skipped: 0, badPositions: [] });
  assert.equal(info.firstEventTimeMs, first.time * 1000, `${name}: first event time`);
  assert.equal(info.lastEventTimeMs, last.time * 1000, `${name}: last event time`);
  const lists = printed.events.filter((p) => p.what.startsWith('Gtid list ['));
  assert.ok(lists.length >= 1 && info.previousGtids !== null);
  assert.deepEqual(info.previousGtids.text.split(',').filter((s) => s !== '').sort(), listOf((lists[0] as PrintedEvent).what), `${name}: Gtid_list`);
  const gtids = printed.events.filter((p) => p.what.startsWith('GTID '));
  const gtidText = (p: PrintedEvent): string => /^GTID (\S+)/.exec(p.what)?.[1] ?? '';
  assert.equal(info.gtidEventCount, gtids.length);
  assert.equal(info.firstGtid, gtids.length === 0 ? null : gtidText(gtids[0] as PrintedEvent));
  assert.equal(info.lastGtid, gtids.length === 0 ? null : gtidText(gtids.at(-1) as PrintedEvent));
  assert.equal(info.inUse, printed.inUseWarning, `${name}: in-use flag`);
  assert.equal(info.inUse, expect.active, `${name}: in use iff it is the server's open binlog`);
  assert.equal(info.closed, !expect.active);
  const rotate = /^Rotate to (\S+) {2}pos: (\d+)$/.exec(last.what);
  if (expect.active) {
    assert.equal(rotate, null);
    assert.equal(info.rotate, null);
  } else {
    assert.ok(rotate !== null, `${name}: a closed binlog ends with a Rotate`);
    assert.deepEqual(info.rotate, { nextFile: rotate[1], position: Number(rotate[2]) });
    if (expect.next !== undefined) assert.equal(rotate[1], expect.next);
  }

  // Transactions, grouped the way MariaDB writes them: GTID … Xid, GTID START TRANSACTION … COMMIT, GTID + one
  // statement (DDL). The end is the end_log_pos of that last event.
  const expected: unknown[] = [];
  for (const [g, p] of printed.events.entries()) {
    if (!p.what.startsWith('GTID ')) continue;
    const transactional = p.body.some((l) => l === 'START TRANSACTION' || l === 'BEGIN');
    let t = g + 1;
    for (; t < printed.events.length; t++) {
      const e = printed.events[t] as PrintedEvent;
      if (!transactional && e.what.startsWith('Query')) break;
      if (transactional && (e.what.startsWith('Xid = ') || (e.what.startsWith('Query') && /^(COMMIT|ROLLBACK)$/.test(statementOf(e))))) break;
    }
    const end = printed.events[t];
    assert.ok(end !== undefined, `${name}: transaction ${gtidText(p)} at ${p.at} ends in the file`);
    expected.push({ gtid: gtidText(p), startPosition: p.at, endPosition: end.end, eventCount: t - g + 1, complete: true, timestamp: p.time });
  }
  assert.deepEqual(
    txs.map((t) => ({ gtid: t.gtid, startPosition: t.startPosition, endPosition: t.endPosition, eventCount: t.eventCount, complete: t.complete, timestamp: t.timestamp })),
    expected,
    `${name}: transactions`,
  );
  const ats = new Set(printed.events.map((p) => p.at));
  for (const t of txs) assert.ok(ats.has(t.startPosition) && (ats.has(t.endPosition) || t.endPosition === info.size), `${name}: transaction bounds are "# at" positions`);
  assert.equal(info.transactionCount, txs.length);

  // The push inspector over a 1 MiB read stream says the same.
  const streamed = await inspectStream(createReadStream(file, { highWaterMark: 1024 * 1024 }), { path: file });
  assert.deepEqual(streamed, info, `${name}: push inspector`);
  return { info, events, txs, printed };
}

/** The binlogs a server lists (SHOW BINARY LOGS), oldest first; the last is the one it has open. */
function binlogNames(showBinaryLogs: string): string[] {
  return showBinaryLogs.trim().split('\n').map((l) => l.split('\t')[0] ?? '').filter((n) => n !== '');
}

describe('agreement with mariadb-binlog on binlogs of a real MariaDB', { skip: skipUnlessIn('mysql') }, () => {
  let server: Launched | null = null;
  let dir = '';
  /** The private instance's binlogs, compared; oldest first, the last one open. */
  const results: Compared[] = [];
  let names: string[] = [];
  let domain2Gtids: string[] = [];

  before(async () => {
    need('mysql'); // the test environment's MariaDB must be up: this test fails, not skips, without it
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'blarc-binlog-agree-'));
    server = await launchMariadb({
      name: 'binlog-agreement',
      dir,
      tools: (await ensureTools(new Set(['mysql']))) as MariadbTools,
      port: await allocatePort('mysql', 'agreement'),
      binlog: true,
      serverId: 7,
    });
    const launched = server;
    const sql = (statement: string): Promise<string> => launched.sql(statement);
    const vars = await sql("SELECT @@binlog_format, @@gtid_strict_mode, @@max_binlog_size, @@binlog_checksum, @@log_bin");
    assert.equal(vars.trim(), 'ROW\t1\t1048576\tCRC32\t1');
    const workload = [
      'CREATE DATABASE agree',
      'CREATE TABLE agree.t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(200), b LONGBLOB) ENGINE=InnoDB',
      'CREATE TABLE agree.m (id INT PRIMARY KEY, v VARCHAR(50)) ENGINE=MyISAM',
      "INSERT INTO agree.t (v) VALUES ('a'), ('b'), ('c')",
      "INSERT INTO agree.t (v, b) VALUES ('big', REPEAT('x', 200000))", // one row event of ~200 KB
      "INSERT INTO agree.t (v, b) VALUES ('huge', REPEAT(MD5('y'), 160000))", // ~5 MB: more than the reader's 4 MiB chunks
      "UPDATE agree.t SET v = CONCAT(v, '!') WHERE id <= 2",
      'DELETE FROM agree.t WHERE id = 3',
      "BEGIN; INSERT INTO agree.t (v) VALUES ('x1'); UPDATE agree.t SET v = 'x2' WHERE v = 'x1'; DELETE FROM agree.t WHERE v = 'b!'; COMMIT",
      "INSERT INTO agree.m VALUES (1, 'non-transactional')",
      "BEGIN; INSERT INTO agree.t (v) VALUES ('rolled back'); ROLLBACK",
      'FLUSH BINARY LOGS',
      "SET SESSION gtid_domain_id = 2; INSERT INTO agree.t (v) VALUES ('d2'); BEGIN; UPDATE agree.t SET v = 'd2!' WHERE v = 'd2'; INSERT INTO agree.t (v) VALUES ('d2b'); COMMIT",
      'ALTER TABLE agree.t ADD COLUMN c INT',
      // ~1.3 MB of rows in one transaction: max_binlog_size is 1 MiB, so the server rotates by size after it.
      "INSERT INTO agree.t (v, c) SELECT REPEAT('z', 180), seq FROM agree.seq_1_to_6000",
      "UPDATE agree.t SET c = c + 1 WHERE c < 100",
      "SET SESSION gtid_domain_id = 2; DELETE FROM agree.t WHERE c BETWEEN 200 AND 300",
      'FLUSH BINARY LOGS',
      "SET SESSION gtid_domain_id = 2; INSERT INTO agree.t (v) VALUES ('in the open binlog')",
    ];
    for (const [i, statement] of workload.entries()) {
      await sql(statement);
      // Binlog times have one-second resolution: spread the workload over a few seconds.
      if (i % 6 === 5) await sleep(1100);
    }
    domain2Gtids = (await sql('SELECT @@gtid_binlog_pos')).trim().split(',').filter((g) => g.startsWith('2-'));
    names = binlogNames(await sql('SHOW BINARY LOGS'));
  });

  after(async () => {
    if (server !== null) await stopProcess(server.proc.pid, server.proc.exe);
    if (dir !== '') await fs.rm(dir, { recursive: true, force: true });
  });

  test('every binlog of the workload, the open one included, agrees event by event and transaction by transaction', async () => {
    assert.ok(server !== null);
    for (const [i, n] of names.entries()) {
      const active = i === names.length - 1;
      results.push(await compareFile(path.join(server.binlogDir, n), active ? { active } : { active, next: names[i + 1] }));
    }
  });

  test('the workload produced what it should: rotations by FLUSH and by size, two GTID domains, rows > 64 KiB and > 4 MiB', () => {
    assert.ok(names.length >= 4, `binlogs ${names.join(', ')}`);
    const closed = results.slice(0, -1);
    assert.ok(closed.every((r) => r.info.closed && r.info.endsWithRotate));
    assert.ok(closed.some((r) => r.info.size > 1024 * 1024 && r.info.size < 2 * 1024 * 1024 && r.info.rotate !== null), 'one binlog was rotated for its size');
    const all = results.flatMap((r) => r.events);
    assert.ok(all.some((e) => e.type === 23 && e.length > 64 * 1024 && e.length < 1024 * 1024), 'a Write_rows event > 64 KiB');
    assert.ok(all.some((e) => e.type === 23 && e.length > 4 * 1024 * 1024), 'a Write_rows event > 4 MiB');
    assert.ok(all.some((e) => e.type === 24) && all.some((e) => e.type === 25), 'updates and deletes');
    const txs = results.flatMap((r) => r.txs);
    assert.ok(txs.some((t) => t.gtidValue?.flavor === 'mariadb' && t.gtidValue.domainId === 2), 'transactions in domain 2');
    assert.ok(txs.some((t) => t.eventCount >= 8), 'a multi-statement transaction');
    assert.ok(txs.every((t) => t.gtidValue?.flavor === 'mariadb' && t.gtidValue.serverId === 7));
    assert.equal(domain2Gtids.length, 1);
    // The server's own GTID position is the last GTID per domain of its binlogs.
    const lastPerDomain = new Map<number, string>();
    for (const t of txs) if (t.gtidValue?.flavor === 'mariadb') lastPerDomain.set(t.gtidValue.domainId, t.gtid as string);
    assert.equal(lastPerDomain.get(2), domain2Gtids[0]);
  });

  test('each binlog starts with the Gtid_list the previous one ends at (previous list + GTIDs added)', () => {
    for (let i = 1; i < results.length; i++) {
      const prev = (results[i - 1] as Compared).info;
      const next = results[i] as Compared;
      const list = next.printed.events.find((p) => p.what.startsWith('Gtid list ['));
      assert.ok(prev.previousGtids !== null && list !== undefined);
      const expected = prev.previousGtids.set.flavor === 'mariadb' && prev.gtidsAdded.flavor === 'mariadb' ? prev.previousGtids.set.union(prev.gtidsAdded) : null;
      assert.ok(expected !== null);
      assert.deepEqual(listOf(list.what), expected.entries().map(formatMariadbGtid).sort(), `${names[i]} starts where ${names[i - 1]} ended`);
    }
    const openList = (results.at(-1) as Compared).printed.events.find((p) => p.what.startsWith('Gtid list ['));
    assert.ok(openList !== undefined && listOf(openList.what).some((g) => g.startsWith('2-7-')), 'domain 2 is in the open binlog\'s Gtid_list');
  });

  test('mariadb-binlog --start-position/--stop-position at a transaction\'s bounds prints exactly that transaction', async () => {
    assert.ok(server !== null);
    let checked = 0;
    for (const [i, r] of results.entries()) {
      const file = path.join(server.binlogDir, names[i] as string);
      // The first, the last, the largest, and every one in domain 2 or of several statements.
      const largest = r.txs.reduce<BinlogTransaction | undefined>((a, t) => (a === undefined || t.endPosition - t.startPosition > a.endPosition - a.startPosition ? t : a), undefined);
      const picked = new Set(r.txs.filter((t, k) => k === 0 || k === r.txs.length - 1 || t === largest || t.eventCount >= 8 || (t.gtidValue?.flavor === 'mariadb' && t.gtidValue.domainId === 2)));
      for (const t of picked) {
        const out = await mariadbBinlog(file, '--base64-output=decode-rows', `--start-position=${t.startPosition}`, `--stop-position=${t.endPosition}`);
        assert.equal(out.exitCode, 0, out.stderr);
        const inRange = out.events.filter((p) => p.at >= t.startPosition);
        assert.deepEqual(inRange.filter((p) => p.what.startsWith('GTID ')).map((p) => /^GTID (\S+)/.exec(p.what)?.[1]), [t.gtid], `${names[i]} ${t.gtid}`);
        assert.equal(inRange.length, t.eventCount, `${names[i]} ${t.gtid}: events printed`);
        assert.equal(inRange.at(-1)?.end, t.endPosition);
        checked++;
      }
    }
    assert.ok(checked >= 10, `${checked} transactions replayed by position`);
  });

  test('a copy cut inside an event is refused at the offset where mariadb-binlog stops', async () => {
    assert.ok(server !== null);
    const withHuge = results.findIndex((r) => r.events.some((e) => e.length > 4 * 1024 * 1024));
    const source = path.join(server.binlogDir, names[withHuge] as string);
    const r = results[withHuge] as Compared;
    const huge = r.events.find((e) => e.length > 4 * 1024 * 1024) as BinlogEvent;
    const small = r.events.find((e) => e.type === 16) as BinlogEvent;
    const bytes = await fs.readFile(source);
    for (const [victim, into] of [[huge, Math.floor(huge.length / 2)], [huge, 10], [small, small.length - 1]] as const) {
      const cut = path.join(dir, `cut-${victim.position}-${into}`);
      await fs.writeFile(cut, bytes.subarray(0, victim.position + into));
      await assert.rejects(inspectBinlog(cut), (err: unknown) => {
        assert.ok(err instanceof ArchiverError);
        assert.equal(err.code, 'EBINLOGTRUNCATED');
        assert.equal(err.context.offset, victim.position);
        assert.match(err.message, new RegExp(`truncated: .* at offset ${victim.position} runs past the end of the file \\(${victim.position + into} bytes\\)`));
        return true;
      });
      const ins = createBinlogInspector({ path: cut });
      ins.write(bytes.subarray(0, victim.position + into));
      assert.throws(() => ins.finish(), (err: unknown) => err instanceof ArchiverError && err.code === 'EBINLOGTRUNCATED' && err.context.offset === victim.position);
      const printed = await mariadbBinlog(cut, '--base64-output=decode-rows');
      assert.notEqual(printed.exitCode, 0, 'mariadb-binlog fails on the cut copy too');
      assert.match(printed.stderr, new RegExp(`Could not read entry at offset ${victim.position}:`));
      assert.equal(printed.events.at(-1)?.end, victim.position, 'both read every event before the cut one');
    }
  });

  test('the open binlog: in use, not closed, every complete event read', () => {
    const open = results.at(-1) as Compared;
    assert.equal(open.info.inUse, true);
    assert.equal(open.info.closed, false);
    assert.equal(open.info.endsWithRotate, false);
    assert.equal(open.printed.inUseWarning, true);
    // Its last transaction is the workload's last insert, in domain 2, complete (it ends with its Xid).
    assert.equal(open.txs.at(-1)?.gtid, domain2Gtids[0]);
    assert.equal(open.txs.at(-1)?.complete, true);
    assert.equal(open.info.lastEventType, 16);
    assert.ok(results.slice(0, -1).every((r) => !r.info.inUse && !r.printed.inUseWarning));
  });

  test('the test environment\'s MariaDB: every closed binlog agrees too', async () => {
    const mysql = need('mysql');
    const client = mysqlClient(mysql);
    // On a fresh environment the server may not have rotated yet: close the current binlog so there is one to compare.
    await client.query('CREATE DATABASE IF NOT EXISTS agreement; CREATE TABLE IF NOT EXISTS agreement.t (v INT); INSERT INTO agreement.t VALUES (1); FLUSH BINARY LOGS');
    const shared = binlogNames(await client.query('SHOW BINARY LOGS'));
    const closed = shared.slice(0, -1);
    assert.ok(closed.length >= 1, `closed binlogs: ${closed.join(', ')}`);
    let compared = 0;
    for (const [i, n] of closed.entries()) {
      const file = path.join(mysql.binlogDir, n);
      try {
        await fs.access(file);
      } catch {
        continue; // purged by another test since SHOW BINARY LOGS
      }
      await compareFile(file, { active: false, next: shared[i + 1] });
      compared++;
    }
    assert.ok(compared >= 1);
  });
});
