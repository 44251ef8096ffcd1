/**
 * The state the agent reports, and its generation: a counter that moves exactly when an answer would differ in
 * something the controller acts on, so a long-poll can wait for "anything new" without comparing lists.
 */
import { randomBytes } from 'node:crypto';
import type { AgentState } from './contract.ts';
import type { Scan } from './scan.ts';

export class StateStore {
  readonly binlogDir: string;
  readonly instance = randomBytes(8).toString('hex');
  #generation = 0;
  #scan: Scan | null = null;
  #expireLogsSeconds: number | null;
  #fingerprint = '';
  readonly #listeners = new Set<() => void>();

  constructor(binlogDir: string, expireLogsSeconds: number | null) {
    this.binlogDir = binlogDir;
    this.#expireLogsSeconds = expireLogsSeconds;
  }

  get generation(): number {
    return this.#generation;
  }

  /** True once a scan succeeded: before that there is nothing true to report. */
  get ready(): boolean {
    return this.#scan !== null;
  }

  get scan(): Scan | null {
    return this.#scan;
  }

  get expireLogsSeconds(): number | null {
    return this.#expireLogsSeconds;
  }

  /** Records a scan; returns true when the generation moved. */
  setScan(scan: Scan): boolean {
    this.#scan = scan;
    return this.#bumpIfChanged();
  }

  setExpireLogsSeconds(seconds: number | null): boolean {
    this.#expireLogsSeconds = seconds;
    return this.#bumpIfChanged();
  }

  /** Calls `fn` after every generation change; returns the unsubscribe function. */
  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => void this.#listeners.delete(fn);
  }

  #bumpIfChanged(): boolean {
    if (this.#scan === null) return false;
    const fingerprint = JSON.stringify([this.#scan.fingerprint, this.#expireLogsSeconds]);
    if (fingerprint === this.#fingerprint) return false;
    this.#fingerprint = fingerprint;
    this.#generation += 1;
    for (const fn of [...this.#listeners]) fn();
    return true;
  }

  /** The answer to GET /v1/state; call only when `ready`. */
  snapshot(now: Date): AgentState {
    const scan = this.#scan;
    return {
      generation: this.#generation,
      instance: this.instance,
      binlogDir: this.binlogDir,
      active: scan?.active ?? null,
      binlogs: (scan?.binlogs ?? []).map((b) => ({ name: b.name, sequence: b.sequence, size: b.size, mtime: b.mtime, closed: b.closed })),
      truncated: scan?.truncated ?? false,
      total: scan?.total ?? 0,
      expireLogsSeconds: this.#expireLogsSeconds,
      now: now.toISOString(),
    };
  }
}
