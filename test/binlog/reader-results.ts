/**
 * Everything the binlog reader and the restore's boundary scan derive from a binlog, as plain JSON: the BinlogInfo
 * (file reader and push inspector at several chunk sizes, CRC32 checked or not), every event and transaction, the
 * boundary scans for a spread of targets, start points and positions, and the errors of damaged copies (cut, or
 * one byte changed). reader-equivalence.test.ts compares this with test/fixtures/reader-golden.json, written by the
 * reader before it stopped building an object per event (see that file's `generatedBy`).
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createBinlogInspector, inspectBinlog, parseGtidSet, readBinlogTransactions } from '../../src/binlog/index.ts';
import type { BinlogEvent, BinlogInfo, BinlogTransaction, GtidSet, PlainBinlogInfo } from '../../src/binlog/index.ts';
import type { InspectorOptions } from '../../src/binlog/inspector.ts';
import { FileBoundaryScan, type ScanGoal } from '../../src/restore/boundaries.ts';
import type { RestoreTarget } from '../../src/restore/target.ts';
import { REPO_ROOT } from '../../testenv/versions.ts';

/** JSON of anything the reader returns: GTID sets by their text, bigints as strings, errors by code and message. */
export function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Error) return { error: (v as { code?: string }).code ?? v.name, message: v.message };
  if (typeof (v as { format?: unknown }).format === 'function' && 'flavor' in v) return { gtidSet: (v as GtidSet).format(), flavor: (v as GtidSet).flavor };
  if (Array.isArray(v)) return v.map(plain);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = plain(x);
  return out;
}

/** An error as {error, message}; a result by the SHA-256 of its JSON (for the many damaged copies that still read). */
function outcome<T>(fn: () => T): unknown {
  const r = attempt(fn);
  return typeof r === 'object' && r !== null && 'error' in r ? `${String(r.error)} ${digest(r)}` : digest(r);
}

/** The first 16 hex digits of the SHA-256 of a value's JSON: the golden file keeps these for the bulky sections. */
export function digest(v: unknown): string {
  return createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16);
}

function attempt<T>(fn: () => T): unknown {
  try {
    return plain(fn());
  } catch (err) {
    return plain(err);
  }
}

async function attemptAsync<T>(fn: () => Promise<T>): Promise<unknown> {
  try {
    return plain(await fn());
  } catch (err) {
    return plain(err);
  }
}

/** Push-inspects `bytes` in chunks of `chunk` bytes. */
function pushed(bytes: Buffer, chunk: number, opts: InspectorOptions): BinlogInfo {
  const ins = createBinlogInspector(opts);
  for (let o = 0; o < bytes.length; o += chunk) ins.write(bytes.subarray(o, o + chunk));
  return ins.finish();
}

function eventRow(e: BinlogEvent): unknown {
  return [e.position, e.timestamp, e.type, e.serverId, e.length, e.logPos, e.flags, e.crc, plain(e.detail)];
}

/** The scan of a whole file for one goal (and positions), as the restore feeds it. */
export function scanOf(bytes: Buffer, name: string, goal: ScanGoal, positions: { fromPosition?: number; untilPosition?: number }, chunk: number): unknown {
  return attempt(() => {
    const scan = new FileBoundaryScan(goal, name, positions);
    const ins = createBinlogInspector({ path: name, verifyChecksums: false, observer: scan, onTransaction: (t) => scan.onTransaction(t) });
    for (let o = 0; o < bytes.length; o += chunk) ins.write(bytes.subarray(o, o + chunk));
    ins.finish();
    // The exactness fields came after the reference was recorded (their own tests: test/restore/mariadb-domains,
    // anonymous-start); the reference keeps covering what the scan derived before them.
    const { inexactAny: _a, inexactAfterStart: _b, undecidedAnonymous: _c, heldBeforeStart: _d, ...recorded } = scan.finish();
    return recorded;
  });
}

function sample<T>(xs: readonly T[], n: number): T[] {
  if (xs.length <= n) return [...xs];
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(xs[Math.floor((i * (xs.length - 1)) / (n - 1))]!);
  return out;
}

