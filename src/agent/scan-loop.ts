/**
 * Runs the directory scan when something may have changed: on fs.watch events (at most one scan per minGapMs,
 * however fast the server writes) and every rescanIntervalMs regardless, because inotify is silent on NFS, many
 * CSI and FUSE volumes, and when the watch limit is exhausted. Scans never overlap; a request during a scan
 * runs one more right after it.
 */
import fs from 'node:fs';
import type { Logger } from '../logger.ts';

export interface ScanLoopOptions {
  dir: string;
  rescanIntervalMs: number;
  minGapMs: number;
  /** Use fs.watch in addition to the periodic rescan (tests turn it off to prove the rescan alone suffices). */
  watch: boolean;
  scan: () => Promise<void>;
  logger: Logger;
}

export class ScanLoop {
  readonly #o: ScanLoopOptions;
  #watcher: fs.FSWatcher | null = null;
  #interval: NodeJS.Timeout | null = null;
  #delay: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #pending = false;
  #lastStart = 0;
  #stopped = false;
  #lastError: string | null = null;

  constructor(options: ScanLoopOptions) {
    this.#o = options;
  }

  /** Starts watching and rescanning; resolves once the first scan has run (whether or not it succeeded). */
  async start(): Promise<void> {
    if (this.#o.watch) this.#startWatch();
    this.#interval = setInterval(() => this.request(), this.#o.rescanIntervalMs);
    this.#run();
    await this.#running;
  }

  #startWatch(): void {
    try {
      this.#watcher = fs.watch(this.#o.dir, { persistent: false }, () => this.request());
      this.#watcher.on('error', (err) => {
        this.#o.logger.log('warn', 'Binlog directory watch failed; relying on the periodic rescan', { error: err.message, rescanIntervalMs: this.#o.rescanIntervalMs });
        this.#watcher?.close();
        this.#watcher = null;
      });
    } catch (err) {
      this.#o.logger.log('warn', 'Cannot watch the binlog directory; relying on the periodic rescan', { error: (err as Error).message, rescanIntervalMs: this.#o.rescanIntervalMs });
    }
  }

  /** Asks for a scan soon: now if the last one started long enough ago, else after the gap. */
  request(): void {
    if (this.#stopped) return;
    if (this.#running !== null) {
      this.#pending = true;
      return;
    }
    if (this.#delay !== null) return;
    const wait = Math.max(0, this.#lastStart + this.#o.minGapMs - Date.now());
    this.#delay = setTimeout(() => {
      this.#delay = null;
      this.#run();
    }, wait);
  }

  #run(): void {
    if (this.#stopped) return;
    this.#lastStart = Date.now();
    this.#pending = false;
    this.#running = this.#o.scan().then(() => {
      if (this.#lastError !== null) this.#o.logger.log('info', 'Binlog directory scan recovered', { binlogDir: this.#o.dir });
      this.#lastError = null;
    }, (err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      // One line per distinct failure, not one every few seconds while it lasts.
      if (message !== this.#lastError) this.#o.logger.log('warn', 'Binlog directory scan failed', { binlogDir: this.#o.dir, error: message });
      this.#lastError = message;
    }).finally(() => {
      this.#running = null;
      if (this.#pending) this.request();
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#watcher?.close();
    if (this.#interval !== null) clearInterval(this.#interval);
    if (this.#delay !== null) clearTimeout(this.#delay);
    await this.#running;
  }
}
