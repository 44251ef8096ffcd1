/**
 * A private MariaDB instance (own datadir, port and socket) from Debian's mariadb-server, with binary logging
 * the way the archiver expects it: log_bin, ROW format, log_slave_updates, strict GTIDs and a small
 * max_binlog_size so tests get real rotated binlogs. `launchMariadb` is also used by tests that need a
 * fresh instance to replay a restore into.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Endpoints, UpContext } from '../context.ts';
import { TestenvError } from '../errors.ts';
import { allocatePort } from '../ports.ts';
import { type Started, startProcess, waitReady } from '../proc.ts';
import { randomToken, writeSecretFile } from '../secrets.ts';

const run = promisify(execFile);

export interface MariadbTools {
  mariadbd: string;
  mariadbInstallDb: string;
  mariadb: string;
}

export interface LaunchOptions {
  name: string;
  /** Everything of this instance lives here: data/, binlog/, the log file. */
  dir: string;
  tools: MariadbTools;
  port: number;
  binlog: boolean;
  serverId?: number;
  maxBinlogSize?: number;
  record?: (proc: Started) => void;
}

export interface Launched {
  proc: Started;
  socket: string;
  binlogDir: string;
  binlogBasename: string;
  /** Runs SQL as the OS user over the socket (unix_socket authentication); returns tab-separated rows. */
  sql(statement: string): Promise<string>;
}

/** unix socket paths are limited to 107 bytes; deep checkouts get a short path under the temp dir. */
function socketPath(dir: string): string {
  const direct = path.join(dir, 'mysqld.sock');
  if (direct.length < 100) return direct;
  const short = path.join(os.tmpdir(), `blarc-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`);
  fs.mkdirSync(short, { recursive: true, mode: 0o700 });
  return path.join(short, 'mysqld.sock');
}

export async function launchMariadb(options: LaunchOptions): Promise<Launched> {
  const { dir, tools } = options;
  const dataDir = path.join(dir, 'data');
  const binlogDir = path.join(dir, 'binlog');
  const logFile = path.join(dir, `${options.name}.log`);
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(binlogDir, { recursive: true, force: true });
  fs.mkdirSync(dataDir, { recursive: true });
  fs.mkdirSync(binlogDir, { recursive: true });
  // Its own temporary directory: servers bootstrapping at once in a shared /tmp lost each other's temporary tables
  // ("Could not remove temporary table '/tmp/#sql-temptable-…'", then mariadb-install-db failed).
  const tmpDir = path.join(dir, 'tmp');
  fs.rmSync(tmpDir, { recursive: true, force: true });
  fs.mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  try {
    const out = await run(tools.mariadbInstallDb, ['--no-defaults', `--datadir=${dataDir}`, '--auth-root-authentication-method=socket',
      '--skip-test-db', `--tmpdir=${tmpDir}`, ...asRoot]);
    fs.appendFileSync(logFile, out.stdout + out.stderr);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    fs.appendFileSync(logFile, (e.stdout ?? '') + (e.stderr ?? ''));
    throw new TestenvError(options.name, 'mariadb-install-db failed', { logFile, cause: err });
  }
  const socket = socketPath(dir);
  const binlogBasename = 'mysql-bin';
  const binlogArgs = options.binlog
    ? [`--log-bin=${path.join(binlogDir, binlogBasename)}`, '--binlog-format=ROW', '--log-slave-updates=ON', '--gtid-strict-mode=ON',
      `--max-binlog-size=${options.maxBinlogSize ?? 1024 * 1024}`, '--binlog-checksum=CRC32']
    : ['--skip-log-bin'];
  const proc = startProcess({
    name: options.name,
    command: tools.mariadbd,
    args: ['--no-defaults', `--datadir=${dataDir}`, `--port=${options.port}`, '--bind-address=127.0.0.1', `--socket=${socket}`,
      `--pid-file=${path.join(dir, 'mysqld.pid')}`, `--log-error=${logFile}`, `--tmpdir=${tmpDir}`, `--server-id=${options.serverId ?? 1}`,
      '--innodb-buffer-pool-size=64M', '--skip-name-resolve', ...binlogArgs, ...asRoot],
    logFile,
  });
  options.record?.(proc);
  const osUser = os.userInfo().username;
  const sql = async (statement: string): Promise<string> => {
    const { stdout } = await run(tools.mariadb, ['--no-defaults', `--socket=${socket}`, `--user=${osUser}`, '--batch', '--skip-column-names', '-e', statement],
      { maxBuffer: 256 * 1024 * 1024 });
    return stdout;
  };
  await waitReady(proc, async () => (await sql('SELECT 1')).trim() === '1', 60_000);
  return { proc, socket, binlogDir, binlogBasename, sql };
}

export async function startMariadb(ctx: UpContext): Promise<Endpoints['mysql']> {
  const dir = path.join(ctx.dir, 'mariadb');
  const port = await allocatePort('mysql');
  const tools = ctx.tools as MariadbTools;
  const launched = await launchMariadb({ name: 'mysql', dir, tools, port, binlog: true, record: (p) => ctx.record(p) });
  const user = 'archiver';
  const password = randomToken(18);
  const passwordFile = path.join(ctx.dir, 'mysql-password');
  writeSecretFile(passwordFile, password);
  for (const host of ['127.0.0.1', 'localhost']) {
    await launched.sql(`CREATE USER IF NOT EXISTS '${user}'@'${host}' IDENTIFIED BY '${password}'; GRANT ALL PRIVILEGES ON *.* TO '${user}'@'${host}'`);
  }
  const version = (await launched.sql('SELECT VERSION()')).trim();
  return {
    host: '127.0.0.1', port, user, passwordFile, binlogDir: launched.binlogDir, socket: launched.socket,
    flavor: 'mariadb', version, binlogBasename: launched.binlogBasename,
  };
}
