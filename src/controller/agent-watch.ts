/**
 * The controller's side of the agent protocol: one long-poll loop per selected MySQL pod.
 *
 *   GET http://<podIP>:<port>/v1/state?after=<generation>&waitSeconds=<n>   (contract: src/agent/contract.ts)
 *
 * The agent answers at once when its generation is past `after`, else when it changes or after n seconds. Each new
 * generation (or the agent becoming unreachable, or reachable again) calls onChange, which enqueues the policies
 * selecting the pod: the reconcile then decides from the state whether a Job is needed. The agent needs no
 * Kubernetes credentials; the controller reaches it at the pod IP (port: the pod annotation
 * binlog.archiver.dev/agent-port, else the sidecar's port).
 */
import http from 'node:http';
import type { AgentBinlog, AgentState as FullAgentState } from '../contracts/agent.ts';
import { GROUP } from '../api/crd.ts';
import type { Logger } from '../logger.ts';
import type { ControllerMetrics } from '../metrics/metrics.ts';
import { SPEC_DEFAULTS } from '../specs/defaults.ts';
import { systemTimers, type Timers } from './clock.ts';
import type { Pod } from './kube/resources.ts';

export const AGENT_PORT_ANNOTATION = `${GROUP}/agent-port`;

/** The part of the agent's answer (src/agent/contract.ts) the controller relies on; the rest it ignores. */
export type AgentState = Pick<FullAgentState, 'generation' | 'binlogDir' | 'active' | 'binlogs' | 'expireLogsSeconds' | 'now'>;
export type { AgentBinlog };

/** What the controller knows of one agent. */
export interface AgentView {
  url: string;
  state?: AgentState;
  /** When the state was received (ms since epoch). */
  receivedAt?: number;
  /** The last poll failed: why, and since when (ms) the agent has been unreachable. */
  error?: string;
  errorSince?: number;
  /** When the watch of this agent started (ms): an agent never reached is silent since then. */
  watchedSince: number;
  /** When the newest closed binlog of the state was first seen (ms), for the rotation-to-Job latency. */
  newestClosedSeenAt?: number;
}

export function agentUrl(pod: Pod): string | undefined {
  const ip = pod.status?.podIP;
  if (ip === undefined || ip === '' || pod.status?.phase !== 'Running') return undefined;
  const annotated = Number(pod.metadata?.annotations?.[AGENT_PORT_ANNOTATION]);
  const port = Number.isInteger(annotated) && annotated > 0 && annotated < 65536 ? annotated : SPEC_DEFAULTS.agentPort;
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return `http://${host}:${port}`;
}

function fail(message: string): never {
  throw new Error(`agent state: ${message}`);
}

/** Checks the agent's answer against the contract. */
export function parseAgentState(value: unknown): AgentState {
  if (typeof value !== 'object' || value === null) fail('not a JSON object');
  const v = value as Record<string, unknown>;
  if (typeof v.generation !== 'number' || !Number.isFinite(v.generation)) fail('generation is not a number');
  if (!Array.isArray(v.binlogs)) fail('binlogs is not an array');
  const binlogs = v.binlogs.map((b: unknown, i): AgentBinlog => {
    const x = (b ?? {}) as Record<string, unknown>;
    if (typeof x.name !== 'string' || typeof x.sequence !== 'number' || typeof x.mtime !== 'string' || typeof x.closed !== 'boolean') fail(`binlogs[${i}] lacks name, sequence, mtime or closed`);
    if (Number.isNaN(Date.parse(x.mtime))) fail(`binlogs[${i}].mtime is not a time`);
    return { name: x.name, sequence: x.sequence, size: typeof x.size === 'number' ? x.size : 0, mtime: x.mtime, closed: x.closed };
  });
  const expire = v.expireLogsSeconds;
  return {
    generation: v.generation,
    binlogDir: typeof v.binlogDir === 'string' ? v.binlogDir : '',
    active: typeof v.active === 'string' ? v.active : null,
    binlogs,
    expireLogsSeconds: typeof expire === 'number' && Number.isFinite(expire) ? expire : null,
    now: typeof v.now === 'string' ? v.now : new Date().toISOString(),
  };
}

export interface AgentWatchOptions {
  logger: Logger;
  metrics?: ControllerMetrics;
  timers?: Timers;
  /** waitSeconds of each long poll (default 30). */
  waitSeconds?: number;
  onChange(podKey: string, view: AgentView): void;
}

interface Loop {
  url: string;
  abort: AbortController;
  view: AgentView;
}

const MAX_BACKOFF_MS = 30_000;

