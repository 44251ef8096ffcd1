/**
 * `npm run bench -- --restore` (or `node bench/restore-bench.ts`): how long applying a restore takes, against the
 * way every operator does it. The input is the OLTP binlog series of bench/oltp-binlogs.ts (~90 MiB, archived
 * once per run to a file:// store). Each round applies the whole series into fresh twin MariaDB servers with the
 * same durable settings (sync_binlog=1, innodb_flush_log_at_trx_commit=1, binlog with log_slave_updates):
 *   - peer:        mariadb-binlog FILES | mariadb          (plaintext files given to it, decode not counted)
 *   - replication: binlog-archiver restore --apply-mode replication (from the store: verify, decode, serve, apply)
 *   - session:     binlog-archiver restore --apply-mode session --apply-* (with --session): no files, the verified
 *                  binlogs streamed through mariadb-binlog's stdin into one client session
 *   - peer-tcp:    the peer again, its client connected over TCP to 127.0.0.1 as session mode's is (with
 *                  --session): the peer above uses the server's Unix socket, which a restore Job in another Pod
 *                  cannot
 * in alternating order, and prints wall times, the ratio per round, and each server's table checksum and GTID
 * position, which must equal the source's.
 *
 * First it measures decoding (bench/restore-decode.ts): `restore --out` against `openssl enc -d | zstd -d` on the archive
 * bench's bulk and OLTP binlogs (--decode-mib each) and on the same OLTP series, with peak RSS.
 *
 *   node bench/restore-bench.ts [--rounds 3] [--mib 90] [--threads 4] [--session] [--decode-mib 256] [--cli OTHER/bin/binlog-archiver.js] [--decode-only | --apply-only]
 *
 * --cli measures another build's CLI in both halves (e.g. a frozen copy of a commit while the tree changes).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { runArchive } from '../src/pipeline/archive-run.ts';
import { openStore } from '../src/store/open-store.ts';
import { stopProcess } from '../testenv/proc.ts';
import { allocatePort } from '../testenv/ports.ts';
import { type Launched, type MariadbTools, launchMariadb } from '../testenv/servers/mariadb.ts';
import { ensureTools } from '../testenv/tools.ts';
import { ensureBuilt } from '../scripts/build.ts';
import { type OltpBinlogs, checksumSql, oltpBinlogs } from './oltp-binlogs.ts';
import { archiveBenchWorkloads, decodeBench, oltpSeriesWorkload } from './restore-decode.ts';

const run = promisify(execFile);
type Mode = 'peer' | 'peer-tcp' | 'replication' | 'session';

interface Twin { server: Launched; dir: string; port: number; userFile: string; passwordFile: string }

async function twin(tools: MariadbTools, work: string, name: string): Promise<Twin> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `blarc-twin-${name}-`));
  const server = await launchMariadb({ name, dir, tools, port: await allocatePort('twin'), binlog: true, serverId: 2, maxBinlogSize: 256 << 20 });
  const password = randomBytes(12).toString('hex');
  // The account is made outside the binlog: the twin's GTID position must come from the replay alone.
  await server.sql(`SET GLOBAL sync_binlog = 1, innodb_flush_log_at_trx_commit = 1; SET SESSION sql_log_bin = 0;
    CREATE USER 'restorer'@'127.0.0.1' IDENTIFIED BY '${password}'; GRANT ALL PRIVILEGES ON *.* TO 'restorer'@'127.0.0.1'`);
  const userFile = path.join(work, `${name}.user`);
  const passwordFile = path.join(work, `${name}.password`);
  fs.writeFileSync(userFile, 'restorer\n', { mode: 0o600 });
  fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  return { server, dir, port: Number((await server.sql('SELECT @@port')).trim()), userFile, passwordFile };
}

/** The client's connection: the server's Unix socket as the local user, or TCP with the twin's account (an option file: no password in argv). */
function clientArgs(t: Twin, tcp: boolean): string[] {
  if (!tcp) return ['--no-defaults', `--socket=${t.server.socket}`, `--user=${os.userInfo().username}`];
  const options = path.join(t.dir, 'client.cnf');
  const user = fs.readFileSync(t.userFile, 'utf8').trim();
  const password = fs.readFileSync(t.passwordFile, 'utf8').trim();
  fs.writeFileSync(options, `[client]\nhost=127.0.0.1\nport=${t.port}\nuser=${user}\npassword=${password}\nprotocol=TCP\n`, { mode: 0o600 });
  return [`--defaults-file=${options}`];
}

function pipe(tools: MariadbTools, input: OltpBinlogs, connect: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const binlog = spawn('mariadb-binlog', ['--no-defaults', ...input.files], { cwd: input.dir, stdio: ['ignore', 'pipe', 'inherit'] });
    const client = spawn(tools.mariadb, [...connect, '--batch'], { stdio: ['pipe', 'ignore', 'inherit'] });
    binlog.stdout.pipe(client.stdin);
    client.stdin.on('error', () => undefined); // the client's exit status says why it stopped reading
    let pending = 2;
    const done = (what: string) => (code: number | null): void => {
      if (code !== 0) reject(new Error(`${what} exited ${code ?? 'by signal'}`));
      else if (--pending === 0) resolve();
    };
    binlog.on('close', done('mariadb-binlog'));
    client.on('close', done('mariadb'));
  });
}

