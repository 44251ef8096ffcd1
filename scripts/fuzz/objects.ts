/**
 * Fuzz target `objects`: a few real binlogs archived once into a file:// store under a generated local key,
 * in both formats (native gcm, and openssl-aes-256-cbc with its HMAC sidecar). Each case copies that store
 * and then either mutates an object (rewriting the manifest's object sha256/size, and the sidecar's object
 * facts, to match, so only the cryptography can catch it), mutates a sidecar, or mutates a manifest entry
 * (its JSON fields, or its bytes). objects-oracle.ts runs verify and restore and judges the result.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { openStore } from '../../src/store/open-store.ts';
import { FIXTURES, KINGBUS, binlogDir, newKeyUrl, newPassphraseUrl } from '../../test/support/archive.ts';
import { type Doc, type Json, boundChanges, entryProblems, mutateDoc, sameJson } from './entry-mutations.ts';
import { NO_SHAPE, Rng, type Shape, caseSeed, mutate } from './mutate.ts';
import { BIN } from '../../test/support/cli.ts';
import { OUT_PARENT, type StoreCase, judgeStore } from './objects-oracle.ts';
import type { FuzzTarget, PreparedCase, TargetContext } from './outcome.ts';

type Format = 'gcm' | 'openssl-aes-256-cbc';

interface Archived {
  source: string;
  format: Format;
  /** Paths relative to the store directory. */
  entry: string;
  object: string;
  sidecar: string | null;
}

const SOURCES: { source: string; format: Format; files: string[] }[] = [
  { source: 'g', format: 'gcm', files: KINGBUS.slice(0, 2) },
  { source: 'c', format: 'openssl-aes-256-cbc', files: KINGBUS.slice(1, 3) },
  { source: 'm', format: 'gcm', files: [path.join(FIXTURES, 'mariadb/rust_mysql_common/mariadb-bin.000001')] },
];

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Record boundaries and length fields of a native object (docs/FORMAT.md 1, 2.1, 5). */
function objectShape(bytes: Buffer, format: Format): Shape {
  if (format !== 'gcm') return { boundaries: [0, 8, 16, 32, 48, bytes.length - 16], lengthFields: [] };
  const shape: Shape = { boundaries: [0, 8, 10, 12, 16], lengthFields: [{ at: 8, width: 2, littleEndian: false }, { at: 10, width: 2, littleEndian: false }, { at: 12, width: 4, littleEndian: false }] };
  for (let at = 16 + bytes.readUInt32BE(12); at + 16 <= bytes.length; at += 16 + bytes.readUInt32BE(at + 12)) {
    shape.boundaries.push(at);
    for (const o of [0, 4, 8, 12]) shape.lengthFields.push({ at: at + o, width: 4, littleEndian: false });
  }
  return shape;
}