export class AgentWatch {
  readonly #o: AgentWatchOptions;
  readonly #timers: Timers;
  readonly #loops = new Map<string, Loop>();
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

  constructor(options: AgentWatchOptions) {
    this.#o = options;
    this.#timers = options.timers ?? systemTimers;
  }

  /** Watches exactly these pods (key -> agent URL): starts new loops, stops loops of pods no longer listed or moved. */
  sync(targets: ReadonlyMap<string, string>): void {
    for (const [key, loop] of [...this.#loops]) {
      if (targets.get(key) !== loop.url) {
        loop.abort.abort();
        this.#loops.delete(key);
      }
    }
    for (const [key, url] of targets) {
      if (this.#loops.has(key)) continue;
      const loop: Loop = { url, abort: new AbortController(), view: { url, watchedSince: this.#timers.nowMs() } };
      this.#loops.set(key, loop);
      void this.#run(key, loop);
    }
    this.#gauges();
  }

  get(podKey: string): AgentView | undefined {
    return this.#loops.get(podKey)?.view;
  }

  size(): number {
    return this.#loops.size;
  }

  stop(): void {
    for (const loop of this.#loops.values()) loop.abort.abort();
    this.#loops.clear();
    this.#agent.destroy();
    this.#gauges();
  }

  #gauges(): void {
    const m = this.#o.metrics;
    if (m === undefined) return;
    m.agentsWatched.set(this.#loops.size);
    let reachable = 0;
    for (const l of this.#loops.values()) if (l.view.state !== undefined && l.view.error === undefined) reachable += 1;
    m.agentsReachable.set(reachable);
  }

  /** One long-poll; without `after` (the first one) the agent answers at once. */
  #poll(url: string, after: number | undefined, waitSeconds: number, signal: AbortSignal): Promise<AgentState> {
    return new Promise((resolve, reject) => {
      const target = new URL(after === undefined ? '/v1/state' : `/v1/state?after=${after}&waitSeconds=${waitSeconds}`, url);
      const req = http.get(target, { agent: this.#agent, signal, headers: { Accept: 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            reject(new Error(`HTTP ${res.statusCode ?? 0} from ${target.origin}: ${text.slice(0, 200)}`));
            return;
          }
          try {
            resolve(parseAgentState(JSON.parse(text)));
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      });
      req.setTimeout((waitSeconds + 15) * 1000, () => req.destroy(new Error(`no answer from ${target.origin} within ${waitSeconds + 15}s`)));
      req.on('error', reject);
    });
  }

  async #run(key: string, loop: Loop): Promise<void> {
    const { signal } = loop.abort;
    const wait = this.#o.waitSeconds ?? 30;
    let after: number | undefined;
    let backoff = 0;
    const log = this.#o.logger.child({ pod: key, agent: loop.url });
    while (!signal.aborted) {
      const started = this.#timers.nowMs();
      try {
        const state = await this.#poll(loop.url, after, wait, signal);
        if (signal.aborted) break;
        const view = loop.view;
        const changed = state.generation !== view.state?.generation || view.error !== undefined;
        const newest = state.binlogs.filter((b) => b.closed).at(-1)?.name;
        const previousNewest = view.state?.binlogs.filter((b) => b.closed).at(-1)?.name;
        if (newest !== previousNewest) view.newestClosedSeenAt = this.#timers.nowMs();
        if (view.error !== undefined) log.log('info', 'Agent reachable again', { generation: state.generation });
        view.state = state;
        view.receivedAt = this.#timers.nowMs();
        delete view.error;
        delete view.errorSince;
        after = state.generation;
        backoff = 0;
        this.#o.metrics?.agentPolls.inc({ result: changed ? 'changed' : 'unchanged' });
        if (changed) {
          this.#gauges();
          this.#o.onChange(key, view);
        } else if (this.#timers.nowMs() - started < 100) {
          // An agent that answers at once without a new generation would make this loop spin.
          await this.#timers.sleep(1000, signal);
        }
      } catch (err) {
        if (signal.aborted) break;
        const view = loop.view;
        const message = (err as Error).message;
        this.#o.metrics?.agentPolls.inc({ result: 'error' });
        const first = view.error === undefined;
        if (message !== view.error) log.log('warn', 'Agent unreachable', { error: message });
        view.error = message;
        view.errorSince ??= this.#timers.nowMs();
        if (first) {
          this.#gauges();
          this.#o.onChange(key, view);
        }
        backoff = Math.min(MAX_BACKOFF_MS, backoff === 0 ? 1000 : backoff * 2);
        await this.#timers.sleep(backoff, signal);
      }
    }
  }
}
