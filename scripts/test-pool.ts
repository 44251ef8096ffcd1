/**
 * Runs test files a few at a time, each in its own `node --test` process with its own TMPDIR (removed when the file
 * ends, so nothing a test forgets is left in /tmp), never two files that claim the same resource together. A file's
 * output is printed whole when it ends, so concurrent files do not interleave; the totals come from a TAP copy.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../testenv/versions.ts';
import { failureDigest } from './test-failures.ts';
import { canStart, type TestFile } from './test-plan.ts';
import { sweep } from './test-sweep.ts';

const umountLazily = (target: string): Promise<void> => new Promise((resolve, reject) => {
  execFile('umount', ['-l', target], (err, _out, stderr) => (err === null ? resolve() : reject(new Error(stderr.trim() || err.message))));
});

export interface FileResult { file: string; ms: number; ok: boolean; counts: Record<string, number>; failures: string[] }
export interface PoolOptions { concurrency: number; fileTimeoutMs: number; env: NodeJS.ProcessEnv }

const COUNTS = ['tests', 'pass', 'fail', 'skipped', 'todo', 'cancelled'] as const;

function readTap(tapFile: string): string {
  return fs.existsSync(tapFile) ? fs.readFileSync(tapFile, 'utf8') : '';
}

function tapCounts(text: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of COUNTS) {
    const m = new RegExp(`^# ${name} (\\d+)$`, 'm').exec(text);
    counts[name] = m === null ? 0 : Number(m[1]);
  }
  return counts;
}

function removeQuietly(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch (err) {
    process.stdout.write(`npm test: could not remove ${dir}: ${(err as Error).message}\n`);
  }
}

class Pool {
  readonly #running = new Map<TestFile, { pid: number }>();
  readonly #results: FileResult[] = [];
  // Traversable by all: tests run commands and servers as unprivileged users on files under it.
  readonly #runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-'));
  #seq = 0;
  #stopped = false;

  readonly pending: TestFile[];
  readonly opts: PoolOptions;

  constructor(pending: TestFile[], opts: PoolOptions) {
    fs.chmodSync(this.#runDir, 0o755);
    this.pending = pending;
    this.opts = opts;
  }

  run(): Promise<FileResult[]> {
    const stop = (signal: NodeJS.Signals): void => {
      this.#stopped = true;
      for (const { pid } of this.#running.values()) {
        try { process.kill(-pid, 'SIGTERM'); } catch { /* already gone */ }
      }
      process.stdout.write(`npm test: ${signal}: stopping ${this.#running.size} running test file(s)\n`);
    };
    process.once('SIGINT', stop).once('SIGTERM', stop);
    return new Promise((resolve) => {
      const next = (): void => {
        if (!this.#stopped) this.#startWhatFits(next);
        if (this.#running.size === 0 && (this.pending.length === 0 || this.#stopped)) {
          removeQuietly(this.#runDir);
          resolve(this.#results);
        }
      };
      next();
    });
  }

  #startWhatFits(onDone: () => void): void {
    for (let i = 0; i < this.pending.length && this.#running.size < this.opts.concurrency;) {
      const candidate = this.pending[i]!;
      if (!canStart(candidate, this.#running.keys())) { i++; continue; }
      this.pending.splice(i, 1);
      this.#start(candidate, onDone);
    }
  }

  #start(test: TestFile, onDone: () => void): void {
    const dir = path.join(this.#runDir, String(++this.#seq));
    const tmp = path.join(dir, 'tmp');
    fs.mkdirSync(tmp, { recursive: true, mode: 0o755 });
    fs.chmodSync(tmp, 0o1777); // like /tmp: servers and Pods running as other users make their directories here
    const log = fs.openSync(path.join(dir, 'log'), 'w');
    const tap = path.join(dir, 'result.tap');
    const args = ['--test', '--test-reporter=spec', '--test-reporter-destination=stdout',
      '--test-reporter=tap', `--test-reporter-destination=${tap}`, test.file];
    const started = Date.now();
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT, detached: true, stdio: ['ignore', log, log], env: { ...this.opts.env, TMPDIR: tmp },
    });
    fs.closeSync(log);
    this.#running.set(test, { pid: child.pid! });
    const timer = setTimeout(() => {
      fs.appendFileSync(path.join(dir, 'log'), `npm test: ${path.relative(REPO_ROOT, test.file)} ran over ${this.opts.fileTimeoutMs / 60_000} min; killed\n`);
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
    }, this.opts.fileTimeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const ms = Date.now() - started;
      void this.#finish(test, dir, ms, code === 0).finally(() => {
        this.#running.delete(test); // only now: what it left could still hold a resource another file claims
        onDone();
      });
    });
  }

  async #finish(test: TestFile, dir: string, ms: number, ok: boolean): Promise<void> {
    const tap = readTap(path.join(dir, 'result.tap'));
    const counts = tapCounts(tap);
    const rel = path.relative(REPO_ROOT, test.file);
    const swept = await sweep(dir, umountLazily).catch((err: unknown) => [`sweep failed: ${String(err)}`]);
    process.stdout.write(`\n▶ ${rel} (${(ms / 1000).toFixed(1)} s, ${ok ? 'ok' : 'FAILED'})\n`);
    process.stdout.write(fs.readFileSync(path.join(dir, 'log')));
    for (const line of swept) process.stdout.write(`npm test: after ${rel}: ${line}\n`);
    this.#results.push({ file: test.file, ms, ok, counts, failures: ok ? [] : failureDigest(tap, rel) });
    removeQuietly(dir);
  }
}

export function runPool(files: TestFile[], opts: PoolOptions): Promise<FileResult[]> {
  return new Pool([...files], opts).run();
}

const DETAILED_FILES = 8;

export function summarize(results: FileResult[], wallMs: number, concurrency: number): string {
  const total = (name: string): number => results.reduce((n, r) => n + (r.counts[name] ?? 0), 0);
  // Why each failed, for the first few files: when many fail at once (the environment went down), their names are enough.
  const failed = results.filter((r) => !r.ok).flatMap((r, i) => [`  ${path.relative(REPO_ROOT, r.file)}`, ...(i < DETAILED_FILES ? r.failures.map((l) => `  ${l}`) : [])]);
  return [
    `\nnpm test: ${results.length} files, ${total('tests')} tests: ${total('pass')} passed, ${total('fail')} failed, `
      + `${total('skipped')} skipped, ${total('cancelled')} cancelled, ${total('todo')} todo; `
      + `${(wallMs / 1000).toFixed(0)} s wall, ${concurrency} files at a time`,
    ...(failed.length === 0 ? [] : ['failed files:', ...failed]),
  ].join('\n') + '\n';
}
