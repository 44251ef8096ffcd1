/**
 * One command timed from outside, as a user would see it: wall time from spawn to exit, CPU time (user + sys)
 * and peak RSS from wait4 (GNU time), which cover every thread of the process and every child it waited for
 * (a shell pipeline's processes included).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Timed { ms: number; cpuMs: number; maxRssKiB: number }

const TIME = '/usr/bin/time';

export function timed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Timed {
  if (!fs.existsSync(TIME)) throw new Error(`${TIME} (GNU time) is needed to measure CPU time and peak RSS: apt-get install time`);
  const out = path.join(os.tmpdir(), `blarc-timed-${process.pid}`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(TIME, ['-o', out, '-f', '%U %S %M', command, ...args], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${String(r.status)})`);
  const [user, sys, rss] = fs.readFileSync(out, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  fs.rmSync(out, { force: true });
  return { ms, cpuMs: ((user ?? NaN) + (sys ?? NaN)) * 1000, maxRssKiB: rss ?? NaN };
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
