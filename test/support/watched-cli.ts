/**
 * The CLI run in a directory of its own (its working and temporary directory), with every file that appears
 * there recorded while it runs: how the restore tests show that nothing is written where a restore runs.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './testenv.ts';

export interface WatchedRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Files seen under the directory while it ran or after (Node's compile cache aside), and any holding the marker. */
  seen: string[];
}

/** Every file under `dir`; a directory the CLI removes while it is being listed is skipped, not an error. */
function files(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries.flatMap((d) => (d.isDirectory() ? files(path.join(dir, d.name)) : d.isFile() ? [path.join(dir, d.name)] : []));
}

/**
 * Files under `dir`, but Node's compile cache: bin/binlog-archiver.js keeps V8 code caches of our own modules
 * under the temporary directory. Those are searched for the marker after the run, with every other file.
 */
export function filesUnder(dir: string): string[] {
  return files(dir).filter((f) => !f.split(path.sep).includes('compile-cache'));
}

/**
 * Starts `binlog-archiver ARGS` in `dir` and polls it every `pollMs`; `onPoll` runs at each poll (to send a
 * signal at the right moment). `marker`: bytes of the plaintext (a database name the binlogs hold), looked for in
 * every file under `dir` once the run ended.
 */
export function startWatched(args: string[], dir: string, options: { marker?: string; pollMs?: number; onPoll?: () => void; processGroup?: boolean } = {}): { child: ChildProcessWithoutNullStreams; done: Promise<WatchedRun> } {
  // processGroup: the CLI leads a process group of its own, as a command started from a shell does, so a test can
  // signal the whole group (what Ctrl-C does in a terminal) with process.kill(-child.pid).
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'binlog-archiver.js'), ...args], { cwd: dir, env: { ...process.env, TMPDIR: dir, TMP: dir, TEMP: dir }, detached: options.processGroup ?? false });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const seen = new Set<string>();
  const poll = setInterval(() => {
    for (const f of filesUnder(dir)) seen.add(f);
    options.onPoll?.();
  }, options.pollMs ?? 20);
  const done = new Promise<WatchedRun>((resolve) => {
    child.on('close', (code, signal) => {
      clearInterval(poll);
      for (const f of filesUnder(dir)) seen.add(f);
      const marker = options.marker;
      if (marker !== undefined) for (const f of files(dir)) if (fs.readFileSync(f).includes(marker)) seen.add(f);
      resolve({ code, signal, stdout, stderr, seen: [...seen].map((f) => path.relative(dir, f)) });
    });
  });
  return { child, done };
}
