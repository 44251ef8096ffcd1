/**
 * A series of real MariaDB binlogs of a sysbench-like OLTP workload (oltp_write_only's shape): 8 tables of
 * (id, k, c CHAR(120), pad CHAR(60)), then many small transactions from 4 concurrent clients, each an index
 * update, a non-index update, a delete and the re-insert of the same id. Generated once on a private MariaDB
 * (8 MiB binlogs) and cached under ~/.cache/binlog-archiver/bench/ with the final table checksums and GTID
 * position, which a restore of the whole series must reproduce.
 *
 * `oltpBinlog(mib)` is the archive bench's variant (issue 13): one binlog of at least MIB MiB holding only
 * transactions (the tables are created and filled in the binlog before it), each of 3–6 statements drawn from
 * the same four kinds, with row widths that vary (c and pad strings of random length; MariaDB logs CHAR columns
 * without their padding), cached as …/mariadb-oltp-mixed-MIBmib/.
 */
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopProcess } from '../testenv/proc.ts';
import { allocatePort } from '../testenv/ports.ts';
import { type MariadbTools, launchMariadb } from '../testenv/servers/mariadb.ts';
import { ensureTools } from '../testenv/tools.ts';
import { cacheRoot } from '../testenv/versions.ts';

export const OLTP_TABLES = Array.from({ length: 8 }, (_, i) => `sbtest.sbtest${i + 1}`);
const ROWS = 5000;

export interface OltpBinlogs {
  dir: string;
  files: string[];
  bytes: number;
  serverId: number;
  checksums: string;
  gtid: string;
}

export const checksumSql = `CHECKSUM TABLE ${OLTP_TABLES.join(', ')} EXTENDED`;

const text = (n: number): string => Array.from({ length: n }, () => String.fromCharCode(97 + randomInt(26))).join('');

/** A transaction of 3–6 statements, rows of mixed widths (the archive bench's shape). */
function mixedTransaction(): string {
  const t = OLTP_TABLES[randomInt(OLTP_TABLES.length)]!;
  const row = (): number => randomInt(1, ROWS + 1);
  const statements: string[] = [];
  for (let n = 3 + randomInt(4); statements.length < n;) {
    const kind = randomInt(3);
    if (kind === 0) statements.push(`UPDATE ${t} SET k = k + 1 WHERE id = ${row()}`);
    else if (kind === 1) statements.push(`UPDATE ${t} SET c = '${text(1 + randomInt(120))}' WHERE id = ${row()}`);
    else {
      const id = row();
      statements.push(`DELETE FROM ${t} WHERE id = ${id}`, `INSERT INTO ${t} (id, k, c, pad) VALUES (${id}, ${randomInt(ROWS)}, '${text(1 + randomInt(120))}', '${text(randomInt(61))}')`);
    }
  }
  return `BEGIN; ${statements.join('; ')}; COMMIT;\n`;
}

function transaction(): string {
  const t = OLTP_TABLES[randomInt(OLTP_TABLES.length)]!;
  const id = randomInt(1, ROWS + 1);
  return `BEGIN; UPDATE ${t} SET k = k + 1 WHERE id = ${randomInt(1, ROWS + 1)}; UPDATE ${t} SET c = '${text(120)}' WHERE id = ${randomInt(1, ROWS + 1)};
DELETE FROM ${t} WHERE id = ${id}; INSERT INTO ${t} (id, k, c, pad) VALUES (${id}, ${randomInt(ROWS)}, '${text(120)}', '${text(60)}'); COMMIT;\n`;
}

/** Feeds `count` transactions to one client session over the socket. */
function client(tools: MariadbTools, socket: string, count: number, make: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(tools.mariadb, ['--no-defaults', `--socket=${socket}`, `--user=${os.userInfo().username}`, '--batch'], { stdio: ['pipe', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`mariadb client exited ${code ?? 'by signal'}`))));
    let left = count;
    const write = (): void => {
      while (left > 0) {
        left--;
        if (!child.stdin.write(make())) {
          child.stdin.once('drain', write);
          return;
        }
      }
      child.stdin.end();
    };
    write();
  });
}

