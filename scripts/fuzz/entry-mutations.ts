/**
 * Mutations of JSON documents read from the store (manifest entries, sidecars) and the fuzzer's own oracle of a
 * manifest entry: which JSON types each field may hold, and which fields are bound to the archived bytes (so a
 * changed value must be refused) rather than free (informational: any value of the right type may pass).
 */
import type { Rng } from './mutate.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Doc = { [k: string]: Json };

type Kind = 'object' | 'string' | 'string?' | 'int' | 'int?' | 'bool' | { oneOf: string[] };

/** The manifest entry as src/store/manifest.ts writes it (v1); every member required. */
const ENTRY_SCHEMA: Record<string, Kind> = {
  schema: { oneOf: ['binlog-archiver.dev/manifest-entry/v1'] }, correlationId: 'string', batchId: 'string', archivedAt: 'string',
  source: 'object', 'source.name': 'string', 'source.serverId': 'int?', 'source.serverUuid': 'string?', 'source.flavor': { oneOf: ['mysql', 'mariadb'] },
  'source.version': 'string?',
  binlog: 'object', 'binlog.name': 'string', 'binlog.sequence': 'int', 'binlog.size': 'int', 'binlog.sha256': 'string', 'binlog.firstEventTime': 'string?',
  'binlog.lastEventTime': 'string?', 'binlog.firstPosition': 'int', 'binlog.lastPosition': 'int', 'binlog.endPosition': 'int', 'binlog.previousGtids': 'string?',
  'binlog.gtidsAdded': 'string', 'binlog.firstGtid': 'string?', 'binlog.lastGtid': 'string?', 'binlog.checksumAlg': 'string?', 'binlog.mysqlEncryptionKeyId': 'string?',
  'binlog.transactionCompressed': 'bool',
  object: 'object', 'object.key': 'string', 'object.size': 'int', 'object.sha256': 'string', 'object.format': { oneOf: ['gcm', 'openssl-aes-256-cbc'] },
  'object.formatVersion': 'int', 'object.sidecarKey': 'string?',
  key: 'object', 'key.provider': 'string', 'key.keyId': 'string', 'key.keyVersion': 'string?', 'key.wrappedDek': 'string?', 'key.context': 'object',
};

/** Informational members: their value is not derived from, nor bound to, the archived bytes. */
const FREE = new Set(['archivedAt', 'object.formatVersion', 'key']);

function get(doc: Json, path: string): Json | undefined {
  let v: Json | undefined = doc;
  for (const p of path.split('.')) v = v !== null && typeof v === 'object' && !Array.isArray(v) ? v[p] : undefined;
  return v;
}

function fits(v: Json | undefined, kind: Kind): boolean {
  if (typeof kind === 'object') return typeof v === 'string' && kind.oneOf.includes(v);
  const int = (x: unknown): boolean => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  switch (kind) {
    case 'object': return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'string': return typeof v === 'string';
    case 'string?': return v === null || typeof v === 'string';
    case 'int': return int(v);
    case 'int?': return v === null || int(v);
    case 'bool': return typeof v === 'boolean';
  }
}

/** The members of `doc` missing or of the wrong type (unknown extra members are tolerated); [] when well typed. */
export function entryProblems(doc: Json): string[] {
  if (!fits(doc, 'object')) return ['the document'];
  const problems = Object.entries(ENTRY_SCHEMA).filter(([path, kind]) => !fits(get(doc, path), kind)).map(([path]) => path);
  const context = get(doc, 'key.context');
  if (fits(context, 'object') && Object.values(context as Doc).some((v) => typeof v !== 'string')) problems.push('key.context.*');
  return problems;
}

/** The bound members whose value differs between two entries (an entry that a verify must then refuse). */
export function boundChanges(before: Doc, after: Json, format: string): string[] {
  return Object.keys(ENTRY_SCHEMA).filter((path) => {
    if (ENTRY_SCHEMA[path] === 'object' || FREE.has(path.split('.')[0] as string) || FREE.has(path)) return false;
    if (path === 'object.sidecarKey' && format === 'gcm') return false;
    return JSON.stringify(get(before, path)) !== JSON.stringify(get(after, path));
  });
}

/** Every member path of a document, objects included, e.g. `binlog`, `binlog.name`. */
function paths(doc: Json, prefix = ''): string[] {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return [];
  return Object.entries(doc).flatMap(([k, v]) => [`${prefix}${k}`, ...paths(v, `${prefix}${k}.`)]);
}

function bumpDigit(s: string): string {
  const i = s.search(/\d(?!.*\d)/);
  return i < 0 ? `${s}0` : `${s.slice(0, i)}${(Number(s[i]) + 1) % 10}${s.slice(i + 1)}`;
}

/** Replacement values for a member: other types, boundary numbers, hostile names, near-identical strings. */
function candidates(v: Json, related: readonly string[]): (Json | undefined)[] {
  const any: (Json | undefined)[] = [undefined, null, true, 0, -1, 1.5, 2 ** 53, 1e21, '', 'x', [], {}, [v]];
  if (typeof v === 'number') return [...any, v + 1, v - 1, -v, v * 2, 2 ** 32, 2 ** 53 - 1, String(v)];
  if (typeof v === 'string') {
    return [...any, bumpDigit(v), v.slice(0, -1), `${v}\n`, `${v}/x`, `../${v}`, '../../../fz-escape', '/etc/passwd', '.', '..', 'fz\u0000nul', 'x'.repeat(300), v.toUpperCase(), ...related, Number(v.replace(/\D/g, '').slice(0, 15) || '7')];
  }
  if (typeof v === 'boolean') return [...any, !v, v ? 1 : 0, String(v)];
  return any;
}

/**
 * Changes 1 or 2 members of a copy of `doc` (delete, retype, renumber, rename, or add an unknown member).
 * `related` are strings worth trying in any string member (other entries' names and keys). Returns the copy
 * and one line per change.
 */
export function mutateDoc(doc: Doc, rng: Rng, related: readonly string[] = []): { doc: Json; steps: string[] } {
  let out = structuredClone(doc) as Json;
  const steps: string[] = [];
  for (let n = rng.pick([1, 1, 1, 2]); n > 0; n--) {
    const all = paths(out);
    if (all.length === 0 || rng.chance(0.03)) {
      out = rng.pick<Json>([null, [], 'x', 5, {}]);
      steps.push(`replace the whole document with ${JSON.stringify(out)}`);
      break;
    }
    const path = rng.pick(all);
    const parts = path.split('.');
    const last = parts.pop() as string;
    const parent = (parts.length === 0 ? out : get(out, parts.join('.'))) as Doc;
    if (rng.chance(0.05)) {
      parent[`fz${rng.int(100)}`] = 'unknown';
      steps.push(`add an unknown member beside ${path}`);
      continue;
    }
    const value = rng.pick(candidates(parent[last] as Json, related));
    if (value === undefined) delete parent[last];
    else parent[last] = value;
    steps.push(value === undefined ? `delete ${path}` : `set ${path} to ${JSON.stringify(value).slice(0, 80)}`);
  }
  return { doc: out, steps };
}

/** Deep equality of two JSON values, ignoring member order. */
export function sameJson(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => sameJson((a as Doc)[k], (b as Doc)[k]));
}

export type { Json, Doc };
