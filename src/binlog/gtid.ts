/**
 * The flavour-neutral face of GTIDs: callers that handle both MySQL and MariaDB switch on `flavor`.
 */
import { MariadbGtidList, formatMariadbGtid, parseMariadbGtid } from './mariadb-gtid-list.ts';
import type { MariadbGtid } from './mariadb-gtid-list.ts';
import { MysqlGtidSet, formatMysqlGtid, parseMysqlGtid } from './mysql-gtid-set.ts';
import type { MysqlGtid } from './mysql-gtid-set.ts';

export { MariadbGtidList, MysqlGtidSet };
export type { MariadbGtid, MysqlGtid };

export type GtidFlavor = 'mysql' | 'mariadb';

/** A MySQL GTID set or a MariaDB GTID position list; both carry `flavor`. */
export type GtidSet = MysqlGtidSet | MariadbGtidList;

/** A single GTID of either flavour. */
export type Gtid = ({ readonly flavor: 'mysql' } & MysqlGtid) | ({ readonly flavor: 'mariadb' } & MariadbGtid);

export function parseGtidSet(flavor: GtidFlavor, text: string): GtidSet {
  return flavor === 'mysql' ? MysqlGtidSet.parse(text) : MariadbGtidList.parse(text);
}

export function emptyGtidSet(flavor: GtidFlavor): GtidSet {
  return flavor === 'mysql' ? MysqlGtidSet.empty() : MariadbGtidList.empty();
}

export function parseGtid(flavor: GtidFlavor, text: string): Gtid {
  return flavor === 'mysql'
    ? { flavor: 'mysql', ...parseMysqlGtid(text) }
    : { flavor: 'mariadb', ...parseMariadbGtid(text) };
}

export function formatGtid(g: Gtid): string {
  return g.flavor === 'mysql' ? formatMysqlGtid(g) : formatMariadbGtid(g);
}

/** Adds one GTID to a set of the same flavour, in place. */
export function addGtidTo(set: GtidSet, g: Gtid): void {
  if (set.flavor === 'mysql' && g.flavor === 'mysql') set.addGtid(g.uuid, g.gno, g.tag);
  else if (set.flavor === 'mariadb' && g.flavor === 'mariadb') set.add(g);
  else throw new TypeError(`cannot add a ${g.flavor} GTID to a ${set.flavor} GTID set`);
}

/** A new set holding both, for two sets of the same flavour (MariaDB: the later position per domain). */
export function gtidSetUnion(a: GtidSet, b: GtidSet): GtidSet {
  if (a.flavor === 'mysql' && b.flavor === 'mysql') return a.union(b);
  if (a.flavor === 'mariadb' && b.flavor === 'mariadb') return a.union(b);
  throw new TypeError(`cannot combine a ${a.flavor} GTID set with a ${b.flavor} one`);
}

/** set ⊇ other, for two sets of the same flavour. */
export function gtidSetContains(set: GtidSet, other: GtidSet): boolean {
  if (set.flavor === 'mysql' && other.flavor === 'mysql') return set.contains(other);
  if (set.flavor === 'mariadb' && other.flavor === 'mariadb') return set.contains(other);
  throw new TypeError(`cannot compare a ${set.flavor} GTID set with a ${other.flavor} one`);
}