export async function oltpBinlogs(mib: number): Promise<OltpBinlogs> {
  return generate(path.join(path.dirname(cacheRoot()), 'bench', `mariadb-oltp-${mib}mib`), mib, { maxBinlogSize: 8 << 20, make: transaction, rotateAfterSetup: false });
}

/** One closed binlog of at least `mib` MiB of mixed-width OLTP transactions only (see the module comment). */
export async function oltpBinlog(mib: number): Promise<string> {
  const w = await generate(path.join(path.dirname(cacheRoot()), 'bench', `mariadb-oltp-mixed-${mib}mib`), mib, { maxBinlogSize: 1 << 30, make: mixedTransaction, rotateAfterSetup: true });
  if (w.files.length !== 1) throw new Error(`${w.dir}: expected one binlog, found ${w.files.length}`);
  return path.join(w.dir, w.files[0]!);
}

interface Shape { maxBinlogSize: number; make: () => string; rotateAfterSetup: boolean }

async function generate(dir: string, mib: number, shape: Shape): Promise<OltpBinlogs> {
  const meta = path.join(dir, 'workload.json');
  if (fs.existsSync(meta)) return JSON.parse(fs.readFileSync(meta, 'utf8')) as OltpBinlogs;
  const tools = (await ensureTools(new Set(['mysql']))) as MariadbTools;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'blarc-oltp-'));
  process.stderr.write(`bench: generating ${mib} MiB of OLTP binlogs on a private MariaDB (once; cached in ${dir})\n`);
  const server = await launchMariadb({ name: 'oltp-source', dir: work, tools, port: await allocatePort('oltp'), binlog: true, serverId: 1, maxBinlogSize: shape.maxBinlogSize });
  try {
    await server.sql(`SET GLOBAL sync_binlog = 0, innodb_flush_log_at_trx_commit = 0; CREATE DATABASE sbtest;
      ${OLTP_TABLES.map((t) => `CREATE TABLE ${t} (id INT NOT NULL PRIMARY KEY, k INT NOT NULL DEFAULT 0, c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', KEY k_${t.split('.')[1]} (k)) ENGINE=InnoDB;
        INSERT INTO ${t} SELECT seq, FLOOR(RAND() * ${ROWS}), REPEAT(CHAR(97 + seq % 26), 120), REPEAT(CHAR(98 + seq % 24), 60) FROM sbtest.seq_1_to_${ROWS}`).join(';\n')}`);
    const binlogs = (): string[] => fs.readdirSync(server.binlogDir).filter((f) => /^mysql-bin\.\d+$/.test(f)).sort();
    if (shape.rotateAfterSetup) await server.sql('FLUSH BINARY LOGS');
    const setup = shape.rotateAfterSetup ? binlogs().length - 1 : 0;
    const size = (): number => binlogs().slice(setup).reduce((n, f) => n + fs.statSync(path.join(server.binlogDir, f)).size, 0);
    while (size() < mib * 1048576) await Promise.all([0, 1, 2, 3].map(() => client(tools, server.socket, 4000, shape.make)));
    await server.sql('FLUSH BINARY LOGS');
    const checksums = (await server.sql(checksumSql)).trim();
    const gtid = (await server.sql('SELECT @@gtid_binlog_pos')).trim();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const all = binlogs();
    for (const f of all) fs.copyFileSync(path.join(server.binlogDir, f), path.join(dir, f));
    fs.writeFileSync(path.join(dir, 'mysql-bin.index'), all.map((f) => `./${f}\n`).join(''));
    const files = all.slice(setup, -1); // the last one is the live binlog FLUSH opened
    const result: OltpBinlogs = { dir, files, bytes: files.reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0), serverId: 1, checksums, gtid };
    fs.writeFileSync(meta, JSON.stringify(result, null, 2));
    return result;
  } finally {
    await stopProcess(server.proc.pid, server.proc.exe);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.filename === process.argv[1]) process.stdout.write(`${await oltpBinlog(Number(process.argv[2] ?? 256))}\n`);
