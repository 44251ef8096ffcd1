/**
 * The agent's HTTP contract, shared by the agent (which serves it) and the controller (which polls it).
 *
 *   GET /v1/state?after=<generation>&waitSeconds=<n>   -> 200 AgentState
 *   GET /healthz                                       -> 200 "ok"
 *   GET /readyz                                        -> 200 "ok" once the first scan succeeded, else 503
 *
 * `after` and `waitSeconds` are optional non-negative integers (waitSeconds at most 60, default 0). The answer
 * comes at once when `generation !== after` (a restarted agent counts from 1 again, so a smaller generation also
 * means "changed"; `instance` tells restarts apart), otherwise when the state changes or after waitSeconds.
 * Errors are JSON `{"error": {"code", "message"}}`: 400 bad request, 404, 405, 429 too many waiters
 * (with Retry-After), 503 not ready (no successful scan yet) or shutting down.
 */

export const AGENT_PATHS = { state: '/v1/state', healthz: '/healthz', readyz: '/readyz' } as const;

export interface AgentBinlog {
  /** File name, e.g. `mysql-bin.000042`. */
  name: string;
  sequence: number;
  size: number;
  /** Last modification, ISO 8601. */
  mtime: string;
  /** Every binlog but the active one (the last named in the index, or the newest without an index) is closed. */
  closed: boolean;
}

export interface AgentState {
  /**
   * Increments whenever something the controller acts on changes: a new binlog, a rotation, a purge, the size or
   * mtime of a closed binlog, expireLogsSeconds. The active binlog growing does not count (it grows on every write).
   */
  generation: number;
  /** Random per agent process: a new value means the agent restarted and generations started again from 1. */
  instance: string;
  binlogDir: string;
  /** Name of the binlog the server writes, or null when the directory holds none. */
  active: string | null;
  /** Ascending by sequence; only the newest AGENT_DEFAULTS.maxBinlogs when `truncated`. */
  binlogs: AgentBinlog[];
  truncated: boolean;
  /** How many binlogs the directory holds in all (more than binlogs.length when truncated). */
  total: number;
  /** The server's binlog_expire_logs_seconds (0: it never purges by age), or null when unknown. */
  expireLogsSeconds: number | null;
  /** The agent's clock when it answered, ISO 8601. */
  now: string;
}

export interface AgentErrorBody {
  error: { code: string; message: string };
}

export interface FetchStateOptions {
  after?: number;
  waitSeconds?: number;
  signal?: AbortSignal;
}

/** The URL of a state request; `base` is e.g. `http://10.0.0.7:9471`. */
export function stateUrl(base: string, options: Omit<FetchStateOptions, 'signal'> = {}): string {
  const url = new URL(AGENT_PATHS.state, base);
  if (options.after !== undefined) url.searchParams.set('after', String(options.after));
  if (options.waitSeconds !== undefined) url.searchParams.set('waitSeconds', String(options.waitSeconds));
  return url.toString();
}
