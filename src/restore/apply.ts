/**
 * Applying a restore to a server in a single session: the replay command's output piped into one client
 * connection. Credentials come from files (mounted Secrets) and reach the client through a 0600 option file
 * that is removed as soon as the client has connected, never through argv or the environment.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArchiverError } from '../errors.ts';
import { throwIfInterrupted, untilInterrupted } from './interrupt.ts';
import { clientFor } from './replay-script.ts';
import { processAlive } from './restore-file.ts';
import { killSession } from './session-stop.ts';

export interface ApplyTarget {
  host: string;
  port: number;
  userFile: string;
  passwordFile: string;
}

export function readCredential(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new ArchiverError('EBADINPUT', `cannot read the ${what} file ${file}: ${(err as Error).message}`, { cause: err });
  }
}

const OPTION_DIR_PREFIX = 'blarc-apply-';

interface Proc {
  child: ChildProcess;
  done: Promise<{ code: number; stderr: string }>;
}

function run(command: string, args: string[], cwd: string, stdin: boolean): Proc {
  // detached: a process group of its own, so Ctrl-C in a terminal (SIGINT to the whole group) reaches only us and
  // the interrupted apply stops in order (applyReplay), instead of racing a client that exits or kills its query.
  // If we die, the client still ends: its input closes with us.
  const child = spawn(command, args, { cwd, stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true });
  // A side that died makes writes to it fail with EPIPE: its exit code tells what happened.
  child.stdin?.on('error', () => undefined);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    if (stderr.length < 8192) stderr += d;
  });
  const done = new Promise<{ code: number; stderr: string }>((resolve) => {
    child.on('error', (err) => resolve({ code: 127, stderr: `${command}: ${err.message}` }));
    child.on('close', (code) => resolve({ code: code ?? 1, stderr }));
  });
  return { child, done };
}

/**
 * The 0600 option file with the credentials, in a private directory named by our pid: it lives only until the
 * client has connected. Directories that killed runs left (their pid is gone) are removed first.
 */
function writeOptionFile(target: ApplyTarget): string {
  const user = readCredential(target.userFile, 'user');
  const password = readCredential(target.passwordFile, 'password');
  const tmp = os.tmpdir();
  for (const name of fs.readdirSync(tmp)) {
    const pid = Number(new RegExp(`^${OPTION_DIR_PREFIX}(\\d+)-`).exec(name)?.[1] ?? NaN);
    if (!Number.isSafeInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    const stale = path.join(tmp, name);
    const st = fs.lstatSync(stale, { throwIfNoEntry: false });
    if (st?.isDirectory() === true && st.uid === process.getuid?.()) fs.rmSync(stale, { recursive: true, force: true });
  }
  const dir = fs.mkdtempSync(path.join(tmp, `${OPTION_DIR_PREFIX}${process.pid}-`));
  fs.writeFileSync(path.join(dir, 'client.cnf'), `[client]\nhost=${target.host}\nport=${target.port}\nuser=${user}\npassword=${password}\nprotocol=TCP\n`, { mode: 0o600 });
  return dir;
}

/**
 * The client's connection id: the client answers the first statement it is sent, before any of the replay, so an
 * interruption can end exactly its session on the server. Fails if the client exits first (cannot connect).
 */
function connectionId(client: Proc, target: ApplyTarget): Promise<number> {
  return new Promise((resolve, reject) => {
    let head = '';
    client.child.stdout?.setEncoding('utf8');
    client.child.stdout?.on('data', (d: string) => { // keeps draining the client's output afterwards
      if (head.length > 64) return;
      head += d;
      const id = /^(\d+)\n/.exec(head)?.[1];
      if (id !== undefined) resolve(Number(id));
    });
    void client.done.then((r) => reject(new ArchiverError('EAPPLY', `cannot apply to ${target.host}:${target.port}: the client exited (${r.code}) before it connected: ${r.stderr.trim()}`)));
  });
}

/**
 * The replay tools of one apply, run one after the other with their output appended to the one client's input:
 * `mariadb-binlog FILES` once (files under --out), or one `mariadb-binlog -` per binlog fed from memory.
 */
export class ReplayTools {
  private current: Proc | null = null;
  /** Set by stop(): a feed still running (between two tools, say) starts no other tool. */
  private stopped = false;
  private readonly clientIn: NodeJS.WritableStream;
  private readonly cwd: string;

  constructor(clientIn: NodeJS.WritableStream, cwd: string) {
    this.clientIn = clientIn;
    this.cwd = cwd;
  }

  /** Runs `command args` to its end; `feed` writes its stdin (then closed). Fails with the tool's stderr if it fails. */
  async run(command: string, args: string[], feed?: (stdin: NodeJS.WritableStream) => Promise<void>): Promise<void> {
    if (this.stopped) throw new ArchiverError('EAPPLY', `${command} was not started: the apply was stopped`);
    const tool = run(process.env.BINLOG_TOOL ?? command, args, this.cwd, feed !== undefined);
    this.current = tool;
    tool.child.stdout?.pipe(this.clientIn, { end: false });
    try {
      const fed: { error?: Error } = {};
      if (feed !== undefined && tool.child.stdin !== null) {
        const stdin = tool.child.stdin;
        await feed(stdin).then(() => stdin.end(), (err: unknown) => { fed.error = err instanceof Error ? err : new Error(String(err)); tool.child.kill('SIGKILL'); });
      }
      const r = await tool.done;
      // A tool that failed explains a broken pipe better than the write that hit it.
      if (r.code !== 0 && !(fed.error instanceof ArchiverError)) throw new ArchiverError('EAPPLY', `${command} failed (exit ${r.code}) while replaying: ${r.stderr.trim()}`);
      if (fed.error instanceof ArchiverError) throw fed.error;
      if (fed.error !== undefined) throw new ArchiverError('EAPPLY', `${command} stopped reading the binlog before its end (${fed.error.message})`, { cause: fed.error });
    } finally {
      this.current = null;
    }
  }

  /** Ends the running tool (if any) without letting it finish: nothing more reaches the client from it. */
  async stop(): Promise<void> {
    this.stopped = true;
    const tool = this.current;
    if (tool === null) return;
    tool.child.stdout?.unpipe();
    // Drained, not left paused: a child's 'close' waits for its stdout to end.
    tool.child.stdout?.resume();
    tool.child.kill('SIGKILL');
    await tool.done;
  }
}

/** Writes `chunk` and resolves once the pipe took all of it (the caller may then reuse the buffer). */
export function writeAll(stream: NodeJS.WritableStream, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(chunk, (err) => { if (err === null || err === undefined) resolve(); else reject(err); });
  });
}

