/**
 * Applying a restore to a server in a single session: the replay command's output piped into one client
 * connection. Credentials come from files (mounted Secrets) and reach the client through a 0600 option file
 * that is removed afterwards, never through argv or the environment.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArchiverError } from '../errors.ts';
import { replayClient } from './replay-script.ts';

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

function run(command: string, args: string[], options: { cwd: string; stdin?: NodeJS.ReadableStream }): { child: ReturnType<typeof spawn>; done: Promise<{ code: number; stderr: string }> } {
  const child = spawn(command, args, { cwd: options.cwd, stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
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

/** Runs `replay | client`; fails with the stderr of whichever side failed. */
export async function applyReplay(options: { flavor: 'mysql' | 'mariadb'; command: string[]; dir: string; target: ApplyTarget }): Promise<void> {
  const user = readCredential(options.target.userFile, 'user');
  const password = readCredential(options.target.passwordFile, 'password');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'blarc-apply-'));
  const optionFile = path.join(tmp, 'client.cnf');
  fs.writeFileSync(optionFile, `[client]\nhost=${options.target.host}\nport=${options.target.port}\nuser=${user}\npassword=${password}\nprotocol=TCP\n`, { mode: 0o600 });
  try {
    const [tool = '', ...args] = options.command;
    const client = replayClient(options.command);
    const replay = run(process.env.BINLOG_TOOL ?? tool, args, { cwd: options.dir });
    const apply = run(process.env.MYSQL_CLIENT_BIN ?? client, [`--defaults-extra-file=${optionFile}`, '--batch'], { cwd: options.dir, stdin: replay.child.stdout ?? undefined });
    if (replay.child.stdout !== null && apply.child.stdin !== null) replay.child.stdout.pipe(apply.child.stdin);
    const [r, a] = await Promise.all([replay.done, apply.done]);
    if (r.code !== 0) throw new ArchiverError('EAPPLY', `${tool} failed (exit ${r.code}) while replaying: ${r.stderr.trim()}`);
    if (a.code !== 0) {
      throw new ArchiverError('EAPPLY', `applying to ${options.target.host}:${options.target.port} failed (exit ${a.code}): ${a.stderr.trim()}`, {
        hint: 'the server may now hold part of the replay: restore its base backup again before retrying',
      });
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
