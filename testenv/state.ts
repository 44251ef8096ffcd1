/** `.testenv/state.json`: the processes `up` started (written as each one starts), read by `down` and `status`. */
import fs from 'node:fs';
import path from 'node:path';
import type { Endpoints } from './context.ts';
import type { NodeRecord } from './node/teardown.ts';

export interface ProcessRecord {
  name: string;
  pid: number;
  exe: string;
  logFile: string;
}

export interface State {
  startedAt: string;
  servers: string[];
  processes: ProcessRecord[];
  /** With the node: what `down` must undo besides the processes (netns, mounts, cgroups, sysctls). */
  node?: NodeRecord;
}

export function statePath(dir: string): string {
  return path.join(dir, 'state.json');
}

export function endpointsPath(dir: string): string {
  return path.join(dir, 'endpoints.json');
}

export function readState(dir: string): State | undefined {
  try {
    return JSON.parse(fs.readFileSync(statePath(dir), 'utf8')) as State;
  } catch {
    return undefined;
  }
}

/** Written to a temp file and renamed, so a reader never sees half a file. */
export function writeJsonAtomic(file: string, value: unknown, mode = 0o600): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode });
  fs.renameSync(tmp, file);
}

export function readEndpoints(dir: string): Partial<Endpoints> | undefined {
  try {
    return JSON.parse(fs.readFileSync(endpointsPath(dir), 'utf8')) as Partial<Endpoints>;
  } catch {
    return undefined;
  }
}
