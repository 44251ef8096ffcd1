/**
 * Structured JSON logs on stderr, one object per line, with the correlation id and object they concern.
 * Messages read like Kubernetes events ("Archived binlog"). Never pass key material, tokens or credentials; every
 * line is also masked (redact.ts), so a URL or argument quoted in a message cannot carry one out.
 */
import { redact } from './redact.ts';

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: Level, msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  write?: (line: string) => void;
  level?: Level;
  clock?: () => Date;
  fields?: Record<string, unknown>;
}

const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const min = ORDER[options.level ?? 'info'];
  const clock = options.clock ?? (() => new Date());
  const base = options.fields ?? {};
  return {
    log(level, msg, fields = {}) {
      if (ORDER[level] < min) return;
      write(`${redact(JSON.stringify({ time: clock().toISOString(), level, msg, ...base, ...fields }))}\n`);
    },
    child(fields) {
      return createLogger({ ...options, fields: { ...base, ...fields } });
    },
  };
}

export const silentLogger: Logger = { log: () => undefined, child: () => silentLogger };
