/** Every tunable of the agent sidecar in one place, with why it has the value it has. */
import { SPEC_DEFAULTS } from '../specs/defaults.ts';

export const AGENT_DEFAULTS = {
  /** The port the operator's pod spec exposes (`--listen :9471`). */
  port: SPEC_DEFAULTS.agentPort,
  /**
   * Full rescan of the binlog directory even when fs.watch is silent: inotify misses changes on NFS, some CSI and
   * FUSE volumes, and when the watch limit is exhausted. A rotation is therefore seen within this bound anyway.
   */
  rescanIntervalMs: 3_000,
  /** A busy server writes its active binlog thousands of times a second: watch events start at most one scan per this. */
  minScanGapMs: 200,
  /** Long-poll answers wait at most this long (the `waitSeconds` query parameter may not exceed it). */
  maxWaitSeconds: 60,
  /** Concurrent long-poll requests; one more is refused with 429 so a misbehaving client cannot exhaust memory. */
  maxWaiters: 64,
  /** Concurrent TCP connections to the HTTP server (waiters, probes, scrapes). */
  maxConnections: 256,
  /** Only the newest binlogs are reported, so an answer stays bounded on a server that never purges. */
  maxBinlogs: 1_000,
  /** stat() calls in flight during a scan. */
  statConcurrency: 32,
  /** Re-read the server's binlog_expire_logs_seconds this often (it is a dynamic variable). */
  serverVariablesRefreshMs: 5 * 60_000,
  /** After a failed FLUSH BINARY LOGS (or expire-logs query), try again after this long. */
  mysqlRetryMs: 10_000,
  /** Connecting to MySQL gives up after this long. */
  mysqlConnectTimeoutMs: 10_000,
  /** Shorter rotate intervals would rotate on nearly every write; the CRD allows any positive duration. */
  minRotateIntervalMs: 1_000,
  /** On SIGTERM, open keep-alive connections get this long before they are cut. */
  shutdownGraceMs: 5_000,
  /** Request headers must arrive within this (slowloris bound; long-polls are bounded by maxWaitSeconds). */
  headersTimeoutMs: 10_000,
  mysqlPort: 3306,
  mysqlHost: '127.0.0.1',
} as const;

/** The agent's usage line (here, not in the command, so `binlog-archiver --help` need not load the MySQL client). */
export const AGENT_USAGE = 'binlog-archiver agent --binlog-dir DIR [--listen [HOST]:PORT] [--expire-logs-seconds N] ' +
  '[--rotate-interval DURATION --mysql-user-file FILE --mysql-password-file FILE [--mysql-host HOST] [--mysql-port PORT]] ' +
  '[--rescan-interval DURATION] [--log-level debug|info|warn|error]';