async function ours(mode: 'replication' | 'session', t: Twin, store: string, key: string, work: string, threads: number, cli: string): Promise<void> {
  const args = [cli, 'restore', '--store', store, '--key', key, '--source', 'oltp',
    '--apply-host', '127.0.0.1', '--apply-port', String(t.port), '--apply-user-file', t.userFile, '--apply-password-file', t.passwordFile, '-q', '--json',
    ...(mode === 'replication' ? ['--apply-mode', 'replication', '--apply-parallel', String(threads)] : ['--apply-mode', 'session'])];
  await run(process.execPath, args, { maxBuffer: 16 << 20 });
}

async function oneRun(mode: Mode, ctx: { tools: MariadbTools; input: OltpBinlogs; store: string; key: string; work: string; threads: number; cli: string }): Promise<{ ms: number; sums: string; gtid: string }> {
  const t = await twin(ctx.tools, ctx.work, mode);
  try {
    const started = performance.now();
    if (mode === 'peer' || mode === 'peer-tcp') await pipe(ctx.tools, ctx.input, clientArgs(t, mode === 'peer-tcp'));
    else await ours(mode, t, ctx.store, ctx.key, ctx.work, ctx.threads, ctx.cli);
    const ms = performance.now() - started;
    return { ms, sums: (await t.server.sql(checksumSql)).trim(), gtid: (await t.server.sql('SELECT @@gtid_binlog_pos')).trim() };
  } finally {
    await stopProcess(t.server.proc.pid, t.server.proc.exe);
    fs.rmSync(t.dir, { recursive: true, force: true });
  }
}

const range = (xs: number[]): string => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;

export async function restoreBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { rounds: { type: 'string', default: '3' }, mib: { type: 'string', default: '90' }, threads: { type: 'string', default: '4' }, session: { type: 'boolean' }, restore: { type: 'boolean' },
    'decode-mib': { type: 'string', default: '256' }, cli: { type: 'string' }, 'decode-only': { type: 'boolean' }, 'apply-only': { type: 'boolean' } } });
  if (values['apply-only'] !== true) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'blarc-decode-bench-'));
    try {
      const workloads = [...(await archiveBenchWorkloads(Number(values['decode-mib']), root)), await oltpSeriesWorkload(Number(values.mib))];
      if (!(await decodeBench(workloads, Number(values.rounds), root, ...(values.cli === undefined ? [] : [path.resolve(values.cli)])))) process.exitCode = 1;
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
    if (values['decode-only'] === true) return;
  }
  const tools = (await ensureTools(new Set(['mysql']))) as MariadbTools;
  const input = await oltpBinlogs(Number(values.mib));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'blarc-restore-bench-'));
  const key = `file://${path.join(work, 'master.key')}`;
  fs.writeFileSync(path.join(work, 'master.key'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const store = `file://${path.join(work, 'store')}`;
  await runArchive({ binlogDir: input.dir, store: openStore(store), keyUrl: key, source: 'oltp' });
  // The JavaScript build, as the image runs it (scripts/build.ts), or the --cli given (another checkout's build).
  const ctx = { tools, input, store, key, work, threads: Number(values.threads), cli: values.cli === undefined ? ensureBuilt() : path.resolve(values.cli) };
  console.log(`restore bench: ${input.files.length} OLTP binlogs, ${(input.bytes / 1048576).toFixed(1)} MiB; twins with sync_binlog=1, innodb_flush_log_at_trx_commit=1; slave_parallel_threads=${ctx.threads}; load ${os.loadavg()[0]!.toFixed(2)}`);
  const modes: Mode[] = values.session === true ? ['peer', 'replication', 'session', 'peer-tcp'] : ['peer', 'replication'];
  const ratios: number[] = [];
  const sessionRatios: number[] = [];
  const tcpRatios: number[] = [];
  const times: Record<Mode, number[]> = { peer: [], 'peer-tcp': [], replication: [], session: [] };
  try {
    for (let r = 0; r < Number(values.rounds); r++) {
      const order = r % 2 === 0 ? modes : [...modes].reverse();
      for (const mode of order) {
        const res = await oneRun(mode, ctx);
        const ok = res.sums === input.checksums && res.gtid === input.gtid;
        times[mode].push(res.ms / 1000);
        console.log(`round ${r + 1} ${mode.padEnd(11)} ${(res.ms / 1000).toFixed(2)} s  gtid ${res.gtid}  checksums ${ok ? 'identical to the source' : `DIFFER:\n${res.sums}`}`);
        if (!ok) process.exitCode = 1;
      }
      ratios.push(times.peer[r]! / times.replication[r]!);
      if (times.session[r] !== undefined) sessionRatios.push(times.peer[r]! / times.session[r]!);
      if (times['peer-tcp'][r] !== undefined) tcpRatios.push(times['peer-tcp'][r]! / times.session[r]!);
      console.log(`round ${r + 1}: replication is ${ratios[r]!.toFixed(2)}× the peer${times.session[r] !== undefined ? `, session ${sessionRatios[r]!.toFixed(2)}× (${tcpRatios[r]!.toFixed(2)}× the peer over TCP)` : ''} (load ${os.loadavg()[0]!.toFixed(2)})`);
    }
    console.log(`\npeer ${range(times.peer)} s, replication ${range(times.replication)} s${times.session.length > 0 ? `, session ${range(times.session)} s, peer over TCP ${range(times['peer-tcp'])} s` : ''}; ratio peer/replication ${range(ratios)}×` +
      `${sessionRatios.length > 0 ? `, peer/session ${range(sessionRatios)}×, peer over TCP/session ${range(tcpRatios)}×` : ''} over ${ratios.length} rounds`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await restoreBench(process.argv.slice(2));
