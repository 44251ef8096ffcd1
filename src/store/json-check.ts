/**
 * A small checker DSL for JSON read from the store (manifest entries, source indexes): each checker returns the
 * typed value, or records under the field's dotted path why the value is not acceptable. Records build new
 * objects from their checked fields only, so nothing unchecked (an extra field, a `__proto__` key) passes
 * through. The API side has its own schema DSL (src/api/schema.ts), but it emits OpenAPI for the API server to
 * enforce and validates nothing at run time, and src/store must not import upward.
 */

/** Returned by a checker whose value failed; the reason is in the Problems it was given. */
export const BAD: unique symbol = Symbol('bad');
export type Bad = typeof BAD;

export class Problems {
  readonly list: string[] = [];

  /** Names the whole document in messages (field ''), e.g. "the entry". */
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** Records `<field> <what>` and returns BAD, so checkers can `return problems.add(...)`. */
  add(field: string, what: string): Bad {
    this.list.push(`${field === '' ? this.root : field} ${what}`);
    return BAD;
  }
}

export type Check<T> = (value: unknown, field: string, problems: Problems) => T | Bad;
type Out<C> = C extends Check<infer T> ? T : never;

/** What a bad value was, for messages: its JSON type, or a short JSON-quoted string (quotes newlines too). */
export function shown(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 80 ? `${JSON.stringify(value.slice(0, 80))}…` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `a value of type ${typeof value}`;
}

export interface TextOptions {
  /** Bounds in UTF-8 bytes; min defaults to 1. */
  min?: number;
  max: number;
  /** Control characters (newline, NUL, ...) are refused unless the writer copies raw bytes into the field. */
  controls?: boolean;
  pattern?: RegExp;
  /** What the pattern means, for the message, e.g. "64 lowercase hex digits". */
  shape?: string;
}

export function text(o: TextOptions): Check<string> {
  const min = o.min ?? 1;
  return (value, field, problems) => {
    if (typeof value !== 'string') return problems.add(field, `must be a string (got ${shown(value)})`);
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes < min || bytes > o.max) return problems.add(field, `must be ${min} to ${o.max} UTF-8 bytes (got ${bytes})`);
    if (!value.isWellFormed()) return problems.add(field, 'is not well-formed Unicode');
    if (o.controls !== true && /\p{Cc}/u.test(value)) return problems.add(field, `contains a control character (${shown(value)})`);
    if (o.pattern !== undefined && !o.pattern.test(value)) return problems.add(field, `must be ${o.shape ?? `like ${String(o.pattern)}`} (got ${shown(value)})`);
    return value;
  };
}

/** A safe integer in [min, max]. */
export function integer(min = 0, max = Number.MAX_SAFE_INTEGER): Check<number> {
  return (value, field, problems) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      return problems.add(field, `must be an integer from ${min} to ${max} (got ${shown(value)})`);
    }
    return value;
  };
}

export const bool: Check<boolean> = (value, field, problems) =>
  typeof value === 'boolean' ? value : problems.add(field, `must be true or false (got ${shown(value)})`);

export function oneOf<const V extends readonly string[]>(values: V): Check<V[number]> {
  return (value, field, problems) =>
    typeof value === 'string' && values.includes(value) ? value : problems.add(field, `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')} (got ${shown(value)})`);
}

export function nullable<T>(check: Check<T>): Check<T | null> {
  return (value, field, problems) => (value === null ? null : check(value, field, problems));
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const join = (field: string, name: string): string => (field === '' ? name : `${field}.${name}`);

const OPTIONAL: unique symbol = Symbol('optional');
type Optional<T> = Check<T> & { [OPTIONAL]: true };

/** A record field that may be absent (a field added later: documents written before it lack it); never null. */
export function optional<T>(check: Check<T>): Optional<T> {
  return Object.assign((value: unknown, field: string, problems: Problems) => check(value, field, problems), { [OPTIONAL]: true as const });
}

type Fields<S> = { [K in keyof S as S[K] extends Optional<unknown> ? never : K]: Out<S[K]> } & { [K in keyof S as S[K] extends Optional<unknown> ? K : never]?: Out<S[K]> };

/**
 * An object with exactly these fields checked (each must be present, unless `optional`; null only where the
 * field is nullable).
 */
export function record<S extends Record<string, Check<unknown>>>(shape: S): Check<Fields<S>> {
  return (value, field, problems) => {
    if (!isObject(value)) return problems.add(field, `must be a JSON object (got ${shown(value)})`);
    const out: Record<string, unknown> = {};
    let ok = true;
    for (const [name, check] of Object.entries(shape)) {
      const at = join(field, name);
      if (!Object.hasOwn(value, name) && OPTIONAL in check) continue;
      const checked = Object.hasOwn(value, name) ? check(value[name], at, problems) : problems.add(at, 'is missing');
      if (checked === BAD) ok = false;
      else out[name] = checked;
    }
    return ok ? (out as Fields<S>) : BAD;
  };
}

/** A string-keyed map of checked values (built with Object.fromEntries, so "__proto__" stays an ordinary key). */
export function map<T>(keys: Check<string>, values: Check<T>, maxEntries: number): Check<Record<string, T>> {
  return (value, field, problems) => {
    if (!isObject(value)) return problems.add(field, `must be a JSON object (got ${shown(value)})`);
    const entries = Object.entries(value);
    if (entries.length > maxEntries) return problems.add(field, `has ${entries.length} entries, at most ${maxEntries} are allowed`);
    const out: [string, T][] = [];
    let ok = true;
    for (const [k, v] of entries) {
      const key = keys(k, `${field} key`, problems);
      const checked = values(v, `${field}[${JSON.stringify(k)}]`, problems);
      if (key === BAD || checked === BAD) ok = false;
      else out.push([key, checked]);
    }
    return ok ? Object.fromEntries(out) : BAD;
  };
}

/** A JSON array of checked items, at most `maxItems`. */
export function list<T>(items: Check<T>, maxItems: number): Check<T[]> {
  return (value, field, problems) => {
    if (!Array.isArray(value)) return problems.add(field, `must be a JSON array (got ${shown(value)})`);
    if (value.length > maxItems) return problems.add(field, `has ${value.length} items, at most ${maxItems} are allowed`);
    const out: T[] = [];
    let ok = true;
    value.forEach((v: unknown, i) => {
      const checked = items(v, `${field}[${i}]`, problems);
      if (checked === BAD) ok = false;
      else out.push(checked);
    });
    return ok ? out : BAD;
  };
}
