/**
 * MySQL GTID sets (`uuid[:tag]:intervals`), with the algebra a restore planner needs. Text output is byte-for-byte
 * what MySQL 8.4 prints (`Gtid_set::to_string`), except that UUID groups are joined by `,` rather than `,\n`:
 * UUIDs lowercase and sorted, under one UUID the untagged intervals first and then each tag in sorted order,
 * intervals merged (`uuid:1-5:7:mytag:1-3`).
 *
 * GNOs are bigint because MySQL allows them up to 2^63-2, past what a JS number holds exactly.
 */
import { ArchiverError } from '../errors.ts';
import { coversAll, insertInterval, subtractIntervals } from './gno-intervals.ts';
import type { GnoInterval } from './gno-intervals.ts';

export type { GnoInterval };

/** The intervals of one UUID/tag pair; `tag` is '' for untagged GTIDs. */
export interface GtidSetEntry {
  readonly uuid: string;
  readonly tag: string;
  readonly intervals: readonly GnoInterval[];
}

/** A single MySQL GTID. */
export interface MysqlGtid {
  readonly uuid: string;
  readonly tag: string;
  readonly gno: bigint;
}

/** Largest GNO MySQL accepts (`GNO_END` = INT64_MAX is exclusive). */
export const MAX_GNO = 2n ** 63n - 2n;
const TAG_MAX_LENGTH = 32;
const UUID_DASHED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const UUID_PLAIN = /^[0-9a-f]{32}/i;
const TAG_RE = /^[a-z_][a-z0-9_]*$/i;

interface MutableEntry {
  uuid: string;
  tag: string;
  intervals: GnoInterval[]; // sorted, disjoint, non-adjacent; elements are never mutated (clones share them)
}

function badInput(message: string): ArchiverError {
  return new ArchiverError('EBADINPUT', message, {
    hint: 'Write GTIDs as MySQL prints them: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7" or, tagged, "<uuid>:<tag>:1-3".',
  });
}

