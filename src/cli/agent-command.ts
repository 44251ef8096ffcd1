/**
 * `binlog-archiver agent`: the sidecar in the MySQL pod. Runs until SIGTERM or SIGINT, then answers the open
 * long-polls, closes the server and returns 0. Startup problems (missing directory, unreadable credential file,
 * bad duration, port in use) throw, so main.ts prints them and exits non-zero.
 */
import { AGENT_DEFAULTS, AGENT_USAGE } from '../agent/defaults.ts';
import { parseDuration } from '../agent/duration.ts';
import { parseListen } from '../agent/listen.ts';
import { startAgent } from '../agent/agent.ts';
import type { MysqlTarget } from '../agent/mysql.ts';
import { ArchiverError } from '../errors.ts';
import { createLogger, type Level } from '../logger.ts';
import { integer, optional, parse, required } from './args.ts';
import type { Io } from './output.ts';

const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error'];

function usage(message: string): ArchiverError {
  return new ArchiverError('EUSAGE', `agent: ${message}`, { hint: `usage: ${AGENT_USAGE}` });
}

function mysqlTarget(values: Record<string, unknown>): MysqlTarget | undefined {
  const userFile = optional(values, 'mysql-user-file');
  const passwordFile = optional(values, 'mysql-password-file');
  if (userFile === undefined && passwordFile === undefined) {
    if (optional(values, 'mysql-host') !== undefined || optional(values, 'mysql-port') !== undefined) {
      throw usage('--mysql-host and --mysql-port need --mysql-user-file and --mysql-password-file');
    }
    return undefined;
  }
  if (userFile === undefined || passwordFile === undefined) throw usage('give both --mysql-user-file and --mysql-password-file');
  const port = integer('agent', values, 'mysql-port') ?? AGENT_DEFAULTS.mysqlPort;
  if (port < 1 || port > 65535) throw usage(`--mysql-port ${port} is not a TCP port`);
  return { host: optional(values, 'mysql-host') ?? AGENT_DEFAULTS.mysqlHost, port, userFile, passwordFile };
}

/** Resolves on the first SIGTERM or SIGINT (the kubelet sends SIGTERM; a person at a terminal presses Ctrl-C). */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(signal);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

export async function agentCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('agent', argv, {
    'binlog-dir': { type: 'string' }, listen: { type: 'string' }, 'expire-logs-seconds': { type: 'string' },
    'rotate-interval': { type: 'string' }, 'mysql-host': { type: 'string' }, 'mysql-port': { type: 'string' },
    'mysql-user-file': { type: 'string' }, 'mysql-password-file': { type: 'string' }, 'rescan-interval': { type: 'string' },
    'log-level': { type: 'string' },
  }, AGENT_USAGE);
  if (positionals.length > 0) throw usage(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const level = optional(values, 'log-level') ?? 'info';
  if (!LEVELS.includes(level as Level)) throw usage(`--log-level ${JSON.stringify(level)} is not one of ${LEVELS.join(', ')}`);
  const expire = integer('agent', values, 'expire-logs-seconds');
  if (expire !== undefined && expire < 0) throw usage('--expire-logs-seconds must be 0 or more');
  const rotateText = optional(values, 'rotate-interval');
  const rotateIntervalMs = rotateText === undefined ? undefined : parseDuration(rotateText, '--rotate-interval');
  if (rotateIntervalMs !== undefined && rotateIntervalMs < AGENT_DEFAULTS.minRotateIntervalMs) {
    throw usage(`--rotate-interval ${rotateText ?? ''} is shorter than ${AGENT_DEFAULTS.minRotateIntervalMs / 1000}s`);
  }
  const rescanText = optional(values, 'rescan-interval');
  const mysql = mysqlTarget(values);
  if (rotateIntervalMs !== undefined && mysql === undefined) throw usage('--rotate-interval needs --mysql-user-file and --mysql-password-file');
  const { host, port } = parseListen(optional(values, 'listen') ?? `:${AGENT_DEFAULTS.port}`);
  const logger = createLogger({ write: io.stderr, level: level as Level, fields: { component: 'agent' } });
  // Listen for the signal before starting, so a SIGTERM during startup still stops cleanly.
  const stopping = stopSignal();
  const agent = await startAgent({
    binlogDir: required('agent', values, 'binlog-dir', AGENT_USAGE),
    host,
    port,
    ...(expire === undefined ? {} : { expireLogsSeconds: expire }),
    ...(rotateIntervalMs === undefined ? {} : { rotateIntervalMs }),
    ...(mysql === undefined ? {} : { mysql }),
    ...(rescanText === undefined ? {} : { rescanIntervalMs: parseDuration(rescanText, '--rescan-interval') }),
    logger,
  });
  const signal = await stopping;
  logger.log('info', 'Stopping agent', { signal });
  await agent.stop();
  return 0;
}