/**
 * Runs the replay tools `feed` starts into one client session; fails with the stderr of whichever side failed.
 * When `signal` aborts or the feed fails (a frame that no longer verifies, a tool that fails), the tool stops,
 * the client's session is ended on the server (session-stop.ts: its open transaction rolls back) and the client
 * stopped; an interruption then says whether the server's state stands still.
 */
export async function applyThroughClient(options: { flavor: 'mysql' | 'mariadb'; dir: string; target: ApplyTarget; signal?: AbortSignal; feed: (tools: ReplayTools) => Promise<void> }): Promise<void> {
  throwIfInterrupted(options.signal);
  const { target, signal } = options;
  const optionDir = writeOptionFile(target);
  try {
    // --unbuffered: the client flushes its output after each statement, so its connection id reaches us at once.
    const clientArgs = [`--defaults-extra-file=${path.join(optionDir, 'client.cnf')}`, '--batch', '--skip-column-names', '--unbuffered'];
    const client = run(process.env.MYSQL_CLIENT_BIN ?? clientFor(options.flavor), clientArgs, options.dir, true);
    client.child.stdin?.write('SELECT CONNECTION_ID();\n');
    const id = await untilInterrupted(connectionId(client, target), signal).catch(async (err: unknown) => {
      client.child.kill('SIGTERM'); // nothing of the replay was sent to it
      await client.done;
      throw err;
    });
    fs.rmSync(optionDir, { recursive: true, force: true }); // the client has read it
    const tools = new ReplayTools(client.child.stdin!, options.dir);
    const fed = options.feed(tools).then(() => { client.child.stdin?.end(); });
    // A client that fails stops reading: the tool feeding it would block, so its failure ends the feed at once.
    const applied = client.done.then((a) => {
      if (a.code !== 0) {
        throw new ArchiverError('EAPPLY', `applying to ${target.host}:${target.port} failed (exit ${a.code}): ${a.stderr.trim()}`, {
          hint: 'the server may now hold part of the replay: restore its base backup again before retrying',
        });
      }
    });
    await untilInterrupted(Promise.all([fed, applied]), signal).catch(async (err: unknown) => {
      throw await stopApply(err, { tools, client, id, target, fed });
    });
  } finally {
    fs.rmSync(optionDir, { recursive: true, force: true });
  }
}

/** `replay | client` over the files in `dir`: the replay command as replay.sh runs it. */
export function applyReplay(options: { flavor: 'mysql' | 'mariadb'; command: string[]; dir: string; target: ApplyTarget; signal?: AbortSignal }): Promise<void> {
  const [tool = '', ...args] = options.command;
  return applyThroughClient({ ...options, feed: (tools) => tools.run(tool, args) });
}

/** Stops a failed or interrupted apply: nothing more is fed to the client, its session ends on the server, both processes end. */
async function stopApply(err: unknown, p: { tools: ReplayTools; client: Proc; id: number; target: ApplyTarget; fed: Promise<void> }): Promise<unknown> {
  await p.tools.stop();
  // The feed ends too (its tool is gone, it starts no other): nothing of this apply keeps running after it.
  await p.fed.catch(() => undefined);
  const problem = await killSession(p.target, p.id);
  p.client.child.kill('SIGTERM');
  await p.client.done;
  if (!(err instanceof ArchiverError) || err.code !== 'EINTERRUPTED') return err;
  return new ArchiverError('EINTERRUPTED', `${err.message} while the target applied it: ${problem ?? `the client was stopped and its session ${p.id} ended on the server`}`, {
    cause: err,
    hint: 'the server holds part of the restore: continue with --from-gtid set to the position named, or restore its base backup again (or use a fresh server) and run the same restore again',
    context: { sessionEnded: problem === null },
  });
}
