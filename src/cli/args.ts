/** Command-line parsing on node:util parseArgs, turning its errors into usage errors that say what to do. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ArchiverError } from '../errors.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse(command: string, argv: string[], options: Options, usage: string): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { values: values, positionals };
  } catch (err) {
    throw new ArchiverError('EUSAGE', `${command}: ${(err as Error).message}`, { hint: `usage: ${usage}` });
  }
}

export function required(command: string, values: Record<string, unknown>, name: string, usage: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new ArchiverError('EUSAGE', `${command}: --${name} is required`, { hint: `usage: ${usage}` });
  return value;
}

export function optional(values: Record<string, unknown>, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** An integer option, optionally within [min, max]: anything else is a usage error (exit 2), saying the range. */
export function integer(command: string, values: Record<string, unknown>, name: string, range?: { min: number; max: number; hint?: string }): number | undefined {
  const value = optional(values, name);
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new ArchiverError('EUSAGE', `${command}: --${name} ${JSON.stringify(value)} is not an integer`);
  const n = Number(value);
  if (range !== undefined && (n < range.min || n > range.max)) {
    throw new ArchiverError('EUSAGE', `${command}: --${name} ${n} is out of range (${range.min} to ${range.max})`, range.hint === undefined ? {} : { hint: range.hint });
  }
  return n;
}