/** Lowercase dashed form of a UUID given dashed or as 32 hex digits. */
export function normalizeUuid(text: string): string {
  const t = text.trim();
  if (t.length === 36 && UUID_DASHED.test(t)) return t.toLowerCase();
  if (t.length === 32 && UUID_PLAIN.test(t)) {
    const h = t.toLowerCase();
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  throw badInput(`"${text}" is not a UUID (expected 8-4-4-4-12 hex digits)`);
}

/** MySQL tags are case-insensitive and stored lowercase: letter or `_` first, then letters, digits, `_`, ≤ 32. */
export function normalizeTag(tag: string): string {
  if (tag === '') return '';
  if (tag.length > TAG_MAX_LENGTH || !TAG_RE.test(tag)) {
    throw badInput(`"${tag}" is not a GTID tag (letter or _ first, then letters, digits or _, at most 32 characters)`);
  }
  return tag.toLowerCase();
}

function checkGno(gno: bigint, what: string): void {
  if (gno < 1n || gno > MAX_GNO) throw badInput(`${what} ${gno} is out of range 1..${MAX_GNO}`);
}

export function formatMysqlGtid(g: MysqlGtid): string {
  return g.tag === '' ? `${g.uuid}:${g.gno}` : `${g.uuid}:${g.tag}:${g.gno}`;
}

/** Parses one GTID, `uuid:n` or `uuid:tag:n`. */
export function parseMysqlGtid(text: string): MysqlGtid {
  const parts = text.trim().split(':').map((p) => p.trim());
  if ((parts.length !== 2 && parts.length !== 3) || !/^\d+$/.test(parts[parts.length - 1] ?? '')) {
    throw badInput(`malformed GTID "${text}": expected <uuid>:<number> or <uuid>:<tag>:<number>`);
  }
  const gno = BigInt(parts[parts.length - 1] ?? '');
  checkGno(gno, 'transaction number');
  return { uuid: normalizeUuid(parts[0] ?? ''), tag: parts.length === 3 ? normalizeTag(parts[1] ?? '') : '', gno };
}

function entryKey(uuid: string, tag: string): string {
  return tag === '' ? uuid : `${uuid}:${tag}`;
}

function compareEntries(x: MutableEntry, y: MutableEntry): number {
  if (x.uuid !== y.uuid) return x.uuid < y.uuid ? -1 : 1;
  if (x.tag === y.tag) return 0;
  return x.tag < y.tag ? -1 : 1;
}

const WS = new Set([' ', '\t', '\n', '\r', '\f', '\v']);

/**
 * A set of MySQL GTIDs. `add*` methods change the set in place (for accumulating while streaming); `union`,
 * `subtract` and `intersect` return new sets and leave both operands alone.
 */
export class MysqlGtidSet {
  readonly flavor = 'mysql' as const;
  readonly #entries = new Map<string, MutableEntry>();
  // Memo of the last (uuid, tag) added as given, so streaming adds skip normalisation and the map lookup.
  #lastUuidArg = '';
  #lastTagArg = '';
  #lastEntry: MutableEntry | null = null;

  static empty(): MysqlGtidSet {
    return new MysqlGtidSet();
  }

  /** Parses MySQL's text form; whitespace and newlines anywhere between tokens are ignored, empty text is the empty set. */
  static parse(text: string): MysqlGtidSet {
    const set = new MysqlGtidSet();
    let i = 0;
    const n = text.length;
    const skipWs = (): void => {
      while (i < n && WS.has(text[i] as string)) i++;
    };
    const fail = (expected: string): never => {
      const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
      throw badInput(`malformed GTID set "${shown}": expected ${expected} at character ${i}`);
    };
    const readNumber = (): bigint => {
      const m = /^\d+/.exec(text.slice(i, i + 25));
      if (m === null) return fail('a transaction number');
      i += m[0].length;
      const v = BigInt(m[0]);
      if (v < 1n || v > MAX_GNO) fail(`a transaction number in 1..${MAX_GNO}, found ${m[0]},`);
      return v;
    };
    for (;;) {
      skipWs();
      while (text[i] === ',') {
        i++;
        skipWs();
      }
      if (i >= n) return set;
      const head = text.slice(i, i + 36);
      let uuid: string;
      if (UUID_DASHED.test(head)) {
        uuid = head.toLowerCase();
        i += 36;
      } else if (UUID_PLAIN.test(head)) {
        uuid = normalizeUuid(head.slice(0, 32));
        i += 32;
      } else {
        return fail('a UUID');
      }
      let tag = '';
      skipWs();
      while (text[i] === ':') {
        i++;
        skipWs();
        const tm = /^[a-z_][a-z0-9_]*/i.exec(text.slice(i, i + TAG_MAX_LENGTH + 1));
        if (tm !== null) {
          if (tm[0].length > TAG_MAX_LENGTH) fail(`a tag of at most ${TAG_MAX_LENGTH} characters`);
          tag = tm[0].toLowerCase();
          i += tm[0].length;
          skipWs();
          continue;
        }
        const start = readNumber();
        skipWs();
        let end = start;
        if (text[i] === '-') {
          i++;
          skipWs();
          end = readNumber();
          if (end < start) fail(`an interval end ≥ ${start}, found ${end},`);
          skipWs();
        }
        set.addInterval(uuid, start, end, tag);
      }
      if (i < n && text[i] !== ',') fail('",", ":" or the end of the text');
    }
  }

  /** Adds one GTID in place. */
  addGtid(uuid: string, gno: bigint | number, tag = ''): this {
    const g = BigInt(gno);
    return this.addInterval(uuid, g, g, tag);
  }

  /** Adds the inclusive range start..end in place. */
  addInterval(uuid: string, start: bigint | number, end: bigint | number, tag = ''): this {
    const s = BigInt(start);
    const e = BigInt(end);
    checkGno(s, 'interval start');
    checkGno(e, 'interval end');
    if (e < s) throw badInput(`interval ${s}-${e} ends before it starts`);
    // Entries are never removed from a set, so the memo cannot go stale.
    let entry = this.#lastEntry;
    if (entry === null || uuid !== this.#lastUuidArg || tag !== this.#lastTagArg) {
      const u = normalizeUuid(uuid);
      const t = normalizeTag(tag);
      const key = entryKey(u, t);
      const found = this.#entries.get(key) ?? { uuid: u, tag: t, intervals: [] };
      this.#entries.set(key, found);
      this.#lastUuidArg = uuid;
      this.#lastTagArg = tag;
      this.#lastEntry = found;
      entry = found;
    }
    insertInterval(entry.intervals, s, e);
    return this;
  }

  clone(): MysqlGtidSet {
    const copy = new MysqlGtidSet();
    for (const [k, e] of this.#entries) copy.#entries.set(k, { uuid: e.uuid, tag: e.tag, intervals: [...e.intervals] });
    return copy;
  }

  union(other: MysqlGtidSet): MysqlGtidSet {
    const out = this.clone();
    for (const e of other.#entries.values()) {
      for (const iv of e.intervals) out.addInterval(e.uuid, iv.start, iv.end, e.tag);
    }
    return out;
  }

  /** GTIDs in this set and not in `other`. */
  subtract(other: MysqlGtidSet): MysqlGtidSet {
    const out = new MysqlGtidSet();
    for (const [k, e] of this.#entries) {
      const cut = other.#entries.get(k);
      const rest = cut === undefined ? [...e.intervals] : subtractIntervals(e.intervals, cut.intervals);
      if (rest.length > 0) out.#entries.set(k, { uuid: e.uuid, tag: e.tag, intervals: rest });
    }
    return out;
  }

  intersect(other: MysqlGtidSet): MysqlGtidSet {
    return this.subtract(this.subtract(other));
  }

  /** True when every GTID of `other` is in this set (this ⊇ other). */
  contains(other: MysqlGtidSet): boolean {
    for (const [k, e] of other.#entries) {
      const mine = this.#entries.get(k);
      if (mine === undefined || !coversAll(mine.intervals, e.intervals)) return false;
    }
    return true;
  }

  containsGtid(uuid: string, gno: bigint | number, tag = ''): boolean {
    const entry = this.#entries.get(entryKey(normalizeUuid(uuid), normalizeTag(tag)));
    if (entry === undefined) return false;
    const g = BigInt(gno);
    return coversAll(entry.intervals, [{ start: g, end: g }]);
  }

  isEmpty(): boolean {
    return this.#entries.size === 0;
  }

  equals(other: MysqlGtidSet): boolean {
    return this.contains(other) && other.contains(this);
  }

  /** Number of GTIDs in the set. */
  count(): bigint {
    let total = 0n;
    for (const e of this.#entries.values()) for (const iv of e.intervals) total += iv.end - iv.start + 1n;
    return total;
  }

  /** Entries in MySQL's print order. */
  entries(): GtidSetEntry[] {
    return [...this.#entries.values()].sort(compareEntries).map((e) => ({ uuid: e.uuid, tag: e.tag, intervals: [...e.intervals] }));
  }

  /** MySQL's text form; `separator` goes between UUIDs (MySQL itself uses ",\n"). Empty set → ''. */
  format(separator = ','): string {
    const groups: string[] = [];
    let current = '';
    let currentUuid: string | null = null;
    for (const e of this.entries()) {
      if (e.uuid !== currentUuid) {
        if (currentUuid !== null) groups.push(current);
        current = e.uuid;
        currentUuid = e.uuid;
      }
      if (e.tag !== '') current += `:${e.tag}`;
      for (const iv of e.intervals) current += iv.start === iv.end ? `:${iv.start}` : `:${iv.start}-${iv.end}`;
    }
    if (currentUuid !== null) groups.push(current);
    return groups.join(separator);
  }

  toString(): string {
    return this.format();
  }

  toJSON(): string {
    return this.format();
  }
}
