/**
 * An informer: list, then watch from the list's resourceVersion, keeping a local cache and calling handlers on
 * add, update and delete. The watch asks for bookmarks (so a quiet watch keeps a fresh resourceVersion) and a
 * server-side timeout; when it ends it resumes from the last resourceVersion; 410 Gone relists (and the relist
 * turns into adds, updates and deletes against the cache); any other failure retries with capped backoff, forever
 * (client-node's ListWatch stops on an error). A transform trims objects before they are cached.
 */
import type { Logger } from '../../logger.ts';
import { systemTimers, type Timers } from '../clock.ts';
import { KubeApiError, type KubeClient, type WatchEvent } from './client.ts';
import { type KubeObject, type ListResult, keyOf } from './resources.ts';

export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions<T> {
  name: string;
  client: KubeClient;
  /** Collection path, e.g. /api/v1/namespaces/x/pods. */
  path: string;
  labelSelector?: string;
  /** Check an object before caching: one that fails is logged and left out (what is not understood is not acted on). */
  parse?: (obj: unknown) => T;
  /** Trim an object before caching (drop managedFields and what the controller never reads). */
  transform?: (obj: T) => T;
  logger: Logger;
  timers?: Timers;
  /** Page size of the list (default 500). */
  pageSize?: number;
}

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

export class Informer<T extends KubeObject> {
  readonly name: string;
  readonly #o: InformerOptions<T>;
  readonly #timers: Timers;
  /** namespace -> name -> object */
  readonly #cache = new Map<string, Map<string, T>>();
  #count = 0;
  readonly #handlers: InformerHandlers<T>[] = [];
  #resourceVersion = '';
  #synced = false;
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  readonly #syncWaiters: Array<() => void> = [];

  constructor(options: InformerOptions<T>) {
    this.name = options.name;
    this.#o = options;
    this.#timers = options.timers ?? systemTimers;
  }

  on(handlers: InformerHandlers<T>): void {
    this.#handlers.push(handlers);
  }

  get(namespace: string, name: string): T | undefined {
    return this.#cache.get(namespace)?.get(name);
  }

  /** Every cached object, or those of one namespace. */
  list(namespace?: string): T[] {
    if (namespace !== undefined) return [...(this.#cache.get(namespace)?.values() ?? [])];
    return [...this.#cache.values()].flatMap((m) => [...m.values()]);
  }

  size(): number {
    return this.#count;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves when the first list has been loaded into the cache. */
  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  start(): void {
    if (this.#loop !== undefined) return;
    this.#abort = new AbortController();
    this.#loop = this.#run(this.#abort.signal);
  }

  async stop(): Promise<void> {
    this.#abort?.abort();
    await this.#loop;
    this.#loop = undefined;
  }

  #emit(kind: 'add' | 'update' | 'delete', a: T, b?: T): void {
    for (const h of this.#handlers) {
      try {
        if (kind === 'add') h.add?.(a);
        else if (kind === 'delete') h.delete?.(a);
        else if (b !== undefined) h.update?.(a, b);
      } catch (err) {
        this.#o.logger.log('error', 'Informer handler failed', { informer: this.name, error: (err as Error).message });
      }
    }
  }

  #checked(raw: T): T | undefined {
    if (this.#o.parse === undefined) return raw;
    try {
      return this.#o.parse(raw);
    } catch (err) {
      this.#o.logger.log('warn', 'Ignoring an object that does not match its schema', { informer: this.name, object: keyOf(raw), error: (err as Error).message });
      return undefined;
    }
  }

  #put(raw: T): void {
    const valid = this.#checked(raw);
    if (valid === undefined) return;
    const obj = this.#o.transform === undefined ? valid : this.#o.transform(valid);
    const ns = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    let m = this.#cache.get(ns);
    if (m === undefined) {
      m = new Map();
      this.#cache.set(ns, m);
    }
    const old = m.get(name);
    m.set(name, obj);
    if (old === undefined) this.#count += 1;
    if (old === undefined) this.#emit('add', obj);
    else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.#emit('update', old, obj);
  }

  #remove(raw: T): void {
    const ns = raw.metadata?.namespace ?? '';
    const m = this.#cache.get(ns);
    const old = m?.get(raw.metadata?.name ?? '');
    if (m === undefined || old === undefined) return;
    m.delete(raw.metadata?.name ?? '');
    this.#count -= 1;
    if (m.size === 0) this.#cache.delete(ns);
    this.#emit('delete', old);
  }

  async #list(signal: AbortSignal): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv: string;
    do {
      const page = await this.#o.client.request<ListResult<T>>('GET', this.#o.path, {
        query: { limit: this.#o.pageSize ?? 500, continue: cont, labelSelector: this.#o.labelSelector },
        signal,
        timeoutMs: 60_000,
      });
      items.push(...page.items);
      cont = page.metadata?.continue === '' ? undefined : page.metadata?.continue;
      rv = page.metadata?.resourceVersion ?? '';
    } while (cont !== undefined);
    const seen = new Set<string>();
    for (const item of items) {
      seen.add(keyOf(item));
      this.#put(item);
    }
    for (const obj of this.list()) if (!seen.has(keyOf(obj))) this.#remove(obj);
    this.#resourceVersion = rv;
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncWaiters.splice(0)) w();
    }
  }

  async #run(signal: AbortSignal): Promise<void> {
    let backoff = 0;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.#list(signal);
          needList = false;
        }
        let gone = false;
        // The server ends the watch after timeoutSeconds (5 to 10 minutes, spread so watches do not restart together).
        await this.#o.client.watch<T & { code?: number }>(this.#o.path, {
          resourceVersion: this.#resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 + Math.floor(Math.random() * 300),
          labelSelector: this.#o.labelSelector,
        }, (event: WatchEvent<T & { code?: number }>) => {
          switch (event.type) {
            case 'ADDED':
            case 'MODIFIED':
              this.#put(event.object);
              break;
            case 'DELETED':
              this.#remove(event.object);
              break;
            case 'BOOKMARK':
              break;
            case 'ERROR':
              if (event.object.code === 410) gone = true;
              else this.#o.logger.log('warn', 'Watch error event', { informer: this.name, status: event.object });
              return;
          }
          const rv = event.object.metadata?.resourceVersion;
          if (rv !== undefined && rv !== '') this.#resourceVersion = rv;
        }, signal);
        if (gone) needList = true;
        backoff = 0;
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof KubeApiError && err.status === 410) needList = true;
        else {
          backoff = Math.min(MAX_BACKOFF_MS, backoff === 0 ? MIN_BACKOFF_MS : backoff * 2);
          this.#o.logger.log('warn', 'Watch failed; retrying', { informer: this.name, error: (err as Error).message, retryInMs: backoff });
          await this.#timers.sleep(backoff * (0.5 + Math.random() / 2), signal);
          // A broken list must be redone; a broken watch resumes from its resourceVersion (410 then relists).
          if (this.#resourceVersion === '') needList = true;
        }
      }
    }
  }
}
