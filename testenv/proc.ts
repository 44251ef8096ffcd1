/**
 * Starting, watching and stopping server processes. Each server runs detached in its own process group,
 * with its output in a log file, so `down` (another process) can stop exactly what `up` started, by pid.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestenvError } from './errors.ts';

export interface Started {
  name: string;
  pid: number;
  /** The executable, checked against /proc before signalling so a recycled pid is never killed. */
  exe: string;
  logFile: string;
  /** Settles with the exit code if the process ends while this `up` is still running. */
  exited: Promise<number | null>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Keep stdout out of the log (OpenBao dev mode prints its root token there). */
  discardStdout?: boolean;
}

export function startProcess(options: StartOptions): Started {
  if (!fs.existsSync(options.command)) {
    throw new TestenvError(options.name, `${options.command} does not exist`);
  }
  // TESTENV_<NAME>_ARGS appends server options (for debugging, and for the test that a dying server is reported).
  const extra = process.env[`TESTENV_${options.name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_ARGS`];
  const args = extra === undefined || extra.trim() === '' ? options.args : [...options.args, ...extra.trim().split(/\s+/)];
  const log = fs.openSync(options.logFile, 'a');
  const child = spawn(options.command, args, {
    detached: true,
    stdio: ['ignore', options.discardStdout === true ? 'ignore' : log, log],
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  fs.closeSync(log);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal === null ? null : 128)));
    child.once('error', () => resolve(127));
  });
  child.unref();
  if (child.pid === undefined) {
    throw new TestenvError(options.name, `could not start ${options.command}`, { logFile: options.logFile });
  }
  return { name: options.name, pid: child.pid, exe: options.command, logFile: options.logFile, exited };
}

/** Polls `probe` until it returns true; fails fast if the process exits, or after `timeoutMs`. */
export async function waitReady(proc: Started, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  let exitCode: number | null | undefined;
  void proc.exited.then((code) => {
    exitCode = code;
  });
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new TestenvError(proc.name, `exited with code ${String(exitCode)} while starting`, { logFile: proc.logFile });
    }
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(200);
  }
  const why = lastError instanceof Error ? ` (last probe error: ${lastError.message})` : '';
  throw new TestenvError(proc.name, `did not become ready within ${timeoutMs / 1000}s${why}`, { logFile: proc.logFile });
}

/** True if `pid` is alive and still runs `exe` (pids are recycled). */
export function isRunning(pid: number, exe: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const real = fs.realpathSync(exe);
    return cmdline.some((arg) => arg === exe || arg === real) || fs.realpathSync(`/proc/${pid}/exe`) === real;
  } catch {
    return false;
  }
}

/** Stops a process group started by `startProcess`: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(pid: number, exe: string, graceMs = 15_000): Promise<void> {
  if (!isRunning(pid, exe)) return;
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  };
  signalGroup('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(pid, exe)) return;
    await sleep(100);
  }
  signalGroup('SIGKILL');
  while (isRunning(pid, exe)) await sleep(50);
}