/** Archives every source; returns what was archived and, per source, the binlogs as archived (by name). */
async function archiveAll(base: string, keys: Record<Format, string>): Promise<{ archived: Archived[]; originals: Map<string, Map<string, Buffer>> }> {
  const store = openStore(`file://${path.join(base, 'store')}`);
  const originals = new Map<string, Map<string, Buffer>>();
  for (const s of SOURCES) {
    const { dir, names } = binlogDir(s.files);
    try {
      // binlogDir's copies, not the fixtures, are the originals (it closes each copy as a server would).
      originals.set(s.source, new Map(names.map((n) => [n, fs.readFileSync(path.join(dir, n))])));
      await runArchive({ binlogDir: dir, store, keyUrl: keys[s.format], format: s.format, source: s.source, segmentSize: 1024 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const archived = SOURCES.flatMap((s) => fs.readdirSync(path.join(base, 'store', 'manifest', s.source)).sort().map((f) => {
    const entry = path.join('manifest', s.source, f);
    const doc = JSON.parse(fs.readFileSync(path.join(base, 'store', entry), 'utf8')) as { object: { key: string; sidecarKey: string | null } };
    return { source: s.source, format: s.format, entry, object: doc.object.key, sidecar: doc.object.sidecarKey };
  }));
  return { archived, originals };
}

function writeJson(file: string, doc: unknown): void {
  fs.writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
}

/** Mutates the object's bytes, then rewrites the manifest (and sidecar) object facts to match them. */
function mutateObject(store: string, a: Archived, all: Archived[], rng: Rng): { steps: string[]; changed: boolean } {
  const file = path.join(store, a.object);
  const before = fs.readFileSync(file);
  const peers = all.filter((p) => p.format === a.format && p !== a);
  let after: Buffer;
  let steps: string[];
  if (peers.length > 0 && rng.chance(0.08)) {
    const peer = rng.pick(peers);
    after = fs.readFileSync(path.join(store, peer.object));
    steps = [`replace the object with ${peer.object}`];
  } else {
    ({ bytes: after, steps } = mutate(before, rng, objectShape(before, a.format), peers.map((p) => fs.readFileSync(path.join(store, p.object)))));
  }
  fs.writeFileSync(file, after);
  const entry = JSON.parse(fs.readFileSync(path.join(store, a.entry), 'utf8')) as { object: { sha256: string; size: number } };
  entry.object.sha256 = sha256(after);
  entry.object.size = after.length;
  writeJson(path.join(store, a.entry), entry);
  if (a.sidecar !== null) {
    const sidecar = JSON.parse(fs.readFileSync(path.join(store, a.sidecar), 'utf8')) as { objectSha256: string; objectLength: number };
    sidecar.objectSha256 = sha256(after);
    sidecar.objectLength = after.length;
    writeJson(path.join(store, a.sidecar), sidecar);
  }
  return { steps: [`mutate object ${a.object} (manifest${a.sidecar === null ? '' : ' and sidecar'} object sha256/size rewritten)`, ...steps], changed: !before.equals(after) };
}

function parseJson(bytes: Buffer): { ok: true; doc: Json } | { ok: false } {
  try {
    return { ok: true, doc: JSON.parse(bytes.toString('utf8')) as Json };
  } catch {
    return { ok: false };
  }
}

/** Mutates a JSON document of the store as a document (1 in 4 cases: as bytes). */
function mutateJsonFile(file: string, rng: Rng, related: string[]): { steps: string[]; before: Doc; after: Json | undefined } {
  const bytes = fs.readFileSync(file);
  const before = JSON.parse(bytes.toString('utf8')) as Doc;
  if (rng.chance(0.25)) {
    const r = mutate(bytes, rng, NO_SHAPE);
    fs.writeFileSync(file, r.bytes);
    const parsed = parseJson(r.bytes);
    return { steps: r.steps, before, after: parsed.ok ? parsed.doc : undefined };
  }
  const r = mutateDoc(before, rng, related);
  writeJson(file, r.doc);
  return { steps: r.steps, before, after: r.doc };
}

/** The sidecar members a reader uses: `key` is informational, unknown members are ignored (docs/FORMAT.md 10.4). */
const SIDECAR_MEMBERS = ['format', 'version', 'identity', 'zstdLevel', 'segmentSize', 'pbkdf2Iterations', 'salt', 'keyCheck', 'plaintextLength', 'plaintextSha256', 'objectLength', 'objectSha256', 'hmacSha256'];

function sidecarFacts(doc: Json | undefined): Json | undefined {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return doc;
  return Object.fromEntries(SIDECAR_MEMBERS.filter((m) => m in doc).map((m) => [m, doc[m] as Json]));
}

export async function createTarget(ctx: TargetContext): Promise<FuzzTarget> {
  const base = path.join(ctx.work, 'pristine');
  fs.mkdirSync(path.join(base, 'keys'), { recursive: true });
  const keyNames: Record<Format, string> = { gcm: path.basename(newKeyUrl(path.join(base, 'keys'))), 'openssl-aes-256-cbc': path.basename(newPassphraseUrl(path.join(base, 'keys'))) };
  const keyUrl = (f: Format): string => `file://${path.join(base, 'keys', keyNames[f])}`;
  const { archived, originals } = await archiveAll(base, { gcm: keyUrl('gcm'), 'openssl-aes-256-cbc': keyUrl('openssl-aes-256-cbc') });
  if (archived.length !== SOURCES.reduce((n, s) => n + s.files.length, 0)) throw new Error(`fuzz objects: archived ${archived.length} binlogs, expected every one of ${SOURCES.map((s) => s.files.length).join('+')}`);
  const related = archived.flatMap((a) => [a.object, path.basename(a.entry, '.json').replace(/^\d+-/, ''), a.source]);
  return {
    prepare(index: number): Promise<PreparedCase> {
      const rng = new Rng(caseSeed(ctx.seed, 'objects', index));
      const a = rng.pick(archived);
      const dir = path.join(ctx.work, `case-${index}`);
      const store = path.join(dir, 'store');
      fs.cpSync(base, dir, { recursive: true });
      const own = originals.get(a.source) as Map<string, Buffer>;
      fs.mkdirSync(path.join(dir, OUT_PARENT), { recursive: true });
      for (const [name, bytes] of own) fs.writeFileSync(path.join(dir, OUT_PARENT, name), bytes);
      const what = rng.int(100);
      let steps: string[];
      let mustRefuse: string;
      let changed: boolean;
      let restoreMustRefuse = false;
      if (what < 50 || (what < 60 && a.sidecar === null)) {
        ({ steps, changed } = mutateObject(store, a, archived, rng));
        mustRefuse = `a mutated ${a.format} object`;
        restoreMustRefuse = true;
      } else if (what < 60 && a.sidecar !== null) {
        const r = mutateJsonFile(path.join(store, a.sidecar), rng, related);
        steps = [`mutate sidecar ${a.sidecar}`, ...r.steps];
        changed = !sameJson(r.before, r.after);
        // JSON whitespace, `key` and unknown members are free; every other member is authenticated.
        mustRefuse = sameJson(sidecarFacts(r.before), sidecarFacts(r.after)) ? '' : 'a mutated sidecar';
        restoreMustRefuse = mustRefuse !== '';
      } else {
        const r = mutateJsonFile(path.join(store, a.entry), rng, related);
        steps = [`mutate manifest entry ${a.entry}`, ...r.steps];
        changed = !sameJson(r.before, r.after);
        const problems = r.after === undefined ? ['JSON'] : entryProblems(r.after);
        const bound = r.after === undefined ? [] : boundChanges(r.before, r.after, a.format);
        mustRefuse = problems.length > 0 ? `an ill-typed entry (${problems[0] ?? ''})` : bound.length > 0 ? `an entry with ${bound[0] ?? ''} changed` : '';
      }
      const keyUrl = `file://${path.join(dir, 'keys', keyNames[a.format])}`;
      const cli = ctx.cliEvery > 0 && index % ctx.cliEvery === 0 ? (index / ctx.cliEvery) % 2 === 0 ? 'verify' : 'restore' : '';
      const c: StoreCase = { dir, source: a.source, keyUrl, originals: own, mustRefuse, restoreMustRefuse, cli, cliTimeoutMs: ctx.caseTimeoutMs };
      const args = `--store file://$PWD/store --key file://$PWD/keys/${keyNames[a.format]} --source ${a.source}`;
      return Promise.resolve({
        dir, steps,
        // verify, restore, and maybe the CLI: each may take up to the case timeout.
        stages: cli === '' ? 2 : 3,
        rerun: ['cd files', `${process.execPath} ${BIN} verify ${args}`, `${process.execPath} ${BIN} restore ${args} --out $PWD/${OUT_PARENT}/out-again`],
        run: async () => (changed ? judgeStore(c) : { verdict: 'unchanged', cls: 'unchanged', detail: '' }),
      });
    },
  };
}
