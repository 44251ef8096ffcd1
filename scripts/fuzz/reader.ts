/**
 * Fuzz target `reader`: mutations of the real binlogs in test/fixtures/binlogs (MySQL 5.1 to 9, MariaDB, one
 * MySQL-encrypted) read three ways by src/binlog: inspectBinlog on a file, the push-mode inspector fed random
 * chunk sizes, and readBinlogTransactions. Each must accept the bytes or refuse them with a binlog error code;
 * the file and stream readings must agree. Half the cases recompute the CRC32 of every event after mutating,
 * so the mutation reaches the event decoders instead of stopping at the checksum.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createBinlogInspector, inspectBinlog, readBinlogTransactions } from '../../src/binlog/index.ts';
import type { InspectOptions } from '../../src/binlog/index.ts';
import { FIXTURES } from '../../test/support/archive.ts';
import { BIN } from '../../test/support/cli.ts';
import { Rng, caseSeed, mutate, type Shape } from './mutate.ts';
import { type CaseResult, type FuzzTarget, type PreparedCase, type TargetContext, judgeError, worst } from './outcome.ts';

/** What a reader may refuse a binlog with; anything else (or no ArchiverError at all) is a crash. */
const READER_CODES: ReadonlySet<string> = new Set(['ENOTBINLOG', 'EBINLOGTRUNCATED', 'EBINLOGCHECKSUM', 'EBINLOGCORRUPT', 'EBADINPUT']);

interface Fixture {
  name: string;
  bytes: Buffer;
  crc32: boolean;
  shape: Shape;
}

interface Expected { path: string; magic: string | null; checksum_alg?: string | null }

/** Event starts and their size, log_pos and flags fields, walked from the v4 event headers. */
function binlogShape(bytes: Buffer): Shape {
  const shape: Shape = { boundaries: [0, 4], lengthFields: [] };
  if (bytes[0] !== 0xfe) return { boundaries: [0, 4, 512], lengthFields: [] };
  for (let at = 4; at + 19 <= bytes.length;) {
    const size = bytes.readUInt32LE(at + 9);
    if (size < 19) break;
    shape.boundaries.push(at);
    shape.lengthFields.push({ at: at + 9, width: 4, littleEndian: true }, { at: at + 13, width: 4, littleEndian: true }, { at: at + 17, width: 2, littleEndian: true });
    at += size;
  }
  return shape;
}

export function readerFixtures(): Fixture[] {
  const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as Expected[];
  return expected
    .filter((e) => !e.path.endsWith('.gz') && ((e.magic ?? '').startsWith('fe62696e') || (e.magic ?? '').startsWith('encrypted')))
    .map((e) => {
      const bytes = fs.readFileSync(path.join(FIXTURES, e.path));
      return { name: e.path, bytes, crc32: e.checksum_alg === 'CRC32', shape: binlogShape(bytes) };
    });
}

/** Rewrites the CRC32 of every event whose header length fits the buffer (after a mutation moved things). */
function fixChecksums(bytes: Buffer): void {
  for (let at = 4; at + 19 <= bytes.length;) {
    const size = bytes.readUInt32LE(at + 9);
    if (size < 23 || at + size > bytes.length) return;
    bytes.writeUInt32LE(zlib.crc32(bytes.subarray(at, at + size - 4)), at + size - 4);
    at += size;
  }
}

/** Stable text of a BinlogInfo (Maps, Sets and bigints included) to compare two readings. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof Map) return [...(v as Map<unknown, unknown>).entries()];
    if (v instanceof Set) return [...(v as Set<unknown>)];
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'function') return undefined;
    return v;
  });
}

type Reading = { ok: true; text: string } | { ok: false; err: unknown };

async function settle(f: () => Promise<string>): Promise<Reading> {
  try {
    return { ok: true, text: await f() };
  } catch (err) {
    return { ok: false, err };
  }
}

function codeOf(r: Reading): string {
  if (r.ok) return 'ok';
  const code = (r.err as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'untyped';
}

async function readThreeWays(file: string, bytes: Buffer, rng: Rng, opts: InspectOptions): Promise<CaseResult> {
  const chunks: number[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = 1 + rng.int(rng.pick([7, 64, 1024, 65536]));
    chunks.push(n);
    at += n;
  }
  const fromFile = await settle(async () => canonical(await inspectBinlog(file, opts)));
  const fromStream = await settle(() => {
    const inspector = createBinlogInspector({ ...opts, path: file });
    let at = 0;
    for (const n of chunks) {
      inspector.write(bytes.subarray(at, at + n));
      at += n;
    }
    return Promise.resolve(canonical(inspector.finish()));
  });
  const transactions = await settle(async () => {
    let n = 0;
    for await (const _ of readBinlogTransactions(file, opts)) n++;
    return String(n);
  });
  const results: CaseResult[] = [];
  for (const [where, r] of [['inspectBinlog', fromFile], ['inspector stream', fromStream], ['readBinlogTransactions', transactions]] as const) {
    results.push(r.ok ? { verdict: 'accepted', cls: 'accepted', detail: `${where} accepted the bytes` } : judgeError(r.err, READER_CODES, where));
  }
  const differ = fromFile.ok !== fromStream.ok || codeOf(fromFile) !== codeOf(fromStream) || (fromFile.ok && fromStream.ok && fromFile.text !== fromStream.text);
  if (differ) {
    const show = (r: Reading): string => (r.ok ? 'accepted' : `${codeOf(r)}: ${(r.err as Error).message}`);
    results.push({ verdict: 'crash', cls: `file and stream readings differ (${codeOf(fromFile)} / ${codeOf(fromStream)})`, detail: `file: ${show(fromFile)}\nstream (chunks ${chunks.join(',')}): ${show(fromStream)}` });
  }
  return worst(results);
}

export function createTarget(ctx: TargetContext): FuzzTarget {
  const fixtures = readerFixtures();
  const donors = fixtures.map((f) => f.bytes);
  return {
    prepare(index: number): Promise<PreparedCase> {
      const rng = new Rng(caseSeed(ctx.seed, 'reader', index));
      const fixture = rng.pick(fixtures);
      const { bytes, steps } = mutate(fixture.bytes, rng, fixture.shape, donors);
      if (fixture.crc32 && rng.chance(0.5)) {
        fixChecksums(bytes); // a fresh copy: mutate never returns its input
        steps.push('recompute every event CRC32');
      }
      const opts: InspectOptions = {
        chunkSize: rng.pick([64, 4096, 65536]),
        verifyChecksums: rng.chance(0.8),
        checksumFailure: rng.chance(0.8) ? 'throw' : 'count',
      };
      steps.unshift(`fixture ${fixture.name}`, `options ${JSON.stringify(opts)}`);
      const dir = path.join(ctx.work, `case-${index}`);
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, 'input.bin');
      fs.writeFileSync(file, bytes);
      return Promise.resolve({
        dir, steps,
        rerun: [`${process.execPath} ${BIN} inspect files/input.bin --json`],
        run: async () => (bytes.equals(fixture.bytes) ? { verdict: 'unchanged', cls: 'unchanged', detail: '' } : readThreeWays(file, bytes, rng, opts)),
      });
    },
  };
}
