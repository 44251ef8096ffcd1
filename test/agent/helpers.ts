/**
 * Runs the real `binlog-archiver agent` process for tests: on an ephemeral loopback port, its JSON log lines
 * collected, stopped with SIGTERM (SIGKILL after a bound) by pid, and every process a test started is stopped
 * by `stopAll` even when the test failed.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AgentState } from '../../src/agent/contract.ts';
import { REPO_ROOT } from '../support/testenv.ts';

export const BIN = path.join(REPO_ROOT, 'bin', 'binlog-archiver.js');

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export interface AgentProcess {
  url: string;
  child: ChildProcess;
  logs: LogLine[];
  stderr(): string;
  /** Resolves with the first log line matching, or rejects after timeoutMs. */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM, then the exit code (SIGKILL and a failure if it does not exit within 10 s). */
  stop(): Promise<number | null>;
}

const running = new Set<ChildProcess>();
const dirs: string[] = [];

/** A temporary directory removed by `stopAll`. */
export function agentTempDir(prefix = 'blarc-agent-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export interface Exited {
  code: number | null;
  stderr: string;
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Runs the agent expecting it to fail at startup: its exit code and stderr, within timeoutMs. */
export async function runAgentExpectingExit(args: string[], timeoutMs = 15_000): Promise<Exited> {
  const child = spawn(process.execPath, [BIN, 'agent', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await exitOf(child);
  clearTimeout(timer);
  running.delete(child);
  assert.notEqual(child.signalCode, 'SIGKILL', `agent ${args.join(' ')} did not exit within ${timeoutMs} ms: ${stderr}`);
  return { code, stderr };
}

export async function startAgentProcess(args: string[], timeoutMs = 15_000): Promise<AgentProcess> {
  const child = spawn(process.execPath, [BIN, 'agent', '--listen', '127.0.0.1:0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  const logs: LogLine[] = [];
  let raw = '';
  let partial = '';
  const watchers = new Set<() => void>();
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    raw += d;
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      logs.push(JSON.parse(line) as LogLine);
    }
    for (const w of [...watchers]) w();
  });
  const waitForLog = (pred: (l: LogLine) => boolean, ms = 20_000): Promise<LogLine> => new Promise((resolve, reject) => {
    const check = (): boolean => {
      const hit = logs.find(pred);
      if (hit === undefined) return false;
      cleanup();
      resolve(hit);
      return true;
    };
    const onExit = (): void => {
      if (check()) return;
      cleanup();
      reject(new Error(`agent exited (${String(child.exitCode)}) before the expected log line:\n${raw}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no expected log line within ${ms} ms:\n${raw}`));
    }, ms);
    const cleanup = (): void => {
      clearTimeout(timer);
      watchers.delete(check);
      child.off('exit', onExit);
    };
    if (check()) return;
    watchers.add(check);
    child.once('exit', onExit);
  });
  const started = await waitForLog((l) => l.msg === 'Agent started', timeoutMs);
  const port = /:(\d+)$/.exec(String(started.listen))?.[1];
  assert.ok(port !== undefined, `no port in ${JSON.stringify(started)}`);
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    logs,
    stderr: () => raw,
    waitForLog,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exitOf(child);
      clearTimeout(timer);
      running.delete(child);
      assert.notEqual(child.signalCode, 'SIGKILL', `agent did not stop within 10 s after SIGTERM:\n${raw}`);
      return code;
    },
  };
}

/** For after(): kills whatever a failed test left running, and removes the temporary directories. */
export async function stopAll(): Promise<void> {
  for (const child of [...running]) {
    child.kill('SIGKILL');
    await exitOf(child);
    running.delete(child);
  }
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One GET on its own connection (fetch pools connections; the waiter-cap test needs exactly one per request). */
export function get(url: string, options: { signal?: AbortSignal } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, ...(options.signal === undefined ? {} : { signal: options.signal }) }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

export async function getState(base: string, query = ''): Promise<AgentState> {
  const r = await get(`${base}/v1/state${query}`);
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body) as AgentState;
}

/** Polls the state until `pred` holds; fails after timeoutMs with the last state seen. */
export async function waitForState(base: string, pred: (s: AgentState) => boolean, timeoutMs = 15_000): Promise<AgentState> {
  const deadline = Date.now() + timeoutMs;
  let last: AgentState | undefined;
  while (Date.now() < deadline) {
    last = await getState(base);
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`state did not reach the expected value within ${timeoutMs} ms; last: ${JSON.stringify(last).slice(0, 2000)}`);
}

/** `<base>.000001`-style name. */
export function binlogName(base: string, seq: number): string {
  return `${base}.${String(seq).padStart(6, '0')}`;
}

/** A directory with `count` binlog files (fake bytes: the agent never parses closed files) and an index. */
export function fakeBinlogDir(dir: string, count: number, options: { base?: string; index?: boolean } = {}): string[] {
  const base = options.base ?? 'mysql-bin';
  const names = Array.from({ length: count }, (_, i) => binlogName(base, i + 1));
  names.forEach((n, i) => fs.writeFileSync(path.join(dir, n), Buffer.alloc(100 + i, 1)));
  if (options.index !== false) writeIndex(dir, names, base);
  return names;
}

export function writeIndex(dir: string, names: string[], base = 'mysql-bin'): void {
  // Written beside and renamed, so the agent never reads half an index (a test about that would be another test).
  const tmp = path.join(dir, `${base}.index.tmp`);
  fs.writeFileSync(tmp, names.map((n) => `./${n}\n`).join(''));
  fs.renameSync(tmp, path.join(dir, `${base}.index`));
}
