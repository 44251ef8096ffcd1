/**
 * The fuzz worker thread: builds one target, then prepares and runs cases `from`.. until `to` or the deadline,
 * telling the runner (runner.ts) before each case starts and when it is done. It runs in a thread so that the
 * runner can time out and terminate a case that hangs, even one spinning in a synchronous loop.
 */
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { FAILURES, type FuzzTarget, type TargetContext, writeReproducer } from './outcome.ts';

export interface WorkerInput {
  /** The target's name, for reports. */
  target: string;
  /** URL of the module whose `createTarget(ctx)` builds the target. */
  module: string;
  seed: number;
  from: number;
  to: number;
  deadline: number;
  caseTimeoutMs: number;
  cliEvery: number;
  work: string;
  outDir: string;
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'start'; index: number; dir: string; steps: string[]; rerun: string[]; stages: number }
  | { type: 'done'; index: number; verdict: string; cls: string; reproducer: string | null }
  | { type: 'end'; next: number };

async function makeTarget(input: WorkerInput, ctx: TargetContext): Promise<FuzzTarget> {
  const mod = (await import(input.module)) as { createTarget: (ctx: TargetContext) => FuzzTarget | Promise<FuzzTarget> };
  return mod.createTarget(ctx);
}

async function main(input: WorkerInput): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('scripts/fuzz/worker.ts runs only as a worker thread of scripts/fuzz/runner.ts');
  const post = (m: WorkerMessage): void => port.postMessage(m);
  const target = await makeTarget(input, { seed: input.seed, work: input.work, caseTimeoutMs: input.caseTimeoutMs, cliEvery: input.cliEvery });
  post({ type: 'ready' });
  let index = input.from;
  for (; index < input.to && Date.now() < input.deadline; index++) {
    const c = await target.prepare(index);
    post({ type: 'start', index, dir: c.dir, steps: c.steps, rerun: c.rerun, stages: c.stages ?? 1 });
    const result = await c.run();
    const reproducer = FAILURES.has(result.verdict)
      ? writeReproducer(input.outDir, { target: input.target, seed: input.seed, index, steps: c.steps }, result, c.dir, c.rerun)
      : null;
    fs.rmSync(c.dir, { recursive: true, force: true });
    post({ type: 'done', index, verdict: result.verdict, cls: result.cls, reproducer });
  }
  post({ type: 'end', next: index });
}

await main(workerData as WorkerInput);
