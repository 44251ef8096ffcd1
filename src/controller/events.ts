/**
 * Kubernetes Events (events.k8s.io/v1) for what a person should see: "Archived 3 binlogs of db/mysql-0",
 * failures, gaps, purge risk. Best effort: a failed write is logged, never retried into the reconcile. The same
 * event (object, reason, note) within ten minutes becomes a series (count, lastObservedTime) on the first one, as
 * client-go's recorder does, instead of a new object.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.ts';
import type { ControllerMetrics } from '../metrics/metrics.ts';
import { systemTimers, type Timers } from './clock.ts';
import { PATCH, type KubeClient } from './kube/client.ts';
import { EVENTS, collectionPath, objectPath } from './kube/resources.ts';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

export interface EventInput {
  regarding: ObjectRef;
  related?: ObjectRef;
  type: 'Normal' | 'Warning';
  reason: string;
  action: string;
  note: string;
}

const SERIES_WINDOW_MS = 10 * 60_000;
const REMEMBER = 4096;

/** MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  first: number;
}

export class EventRecorder {
  readonly #client: KubeClient;
  readonly #controller: string;
  readonly #instance: string;
  readonly #logger: Logger;
  readonly #metrics: ControllerMetrics | undefined;
  readonly #timers: Timers;
  readonly #seen = new Map<string, Seen>();
  #chain: Promise<void> = Promise.resolve();

  constructor(options: { client: KubeClient; controller: string; instance: string; logger: Logger; metrics?: ControllerMetrics; timers?: Timers }) {
    this.#client = options.client;
    this.#controller = options.controller;
    this.#instance = options.instance;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#timers = options.timers ?? systemTimers;
  }

  /** Records the event in the background (in order); never throws. */
  emit(e: EventInput): void {
    this.#metrics?.eventsEmitted.inc({ type: e.type, reason: e.reason });
    this.#logger.log(e.type === 'Warning' ? 'warn' : 'info', e.note, { event: e.reason, object: `${e.regarding.kind}/${e.regarding.namespace}/${e.regarding.name}` });
    this.#chain = this.#chain.then(() => this.#write(e)).catch((err: unknown) => {
      this.#logger.log('warn', 'Could not record event', { reason: e.reason, error: (err as Error).message });
    });
  }

  /** Resolves when the events emitted so far are written (tests, shutdown). */
  flush(): Promise<void> {
    return this.#chain;
  }

  async #write(e: EventInput): Promise<void> {
    const now = this.#timers.nowMs();
    const note = e.note.length > 1024 ? `${e.note.slice(0, 1023)}…` : e.note;
    const key = `${e.regarding.uid ?? `${e.regarding.namespace}/${e.regarding.name}`}\n${e.type}\n${e.reason}\n${note}`;
    const seen = this.#seen.get(key);
    if (seen !== undefined && now - seen.first < SERIES_WINDOW_MS) {
      seen.count += 1;
      try {
        await this.#client.request('PATCH', objectPath(EVENTS, seen.namespace, seen.name), {
          contentType: PATCH.merge, body: { series: { count: seen.count, lastObservedTime: microTime(now) } },
        });
        return;
      } catch {
        // Gone (events expire after an hour by default): write a new one.
      }
    }
    const name = `${e.regarding.name}.${now.toString(16)}${randomBytes(3).toString('hex')}`.slice(-253).replace(/^[^a-z0-9]+/, '');
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name, namespace: e.regarding.namespace },
      eventTime: microTime(now),
      reportingController: this.#controller,
      reportingInstance: this.#instance.slice(0, 128),
      action: e.action,
      reason: e.reason,
      regarding: e.regarding,
      ...(e.related === undefined ? {} : { related: e.related }),
      note,
      type: e.type,
    };
    await this.#client.request('POST', collectionPath(EVENTS, e.regarding.namespace), { body });
    if (this.#seen.size >= REMEMBER) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    this.#seen.set(key, { name, namespace: e.regarding.namespace, count: 1, first: now });
  }
}
