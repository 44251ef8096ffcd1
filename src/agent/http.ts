/**
 * The agent's HTTP server: /v1/state (with long-poll), /healthz, /readyz. Read-only and unauthenticated: it
 * tells binlog file names and sizes, nothing else. Every resource is bounded: waiters, connections, header time,
 * the wait itself and the answer's length.
 */
import http from 'node:http';
import type { Logger } from '../logger.ts';
import { AGENT_PATHS, type AgentErrorBody } from './contract.ts';
import { AGENT_DEFAULTS } from './defaults.ts';
import type { StateStore } from './state.ts';

export interface ServerLimits {
  maxWaiters: number;
  maxWaitSeconds: number;
  maxConnections: number;
  headersTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxWaiters: AGENT_DEFAULTS.maxWaiters,
  maxWaitSeconds: AGENT_DEFAULTS.maxWaitSeconds,
  maxConnections: AGENT_DEFAULTS.maxConnections,
  headersTimeoutMs: AGENT_DEFAULTS.headersTimeoutMs,
};

export interface AgentServer {
  server: http.Server;
  /** Open long-polls right now. */
  waiters(): number;
  /** Answers every waiter now (with the current state) and refuses new long-polls: for a graceful stop. */
  drain(): void;
}

interface StateQuery {
  after: number | undefined;
  waitSeconds: number;
}

class BadRequest extends Error {}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'cache-control': 'no-store',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

function error(res: http.ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const body: AgentErrorBody = { error: { code, message } };
  send(res, status, body, headers);
}

function nonNegativeInteger(name: string, value: string, max: number): number {
  if (!/^\d{1,16}$/.test(value) || Number(value) > max) {
    throw new BadRequest(`${name} must be an integer from 0 to ${max}, got ${JSON.stringify(value.slice(0, 40))}`);
  }
  return Number(value);
}

function parseStateQuery(params: URLSearchParams, limits: ServerLimits): StateQuery {
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (key !== 'after' && key !== 'waitSeconds') throw new BadRequest(`unknown query parameter ${JSON.stringify(key.slice(0, 40))} (allowed: after, waitSeconds)`);
    if (seen.has(key)) throw new BadRequest(`query parameter ${key} given twice`);
    seen.add(key);
  }
  const after = params.get('after');
  const wait = params.get('waitSeconds');
  return {
    after: after === null ? undefined : nonNegativeInteger('after', after, Number.MAX_SAFE_INTEGER),
    waitSeconds: wait === null ? 0 : nonNegativeInteger('waitSeconds', wait, limits.maxWaitSeconds),
  };
}

export function createAgentServer(store: StateStore, logger: Logger, limits: ServerLimits = DEFAULT_LIMITS): AgentServer {
  const waiters = new Set<() => void>();
  let draining = false;

  const answerState = (res: http.ServerResponse): void => send(res, 200, store.snapshot(new Date()));

  const handleState = (url: URL, res: http.ServerResponse): void => {
    const query = parseStateQuery(url.searchParams, limits);
    if (!store.ready) return error(res, 503, 'ENOTREADY', 'the binlog directory has not been scanned successfully yet', { 'retry-after': '1' });
    // Any difference counts, not only a larger generation: a restarted agent counts from 1 again.
    if (query.after === undefined || query.after !== store.generation || query.waitSeconds === 0 || draining) return answerState(res);
    if (waiters.size >= limits.maxWaiters) {
      return error(res, 429, 'ETOOMANYWAITERS', `${limits.maxWaiters} long-polls are already waiting; retry shortly`, { 'retry-after': '1' });
    }
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      waiters.delete(wake);
      unsubscribe();
      res.off('close', finish);
    };
    const wake = (): void => {
      if (done) return;
      finish();
      answerState(res);
    };
    const timer = setTimeout(wake, query.waitSeconds * 1000);
    const unsubscribe = store.onChange(wake);
    waiters.add(wake);
    // The client went away: free its slot at once.
    res.on('close', finish);
  };

  const server = http.createServer((req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://agent');
      if (req.method !== 'GET') return error(res, 405, 'EMETHOD', `${req.method ?? '?'} is not allowed; use GET`, { allow: 'GET' });
      switch (url.pathname) {
        case AGENT_PATHS.healthz:
          return send(res, 200, 'ok');
        case AGENT_PATHS.readyz:
          return store.ready ? send(res, 200, 'ok') : send(res, 503, 'not ready: the binlog directory has not been scanned successfully yet');
        case AGENT_PATHS.state:
          return handleState(url, res);
        default:
          return error(res, 404, 'ENOTFOUND', `no such path ${JSON.stringify(url.pathname.slice(0, 100))} (try ${AGENT_PATHS.state})`);
      }
    } catch (err) {
      if (err instanceof BadRequest || err instanceof TypeError) return error(res, 400, 'EBADREQUEST', err.message);
      logger.log('error', 'HTTP handler failed', { error: (err as Error).message });
      if (!res.headersSent) error(res, 500, 'EINTERNAL', 'internal error');
    }
  });
  server.maxConnections = limits.maxConnections;
  server.headersTimeout = limits.headersTimeoutMs;
  // requestTimeout bounds receiving the request; a long-poll's answer is bounded by maxWaitSeconds instead.
  server.requestTimeout = limits.headersTimeoutMs * 2;

  return {
    server,
    waiters: () => waiters.size,
    drain() {
      draining = true;
      for (const wake of [...waiters]) wake();
    },
  };
}
