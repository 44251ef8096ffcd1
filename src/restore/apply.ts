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
import { replayClient } from './replay-script.ts';
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
 * Runs `replay | client`; fails with the stderr of whichever side failed. When `signal` aborts, the replay stops,
 * the client's session is ended on the server (session-stop.ts) and the client stopped, then the interruption is
 * thrown, saying whether the server's state now stands still.
 */
export async function applyReplay(options: { flavor: 'mysql' | 'mariadb'; command: string[]; dir: string; target: ApplyTarget; signal?: AbortSignal }): Promise<void> {
  throwIfInterrupted(options.signal);
  const { target, signal } = options;
  const optionDir = writeOptionFile(target);
  try {
    const [tool = '', ...args] = options.command;
    // --unbuffered: the client flushes its output after each statement, so its connection id reaches us at once.
    const clientArgs = [`--defaults-extra-file=${path.join(optionDir, 'client.cnf')}`, '--batch', '--skip-column-names', '--unbuffered'];
    const client = run(process.env.MYSQL_CLIENT_BIN ?? replayClient(options.command), clientArgs, options.dir, true);
    client.child.stdin?.write('SELECT CONNECTION_ID();\n');
    const id = await untilInterrupted(connectionId(client, target), signal).catch(async (err: unknown) => {
      client.child.kill('SIGTERM'); // nothing of the replay was sent to it
      await client.done;
      throw err;
    });
    fs.rmSync(optionDir, { recursive: true, force: true }); // the client has read it
    const replay = run(process.env.BINLOG_TOOL ?? tool, args, options.dir, false);
    if (replay.child.stdout !== null && client.child.stdin !== null) replay.child.stdout.pipe(client.child.stdin);
    const [r, a] = await untilInterrupted(Promise.all([replay.done, client.done]), signal).catch(async (err: unknown) => {
      throw await stopApply(err, { replay, client, id, target });
    });
    if (r.code !== 0) throw new ArchiverError('EAPPLY', `${tool} failed (exit ${r.code}) while replaying: ${r.stderr.trim()}`);
    if (a.code !== 0) {
      throw new ArchiverError('EAPPLY', `applying to ${target.host}:${target.port} failed (exit ${a.code}): ${a.stderr.trim()}`, {
        hint: 'the server may now hold part of the replay: restore its base backup again before retrying',
      });
    }
  } finally {
    fs.rmSync(optionDir, { recursive: true, force: true });
  }
}

/** Stops an interrupted apply: nothing more is fed to the client, its session ends on the server, both processes end. */
async function stopApply(err: unknown, p: { replay: Proc; client: Proc; id: number; target: ApplyTarget }): Promise<unknown> {
  if (!(err instanceof ArchiverError) || err.code !== 'EINTERRUPTED') return err;
  if (p.client.child.stdin !== null) p.replay.child.stdout?.unpipe(p.client.child.stdin);
  p.replay.child.kill('SIGTERM');
  const problem = await killSession(p.target, p.id);
  p.client.child.kill('SIGTERM');
  await Promise.all([p.replay.done, p.client.done]);
  return new ArchiverError('EINTERRUPTED', `${err.message} while the target applied it: ${problem ?? `the client was stopped and its session ${p.id} ended on the server`}`, {
    cause: err,
    hint: 'the server holds part of the restore: continue with --from-gtid set to the position named, or restore its base backup again (or use a fresh server) and run the same restore again',
    context: { sessionEnded: problem === null },
  });
}
