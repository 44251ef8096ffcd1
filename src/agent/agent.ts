/**
 * The agent sidecar, assembled: scan loop -> state store -> HTTP server, plus the optional rotator and the
 * reader of the server's expire-logs setting. `startAgent` fails (with a precise ArchiverError) only for what a
 * restart cannot fix: a missing directory, an unreadable credential file, a port in use. A MySQL server that is
 * not up yet, or a scan that fails, is logged and retried.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ArchiverError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { AGENT_DEFAULTS } from './defaults.ts';
import { createAgentServer, DEFAULT_LIMITS, type ServerLimits } from './http.ts';
import { checkCredentials, flushBinaryLogs, type MysqlTarget, mysqlErrorFields, readExpireLogsSeconds } from './mysql.ts';
import { Rotator } from './rotator.ts';
import { ScanLoop } from './scan-loop.ts';
import { scanBinlogDir } from './scan.ts';
import { StateStore } from './state.ts';

export interface AgentOptions {
  binlogDir: string;
  host: string;
  port: number;
  /** Fixed expire-logs seconds (--expire-logs-seconds); else read from the server when `mysql` is given. */
  expireLogsSeconds?: number;
  /** With `mysql`: rotate the active binlog once its first write is this old. */
  rotateIntervalMs?: number;
  mysql?: MysqlTarget;
  rescanIntervalMs?: number;
  /** fs.watch as well as the periodic rescan (default true). */
  watch?: boolean;
  maxBinlogs?: number;
  limits?: Partial<ServerLimits>;
  logger: Logger;
}

export interface RunningAgent {
  /** e.g. http://127.0.0.1:9471 */
  url: string;
  port: number;
  store: StateStore;
  /** Answers open long-polls, stops accepting, stops the timers; resolves when everything is closed. */
  stop(): Promise<void>;
}

function checkDir(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    throw new ArchiverError('EBADINPUT', `binlog directory ${dir} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: '--binlog-dir must name the directory holding the binlogs and their index, as mounted in this container',
    });
  }
  if (!st.isDirectory()) throw new ArchiverError('EBADINPUT', `--binlog-dir ${dir} is not a directory`);
}

function listen(server: import('node:http').Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const where = `${host === '' ? '' : host}:${port}`;
      reject(new ArchiverError('EBADINPUT', `cannot listen on ${where}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`, {
        hint: err.code === 'EADDRINUSE' ? 'another process listens on that port; choose another with --listen' : 'check --listen',
        cause: err,
      }));
    };
    server.once('error', onError);
    // An empty host listens on every interface, as ":9471" means in the pod spec.
    server.listen(host === '' ? { port } : { host, port }, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Where a local client reaches the server: the loopback address when it listens on every interface. */
function urlHost(address: AddressInfo): string {
  if (address.address === '::' || address.address === '0.0.0.0') return '127.0.0.1';
  return address.family === 'IPv6' ? `[${address.address}]` : address.address;
}

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const { logger } = options;
  checkDir(options.binlogDir);
  if (options.mysql !== undefined) checkCredentials(options.mysql);
  if (options.rotateIntervalMs !== undefined && options.mysql === undefined) {
    throw new ArchiverError('EUSAGE', 'a rotate interval needs MySQL credentials (--mysql-user-file and --mysql-password-file)');
  }
  const store = new StateStore(path.resolve(options.binlogDir), options.expireLogsSeconds ?? null);
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const http = createAgentServer(store, logger, limits);
  const address = await listen(http.server, options.host, options.port);
  const mysql = options.mysql;
  const timers = new Set<NodeJS.Timeout>();
  const pending = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => undefined);
    return p;
  };
  let stopped = false;

  const rotator = options.rotateIntervalMs === undefined || mysql === undefined ? null : new Rotator({
    intervalMs: options.rotateIntervalMs,
    retryMs: AGENT_DEFAULTS.mysqlRetryMs,
    flush: () => flushBinaryLogs(mysql),
    onRotated: () => loop.request(),
    logger,
    logFailure: mysqlErrorFields,
  });

  const loop = new ScanLoop({
    dir: options.binlogDir,
    rescanIntervalMs: options.rescanIntervalMs ?? AGENT_DEFAULTS.rescanIntervalMs,
    minGapMs: AGENT_DEFAULTS.minScanGapMs,
    watch: options.watch ?? true,
    logger,
    scan: async () => {
      const first = !store.ready;
      const scan = await scanBinlogDir(options.binlogDir, options.maxBinlogs ?? AGENT_DEFAULTS.maxBinlogs, AGENT_DEFAULTS.statConcurrency);
      if (store.setScan(scan)) {
        logger.log('info', first ? 'Scanned binlog directory' : 'Binlog state changed', {
          generation: store.generation, active: scan.active, binlogs: scan.total, lastClosed: scan.binlogs.filter((b) => b.closed).at(-1)?.name ?? null,
        });
      }
      if (rotator !== null) {
        await rotator.observe(scan).catch((err: unknown) => {
          logger.log('warn', 'Cannot read the active binlog\'s first events', { binlog: scan.active, error: (err as Error).message });
        });
      }
    },
  });

  // The server's purge horizon: only when no fixed value was given and credentials are.
  const refreshExpireLogs = async (): Promise<void> => {
    if (stopped || mysql === undefined) return;
    let next = AGENT_DEFAULTS.serverVariablesRefreshMs;
    try {
      const seconds = await readExpireLogsSeconds(mysql);
      if (seconds !== store.expireLogsSeconds) logger.log('info', 'Read the server\'s binlog expiry', { expireLogsSeconds: seconds });
      store.setExpireLogsSeconds(seconds);
    } catch (err) {
      logger.log('warn', 'Cannot read binlog_expire_logs_seconds from the server; will retry', { retryInMs: AGENT_DEFAULTS.mysqlRetryMs, ...mysqlErrorFields(err) });
      next = AGENT_DEFAULTS.mysqlRetryMs;
    }
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      void track(refreshExpireLogs());
    }, next);
    timers.add(timer);
  };

  // Started (and logged as such) once the first scan ran, so a ready agent answers at once.
  await loop.start();
  if (options.expireLogsSeconds === undefined && mysql !== undefined) void track(refreshExpireLogs());
  logger.log('info', 'Agent started', {
    binlogDir: options.binlogDir, listen: `${options.host}:${address.port}`,
    rotateIntervalSeconds: options.rotateIntervalMs === undefined ? null : options.rotateIntervalMs / 1000,
    expireLogsSeconds: options.expireLogsSeconds ?? (mysql === undefined ? null : 'from server'),
    mysql: mysql === undefined ? null : `${mysql.host}:${mysql.port}`,
  });

  return {
    url: `http://${urlHost(address)}:${address.port}`,
    port: address.port,
    store,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearTimeout(t);
      http.drain();
      const closed = new Promise<void>((resolve) => http.server.close(() => resolve()));
      http.server.closeIdleConnections();
      const cut = setTimeout(() => http.server.closeAllConnections(), AGENT_DEFAULTS.shutdownGraceMs);
      await Promise.all([loop.stop(), rotator?.stop(), ...pending]);
      await closed;
      clearTimeout(cut);
      logger.log('info', 'Agent stopped', { generation: store.generation });
    },
  };
}
