/**
 * The optional RPO bound: once the active binlog holds a transaction older than the rotate interval, FLUSH BINARY
 * LOGS closes it so it can be archived. An idle server is never rotated (no empty binlogs every interval), and the
 * clock starts at the first write, not when the file was opened, so one write after an hour of quiet does not
 * rotate at once.
 */
import type { Logger } from '../logger.ts';
import { firstWrite } from './first-write.ts';
import type { Scan } from './scan.ts';

export interface RotatorOptions {
  intervalMs: number;
  retryMs: number;
  flush: () => Promise<void>;
  /** Called after a successful FLUSH so the new binlog is reported without waiting for the next scan. */
  onRotated: () => void;
  logger: Logger;
  logFailure: (err: unknown) => Record<string, unknown>;
}

interface Tracked {
  name: string;
  /** Epoch ms of the first transaction, once known. */
  firstWriteAtMs: number | null;
  /** Size when the file was last read for its first write (re-read only when it grew). */
  checkedSize: number;
  /** For files whose events cannot be read (encrypted): the size when first seen; growth beyond it is a write. */
  baselineSize: number;
}

export class Rotator {
  readonly #o: RotatorOptions;
  #tracked: Tracked | null = null;
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;
  #stopped = false;

  constructor(options: RotatorOptions) {
    this.#o = options;
  }

  /** Called after every scan. */
  async observe(scan: Scan): Promise<void> {
    if (this.#stopped) return;
    const active = scan.binlogs.find((b) => b.name === scan.active && !b.closed);
    if (active === undefined) return this.#reset(null);
    if (this.#tracked?.name !== active.name) this.#reset({ name: active.name, firstWriteAtMs: null, checkedSize: -1, baselineSize: active.size });
    const t = this.#tracked as Tracked;
    if (t.firstWriteAtMs === null && active.size !== t.checkedSize) {
      t.checkedSize = active.size;
      let found: Awaited<ReturnType<typeof firstWrite>>;
      try {
        found = await firstWrite(active.path);
      } catch (err) {
        // Rotated or purged between the scan and this read: the next scan tracks the new active binlog.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      if (this.#tracked !== t) return;
      if (found.kind === 'written') t.firstWriteAtMs = found.atMs;
      else if (found.kind === 'unknown' && active.size > t.baselineSize) t.firstWriteAtMs = Date.now();
      if (t.firstWriteAtMs !== null) {
        this.#o.logger.log('debug', 'Active binlog has writes', { binlog: t.name, firstWrite: new Date(t.firstWriteAtMs).toISOString() });
        this.#schedule(t.firstWriteAtMs + this.#o.intervalMs - Date.now());
      }
    }
  }

  #reset(next: Tracked | null): void {
    this.#tracked = next;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(delayMs: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#flushing = this.#fire();
    }, Math.max(0, delayMs));
  }

  async #fire(): Promise<void> {
    const t = this.#tracked;
    if (this.#stopped || t === null || t.firstWriteAtMs === null) return;
    const ageSeconds = Math.round((Date.now() - t.firstWriteAtMs) / 1000);
    try {
      await this.#o.flush();
      this.#o.logger.log('info', 'Rotated binlog', { binlog: t.name, reason: 'RPO', oldestWriteAgeSeconds: ageSeconds, rotateIntervalSeconds: this.#o.intervalMs / 1000 });
      this.#o.onRotated();
      // The scan that follows tracks the new binlog; should it still see this one, do not flush again at once.
      if (this.#tracked === t) this.#schedule(this.#o.intervalMs);
    } catch (err) {
      this.#o.logger.log('warn', 'FLUSH BINARY LOGS failed; will retry', { binlog: t.name, retryInMs: this.#o.retryMs, ...this.#o.logFailure(err) });
      if (this.#tracked === t) this.#schedule(this.#o.retryMs);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#reset(null);
    await this.#flushing;
  }
}
