/**
 * Optional store access of the controller (--read-store): the per-source index (index/<source>.json) says what
 * is archived, independently of Job reports, and a listing of the source's objects finds archived binlogs whose
 * object was deleted (the manifest still names them: a restore would fail there, so it counts as a gap).
 * Results are cached per source and refreshed after every Job of the source and at least every checkInterval.
 * The controller uses its own credentials (the SDK's default chain: IRSA, a mounted credentials file).
 */
import { ArchiverError } from '../errors.ts';
import { indexKey } from '../store/layout.ts';
import type { IndexRecord } from '../store/manifest.ts';
import { parseSourceIndex } from '../store/manifest-schema.ts';
import { type ObjectStore, readAll } from '../store/object-store.ts';
import { systemTimers, type Timers } from './clock.ts';

export interface IndexView {
  ok: true;
  entries: IndexRecord[];
  /** Index entries whose archive object is not in the store. */
  missingObjects: string[];
  updatedAt: string | null;
  readAt: number;
}

export interface IndexFailure {
  ok: false;
  message: string;
  readAt: number;
}

export type IndexResult = IndexView | IndexFailure;

export interface StoreReaderOptions {
  /** Re-read a source at least this often (ms). */
  checkIntervalMs: number;
  timers?: Timers;
  /** Opens a store from its URL (tests may wrap it). Default: openStore, loaded on first use (the AWS SDK is large). */
  open?: (url: string) => ObjectStore | Promise<ObjectStore>;
}

/** Extra S3 URL parameters for the controller's reads: fail within seconds, not the archive Jobs' two minutes. */
const READ_PARAMS = 'maxAttempts=3&socketTimeoutMs=10000';

export function readerUrl(storeUrl: string): string {
  if (!storeUrl.startsWith('s3:')) return storeUrl;
  return `${storeUrl}${storeUrl.includes('?') ? '&' : '?'}${READ_PARAMS}`;
}

export class StoreReader {
  readonly #o: StoreReaderOptions;
  readonly #timers: Timers;
  readonly #stores = new Map<string, ObjectStore>();
  readonly #cache = new Map<string, IndexResult>();
  readonly #inflight = new Map<string, Promise<IndexResult>>();

  constructor(options: StoreReaderOptions) {
    this.#o = options;
    this.#timers = options.timers ?? systemTimers;
  }

  get checkIntervalMs(): number {
    return this.#o.checkIntervalMs;
  }

  async #store(url: string): Promise<ObjectStore> {
    let s = this.#stores.get(url);
    if (s === undefined) {
      const open = this.#o.open ?? (await import('../store/open-store.ts')).openStore;
      s = await open(readerUrl(url));
      this.#stores.set(url, s);
    }
    return s;
  }

  /** Forgets the cached view, e.g. when a Job of the source finished. */
  invalidate(storeUrl: string, source: string): void {
    this.#cache.delete(`${storeUrl}\n${source}`);
  }

  /** The cached view if fresh, else a new read (concurrent callers share it). */
  async read(storeUrl: string, source: string): Promise<IndexResult> {
    const key = `${storeUrl}\n${source}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined && this.#timers.nowMs() - cached.readAt < this.#o.checkIntervalMs) return cached;
    let p = this.#inflight.get(key);
    if (p === undefined) {
      p = this.#load(storeUrl, source).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, p);
    }
    const result = await p;
    this.#cache.set(key, result);
    return result;
  }

  /** When the cached view of a source goes stale (ms from now), or undefined when nothing is cached. */
  staleInMs(storeUrl: string, source: string): number | undefined {
    const cached = this.#cache.get(`${storeUrl}\n${source}`);
    return cached === undefined ? undefined : Math.max(0, cached.readAt + this.#o.checkIntervalMs - this.#timers.nowMs());
  }

  async #load(storeUrl: string, source: string): Promise<IndexResult> {
    const readAt = this.#timers.nowMs();
    try {
      const store = await this.#store(storeUrl);
      const key = indexKey(source);
      if ((await store.head(key)) === undefined) return { ok: true, entries: [], missingObjects: [], updatedAt: null, readAt };
      const index = parseSourceIndex(await readAll(store, key), { key, where: store.describe(key), source });
      const present = new Set<string>();
      for await (const info of store.list(`binlogs/${source}/`)) present.add(info.key);
      const entries = [...index.entries].sort((a, b) => a.sequence - b.sequence);
      return { ok: true, entries, missingObjects: entries.filter((e) => !present.has(e.objectKey)).map((e) => e.name), updatedAt: index.updatedAt, readAt };
    } catch (err) {
      const message = err instanceof ArchiverError ? `${err.code}: ${err.message}` : (err as Error).message;
      return { ok: false, message, readAt };
    }
  }
}
