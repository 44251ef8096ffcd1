/**
 * MariaDB GTID positions (`domain-server-seq`, e.g. `0-1-100,1-2-5`). MariaDB's model differs from MySQL's:
 * a position is the last GTID applied per replication domain, not a set of every transaction, so "contains" means
 * "at or past, in every domain".
 */
import { ArchiverError } from '../errors.ts';

export interface MariadbGtid {
  readonly domainId: number;
  readonly serverId: number;
  readonly seqNo: bigint;
}

const U32_MAX = 0xffffffff;
const U64_MAX = 2n ** 64n - 1n;

function badInput(message: string): ArchiverError {
  return new ArchiverError('EBADINPUT', message, {
    hint: 'Write MariaDB GTID positions as MariaDB prints them: "<domain>-<server_id>-<seq_no>", comma separated, one per domain.',
  });
}

export function formatMariadbGtid(g: MariadbGtid): string {
  return `${g.domainId}-${g.serverId}-${g.seqNo}`;
}

/** Parses one `domain-server-seq` GTID. */
export function parseMariadbGtid(text: string): MariadbGtid {
  const m = /^\s*(\d+)\s*-\s*(\d+)\s*-\s*(\d+)\s*$/.exec(text);
  if (m === null) throw badInput(`malformed MariaDB GTID "${text}": expected <domain>-<server_id>-<seq_no>`);
  const domainId = Number(m[1]);
  const serverId = Number(m[2]);
  const seqNo = BigInt(m[3] as string);
  if (domainId > U32_MAX || serverId > U32_MAX || seqNo > U64_MAX) {
    throw badInput(`MariaDB GTID "${text.trim()}" is out of range (domain and server id are 32-bit, seq_no 64-bit)`);
  }
  return { domainId, serverId, seqNo };
}

/** One GTID per domain. `add` changes the list in place; `union` returns a new one. */
export class MariadbGtidList {
  readonly flavor = 'mariadb' as const;
  readonly #byDomain = new Map<number, MariadbGtid>();

  static empty(): MariadbGtidList {
    return new MariadbGtidList();
  }

  /** Parses `0-1-100,1-2-5`; whitespace and newlines are ignored; a domain may appear once. */
  static parse(text: string): MariadbGtidList {
    const list = new MariadbGtidList();
    for (const part of text.split(',')) {
      if (part.trim() === '') continue;
      const g = parseMariadbGtid(part);
      if (list.#byDomain.has(g.domainId)) {
        throw badInput(`MariaDB GTID position "${text.trim()}" names domain ${g.domainId} more than once`);
      }
      list.#byDomain.set(g.domainId, g);
    }
    return list;
  }

  /** Records `g` for its domain unless the list already holds a higher sequence number there. */
  add(g: MariadbGtid): this {
    const cur = this.#byDomain.get(g.domainId);
    if (cur === undefined || g.seqNo > cur.seqNo) this.#byDomain.set(g.domainId, g);
    return this;
  }

  get(domainId: number): MariadbGtid | undefined {
    return this.#byDomain.get(domainId);
  }

  /** Per domain, the GTID with the higher sequence number (on a tie, this list's). */
  union(other: MariadbGtidList): MariadbGtidList {
    const out = new MariadbGtidList();
    for (const g of this.#byDomain.values()) out.add(g);
    for (const g of other.#byDomain.values()) out.add(g);
    return out;
  }

  /** True when this position is at or past `other` in every domain `other` has. */
  contains(other: MariadbGtidList): boolean {
    for (const [domain, g] of other.#byDomain) {
      const mine = this.#byDomain.get(domain);
      if (mine === undefined || mine.seqNo < g.seqNo) return false;
    }
    return true;
  }

  /**
   * Compares one domain: negative when this list is behind `other`, 0 when at the same sequence number, positive
   * when ahead; null when either list lacks the domain.
   */
  compareDomain(domainId: number, other: MariadbGtidList): number | null {
    const a = this.#byDomain.get(domainId);
    const b = other.#byDomain.get(domainId);
    if (a === undefined || b === undefined) return null;
    return a.seqNo === b.seqNo ? 0 : a.seqNo < b.seqNo ? -1 : 1;
  }

  domains(): number[] {
    return [...this.#byDomain.keys()].sort((x, y) => x - y);
  }

  entries(): MariadbGtid[] {
    return this.domains().map((d) => this.#byDomain.get(d) as MariadbGtid);
  }

  isEmpty(): boolean {
    return this.#byDomain.size === 0;
  }

  /** Same GTID (server id included) in every domain. */
  equals(other: MariadbGtidList): boolean {
    if (this.#byDomain.size !== other.#byDomain.size) return false;
    for (const [domain, g] of this.#byDomain) {
      const o = other.#byDomain.get(domain);
      if (o === undefined || o.serverId !== g.serverId || o.seqNo !== g.seqNo) return false;
    }
    return true;
  }

  /** Sorted by domain, comma separated; empty list → ''. */
  format(separator = ','): string {
    return this.entries().map(formatMariadbGtid).join(separator);
  }

  toString(): string {
    return this.format();
  }

  toJSON(): string {
    return this.format();
  }
}
