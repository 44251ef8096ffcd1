/**
 * Runs one fuzz target for a bounded time or number of cases in a worker thread (worker.ts), with a watchdog:
 * a case that does not finish within the case timeout is a hang; the worker is terminated, the case's files
 * kept as a reproducer, and a new worker goes on with the next case. Counts every verdict.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { writeReproducer } from './outcome.ts';
import type { WorkerInput, WorkerMessage } from './worker.ts';

export type TargetName = 'reader' | 'objects';

export const TARGET_MODULES: Record<TargetName, URL> = {
  reader: new URL('./reader.ts', import.meta.url),
  objects: new URL('./objects.ts', import.meta.url),
};

export interface RunOptions {
  target: TargetName;
  /** Another target module (its `createTarget`), in place of the named target's: the fuzzer's own tests. */
  module?: URL;
  seed: number;
  /** Wall-clock bound for the target (cases already started finish). */
  seconds: number;
  /** Case numbers run: firstCase .. firstCase+maxCases-1, or fewer when time runs out. */
  firstCase: number;
  maxCases: number;
  caseTimeoutMs: number;
  cliEvery: number;
  outDir: string;
  /** Called after every case (progress display). */
  onCase?: (counts: TargetCounts) => void;
}

export interface Finding {
  index: number;
  verdict: string;
  cls: string;
  reproducer: string | null;
}

export interface TargetCounts {
  target: TargetName;
  seed: number;
  runs: number;
  refused: number;
  /** Mutations accepted where that is allowed (the reader accepting a still well-formed binlog). */
  accepted: number;
  /** Mutations that changed nothing (counted in runs, not judged). */
  unchanged: number;
  crashes: number;
  hangs: number;
  /** Mutations that had to be refused and were accepted (forged object or entry; wrong or escaped restore). */
  forgeries: number;
  findings: Finding[];
  seconds: number;
}

/** How long a worker may take to build its target (the objects target archives a few binlogs first). */
const SETUP_TIMEOUT_MS = 180_000;

function record(counts: TargetCounts, f: Finding): void {
  counts.runs += 1;
  if (f.verdict === 'refused') counts.refused += 1;
  else if (f.verdict === 'accepted') counts.accepted += 1;
  else if (f.verdict === 'unchanged') counts.unchanged += 1;
  else if (f.verdict === 'crash') counts.crashes += 1;
  else if (f.verdict === 'hang') counts.hangs += 1;
  else if (f.verdict === 'forgery') counts.forgeries += 1;
  if (f.verdict === 'crash' || f.verdict === 'hang' || f.verdict === 'forgery') counts.findings.push(f);
}

/** Runs one worker from case `from`; resolves with the case to continue from (after a hang or crash, the next). */
function runWorker(o: RunOptions, input: WorkerInput, counts: TargetCounts): Promise<number> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: input, resourceLimits: { maxOldGenerationSizeMb: 1024 } });
    let current: Extract<WorkerMessage, { type: 'start' }> | null = null;
    let ready = false;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (next: number | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate().then(() => (next instanceof Error ? reject(next) : resolve(next)));
    };
    /** The case in progress failed in a way only the runner sees (timeout, uncaught error, exit). */
    const lose = (verdict: 'hang' | 'crash', cls: string, detail: string): void => {
      if (settled) return; // the exit that follows a terminate, or an error already counted
      if (current === null) {
        finish(new Error(`fuzz ${o.target}: the worker failed ${ready ? 'between cases' : 'while setting up'}: ${detail}`));
        return;
      }
      const c = current;
      const reproducer = writeReproducer(o.outDir, { target: o.target, seed: o.seed, index: c.index, steps: c.steps }, { verdict, cls, detail }, c.dir, c.rerun);
      fs.rmSync(c.dir, { recursive: true, force: true });
      record(counts, { index: c.index, verdict, cls, reproducer });
      o.onCase?.(counts);
      finish(c.index + 1);
    };
    const arm = (ms: number): void => {
      clearTimeout(timer);
      timer = setTimeout(() => lose('hang', 'timeout', `no result within ${ms} ms`), ms);
    };
    arm(SETUP_TIMEOUT_MS);
    worker.on('message', (m: WorkerMessage) => {
      switch (m.type) {
        case 'ready':
          ready = true;
          arm(o.caseTimeoutMs); // preparing the first case
          break;
        case 'start':
          current = m;
          arm(o.caseTimeoutMs * m.stages);
          break;
        case 'done':
          current = null;
          record(counts, { index: m.index, verdict: m.verdict, cls: m.cls, reproducer: m.reproducer });
          o.onCase?.(counts);
          arm(o.caseTimeoutMs); // preparing the next case
          break;
        case 'end':
          finish(m.next);
      }
    });
    worker.on('error', (err: Error) => lose('crash', `uncaught ${err.name}`, err.stack ?? err.message));
    worker.on('exit', (code) => lose('crash', 'worker exit', `the worker exited with code ${code}`));
  });
}

export async function runTarget(o: RunOptions): Promise<TargetCounts> {
  const started = Date.now();
  const counts: TargetCounts = { target: o.target, seed: o.seed, runs: 0, refused: 0, accepted: 0, unchanged: 0, crashes: 0, hangs: 0, forgeries: 0, findings: [], seconds: 0 };
  const deadline = started + o.seconds * 1000;
  const to = o.firstCase + o.maxCases;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `blarc-fuzz-${o.target}-`));
  try {
    for (let from = o.firstCase; from < to && Date.now() < deadline;) {
      const input: WorkerInput = { target: o.target, module: (o.module ?? TARGET_MODULES[o.target]).href, seed: o.seed, from, to, deadline, caseTimeoutMs: o.caseTimeoutMs, cliEvery: o.cliEvery, work, outDir: o.outDir };
      from = await runWorker(o, input, counts);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  counts.seconds = (Date.now() - started) / 1000;
  return counts;
}

/** One line per failure class: how many cases fell in it and the first one's reproducer. */
export function describeFindings(c: TargetCounts): string[] {
  const classes = new Map<string, { n: number; first: string }>();
  for (const f of c.findings) {
    const key = `${f.verdict} ${f.cls}`;
    const seen = classes.get(key);
    if (seen === undefined) classes.set(key, { n: 1, first: f.reproducer ?? `case ${f.index}` });
    else seen.n += 1;
  }
  return [...classes].map(([key, v]) => `  ${v.n} x ${key}\n      first: ${v.first}`);
}

export function summaryLine(c: TargetCounts): string {
  return `${c.target}: seed ${c.seed}: runs ${c.runs}, crashes ${c.crashes}, hangs ${c.hangs}, accepted forgeries ${c.forgeries}, ` +
    `refused ${c.refused}, accepted (allowed) ${c.accepted}, unchanged ${c.unchanged}, ${c.seconds.toFixed(1)} s`;
}
