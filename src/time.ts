/**
 * The one grammar for a point in time a person gives us: `restore --until` and a BinlogRestore's
 * `spec.target.time` (whose CRD pattern is built from the same parts, below). Only
 *   YYYY-MM-DD[T| ]HH:MM:SS[.fraction][Z|±HH:MM]
 * with a calendar check (no 2018-02-30, no hour 24, no leap second); no zone means UTC, like the binlog's own
 * timestamps. Anything else is refused instead of guessed: `Date.parse` reads free text in the local zone and
 * rolls Feb 30 over to March 2, which moves a point-in-time restore silently.
 *
 * Precision: binlog event timestamps are whole seconds, so a fraction changes nothing about which transactions
 * a time includes; it is accepted (up to 9 digits, as RFC 3339 tools write it) and kept to the millisecond
 * (truncated, never rounded up into the next second).
 */
import { ArchiverError } from './errors.ts';

export const TIME_FORM = 'YYYY-MM-DD[T| ]HH:MM:SS[.fraction][Z|±HH:MM]';
export const TIME_EXAMPLE = '2026-11-21T10:15:00Z';

const TWO = '[0-9]{2}';
const FRACTION = '(?:\\.([0-9]{1,9}))?';
const ZONE = '(Z|[+-][0-9]{2}:[0-9]{2})';
const DATE_TIME = `([0-9]{4})-(${TWO})-(${TWO})[T ](${TWO}):(${TWO}):(${TWO})${FRACTION}`;
const GRAMMAR = new RegExp(`^${DATE_TIME}${ZONE}?$`);

/**
 * The same grammar for an OpenAPI `pattern` (the CRD), with the zone required and `T` as the separator, as
 * RFC 3339 and Kubernetes write times; the ranges of each field are spelled out, since a pattern cannot call
 * code. The day of the month and the year's leap day are left to `format: date-time`, which the API server checks.
 */
export const ZONED_TIME_PATTERN = '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$';

const MAX_OFFSET_MINUTES = 23 * 60 + 59;

function refuse(option: string, text: string, problem: string): ArchiverError {
  return new ArchiverError('EUSAGE', `${option} ${JSON.stringify(text)} ${problem}`, {
    hint: `write ${TIME_FORM}, e.g. ${TIME_EXAMPLE} or '2026-11-21 10:15:00' (no zone means UTC)`,
  });
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Minutes east of UTC of `Z` or `±HH:MM`, or a message saying what is out of range. */
function offsetMinutes(zone: string | undefined): number | string {
  if (zone === undefined || zone === 'Z') return 0;
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(4, 6));
  if (minutes > 59) return `has a zone offset with minute ${zone.slice(4, 6)} (00..59)`;
  const total = hours * 60 + minutes;
  if (total > MAX_OFFSET_MINUTES) return `has a zone offset ${zone} beyond ±23:59`;
  return zone.startsWith('-') ? -total : total;
}

/**
 * A user-given time as a Date, or EUSAGE (exit 2) saying which part is wrong. `option` names where it came
 * from in the message (`--until`, `spec.target.time`).
 */
export function parseTime(text: string, option: string): Date {
  const m = GRAMMAR.exec(text);
  if (m === null) throw refuse(option, text, 'is not a time of the accepted form');
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12) throw refuse(option, text, `has month ${m[2]} (01..12)`);
  if (day < 1 || day > daysIn(year, month)) throw refuse(option, text, `has day ${m[3]}, but ${m[1]}-${m[2]} has ${daysIn(year, month)} days`);
  if (hour > 23) throw refuse(option, text, `has hour ${m[4]} (00..23)`);
  if (minute > 59) throw refuse(option, text, `has minute ${m[5]} (00..59)`);
  if (second > 59) throw refuse(option, text, `has second ${m[6]} (00..59; binlogs have no leap seconds)`);
  const offset = offsetMinutes(m[8]);
  if (typeof offset === 'string') throw refuse(option, text, offset);
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0..99 to 1900..1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute - offset, second, millis);
  return date;
}