/** A spread of goals for one file: latest, times around its transactions, GTID targets and start points, positions. */
function scans(bytes: Buffer, name: string, info: PlainBinlogInfo, trx: readonly BinlogTransaction[]): Record<string, unknown> {
  const flavor = info.flavor;
  const out: Record<string, unknown> = {};
  const goal = (target: RestoreTarget, from: GtidSet | null, targetGtids: GtidSet | null = null): ScanGoal => ({ flavor, from, target, targetGtids });
  const run = (label: string, g: ScanGoal, positions: { fromPosition?: number; untilPosition?: number } = {}): void => {
    out[label] = digest(scanOf(bytes, name, g, positions, 4096));
  };
  run('latest', goal({ kind: 'latest' }, null));
  const picked = sample(trx, 4);
  for (const t of picked) {
    for (const d of [-1, 0, 1]) run(`time ${t.timestamp + d}`, goal({ kind: 'time', until: new Date((t.timestamp + d) * 1000) }, null));
    run(`from position ${t.startPosition}`, goal({ kind: 'latest' }, null), { fromPosition: t.startPosition });
    run(`until position ${t.startPosition}`, goal({ kind: 'position', file: name, position: t.startPosition }, null), { untilPosition: t.startPosition });
    run(`until position ${t.endPosition}`, goal({ kind: 'position', file: name, position: t.endPosition }, null), { untilPosition: t.endPosition });
    run(`until position inside ${t.startPosition + 1}`, goal({ kind: 'position', file: name, position: t.startPosition + 1 }, null), { untilPosition: t.startPosition + 1 });
    if (t.endPosition - t.startPosition > 40) {
      const mid = t.startPosition + Math.floor((t.endPosition - t.startPosition) / 2);
      run(`from position inside ${mid}`, goal({ kind: 'latest' }, null), { fromPosition: mid });
    }
  }
  const withGtid = trx.filter((t) => t.gtidValue !== null && !/^0{8}-0{4}-0{4}-0{4}-0{12}:/.test(t.gtid ?? ''));
  for (const t of sample(withGtid, 3)) {
    const text = t.gtid!;
    const target = attempt(() => parseGtidSet(flavor, text));
    if (typeof target === 'object' && target !== null && 'error' in target) continue;
    const set = parseGtidSet(flavor, text);
    run(`gtid ${text}`, goal({ kind: 'gtid', text }, null, set));
    run(`from ${text}`, goal({ kind: 'latest' }, set));
    const prev = info.previousGtids?.text ?? '';
    if (prev !== '') {
      const fromText = `${prev},${text}`;
      const from = attempt(() => parseGtidSet(flavor, fromText));
      if (!(typeof from === 'object' && from !== null && 'error' in from)) run(`from previous,${text} to gtid`, goal({ kind: 'gtid', text }, parseGtidSet(flavor, fromText), set));
    }
  }
  run('time before all', goal({ kind: 'time', until: new Date(0) }, null));
  return out;
}

/** Damaged copies: cut at a spread of lengths, one byte changed at a spread of offsets (header fields included). */
function damaged(bytes: Buffer): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const offsets = new Set<number>();
  for (let i = 0; i < 12; i++) offsets.add(Math.floor((i * (bytes.length - 1)) / 11));
  for (const o of [4, 8, 13, 17, 21, 40, 4 + 19 + 2]) if (o < bytes.length) offsets.add(o);
  for (const len of [...offsets].sort((a, b) => a - b)) {
    const cut = bytes.subarray(0, len);
    out[`cut ${len}`] = outcome(() => pushed(cut, 977, { path: 'x' }));
  }
  for (const o of [...offsets].sort((a, b) => a - b)) {
    const copy = Buffer.from(bytes);
    copy[o] = (copy[o] as number) ^ 0x41;
    out[`flip ${o}`] = outcome(() => pushed(copy, 977, { path: 'x' }));
    out[`flip ${o} unchecked`] = outcome(() => pushed(copy, 977, { path: 'x', verifyChecksums: false }));
    out[`flip ${o} counted`] = outcome(() => pushed(copy, 977, { path: 'x', checksumFailure: 'count' }));
  }
  return out;
}

export interface FileResults {
  sha256: string;
  info: unknown;
  infoUnchecked: unknown;
  /** Digest of every event as [position, timestamp, type, serverId, length, logPos, flags, crc, detail]. */
  events: string;
  eventCount: number;
  transactions: unknown;
  scans: Record<string, unknown>;
  damaged: Record<string, unknown>;
}

/** `value` with the checkout's directory replaced by `<repo>`: the recorded results hold in any clone. */
function checkoutFree(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value).replaceAll(JSON.stringify(REPO_ROOT).slice(1, -1), '<repo>')) as unknown;
}

/** All results for one fixture file; also checks that every chunking gives the file reader's BinlogInfo. */
export async function resultsFor(path: string, name: string): Promise<{ results: FileResults; chunkMismatches: string[] }> {
  const bytes = readFileSync(path);
  const info = await attemptAsync(() => inspectBinlog(path));
  const infoUnchecked = await attemptAsync(() => inspectBinlog(path, { verifyChecksums: false }));
  const chunkMismatches: string[] = [];
  const want = JSON.stringify(info);
  for (const chunk of [1, 7, 19, 100, 4096, 1 << 20]) {
    const got = JSON.stringify(attempt(() => pushed(bytes, chunk, { path })));
    if (got !== want) chunkMismatches.push(`chunk ${chunk}`);
  }
  const events: unknown[] = [];
  attempt(() => pushed(bytes, 64, { path, onEvent: (e) => events.push(eventRow(e)) }));
  const trx: BinlogTransaction[] = [];
  const trxResult = await attemptAsync(async () => {
    for await (const t of readBinlogTransactions(path)) trx.push(t);
    return trx;
  });
  let scanResults: Record<string, unknown> = {};
  const plainInfo = (() => {
    try {
      const ins = createBinlogInspector({ path: name, verifyChecksums: false });
      ins.write(bytes);
      return ins.finish();
    } catch {
      return null;
    }
  })();
  if (plainInfo !== null && plainInfo.magic === 'plain') scanResults = scans(bytes, name, plainInfo, trx);
  return {
    results: {
      sha256: createHash('sha256').update(bytes).digest('hex'),
      info: checkoutFree(info),
      infoUnchecked: checkoutFree(infoUnchecked),
      events: digest(events),
      eventCount: events.length,
      transactions: checkoutFree(trxResult),
      scans: scanResults,
      damaged: bytes.length > 4 ? damaged(bytes) : {},
    },
    chunkMismatches,
  };
}
