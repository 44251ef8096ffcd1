/** Kills a real CLI run part-way: for the SIGKILL-then-rerun tests of every store. */
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN } from './cli.ts';

/**
 * Runs `binlog-archiver ARGS` in a child and SIGKILLs it as soon as `progress()` (polled, e.g. parts or chunks
 * the store holds) reaches `atLeast`; returns the last value seen. Fails if the run never got that far.
 */
export async function killCliWhen(args: string[], env: NodeJS.ProcessEnv, progress: () => Promise<number>, atLeast: number, timeoutMs = 120_000): Promise<number> {
  let child: ChildProcess | undefined;
  let seen = 0;
  try {
    child = spawn(process.execPath, [BIN, ...args], { env, stdio: 'ignore' });
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && seen < atLeast && child.exitCode === null) {
      seen = await progress();
      if (seen < atLeast) await sleep(50);
    }
    if (seen < atLeast) throw new Error(`the run never got to ${atLeast} (saw ${seen}; exit code ${String(child.exitCode)})`);
    child.kill('SIGKILL');
    await exited;
    return seen;
  } finally {
    child?.kill('SIGKILL');
  }
}
