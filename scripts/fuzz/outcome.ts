/**
 * What a fuzz case can end as, how a thrown error is judged (a typed refusal, or a crash), and the reproducer
 * directory each failure leaves under the fuzz-out directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ArchiverError, type ErrorCode } from '../../src/errors.ts';

/**
 * refused: a typed refusal; accepted: the mutation was accepted and that is allowed (the reader may accept a
 * mutated binlog that is still well formed); unchanged: the mutation left the input as it was (not counted);
 * crash: an untyped error, EINTERNAL, a stack trace or an unexpected code; hang: the case outlived its timeout;
 * forgery: a mutation that must be refused was accepted, or a restore wrote wrong bytes or outside --out.
 */
export type Verdict = 'refused' | 'accepted' | 'unchanged' | 'crash' | 'hang' | 'forgery';

export interface CaseResult {
  verdict: Verdict;
  /** A short bucket, stable across cases of one kind (an error code, or the kind of forgery). */
  cls: string;
  /** The error message or what was wrong, for the reproducer. */
  detail: string;
}

export const FAILURES: ReadonlySet<Verdict> = new Set(['crash', 'hang', 'forgery']);

/** Every ErrorCode but EINTERNAL: the codes of a typed refusal. */
export const TYPED_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'EUSAGE', 'EBADINPUT', 'ENOTBINLOG', 'EBINLOGTRUNCATED', 'EBINLOGCHECKSUM', 'EBINLOGCORRUPT', 'EBINLOGACTIVE', 'EFORMAT', 'EAUTH',
  'EVERIFY', 'EKEY', 'EKEYUNAVAILABLE', 'ESTORE', 'ESTOREUNAVAILABLE', 'ECONFLICT', 'ENOTFOUND', 'ENOSPACE', 'EGAP', 'ETARGET', 'EEXPIRED', 'EAPPLY',
]);

/** Digits and quoted values vary per case; without them messages of one kind fall in one bucket. */
function bucket(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/"[^"]*"|'[^']*'|\/[^\s]*/g, '…').replace(/\d+/g, 'N').slice(0, 120);
}

/** Judges a thrown value: a refusal if it is an ArchiverError with one of `allowed`, else a crash. */
export function judgeError(err: unknown, allowed: ReadonlySet<string>, where: string): CaseResult {
  if (err instanceof ArchiverError && err.code !== 'EINTERNAL' && allowed.has(err.code)) {
    return { verdict: 'refused', cls: err.code, detail: `${where}: ${err.code}: ${err.message}` };
  }
  const code = err instanceof ArchiverError ? err.code : err instanceof Error ? err.name : typeof err;
  const message = err instanceof Error ? err.message : String(err);
  const stack = err instanceof Error && err.stack !== undefined ? `\n${err.stack}` : '';
  return { verdict: 'crash', cls: `${where} ${code}: ${bucket(message)}`, detail: `${where}: ${code}: ${message}${stack}` };
}

/** The worst of several results of one case (a crash outranks a forgery outranks a refusal). */
export function worst(results: CaseResult[]): CaseResult {
  const rank: Record<Verdict, number> = { unchanged: 0, accepted: 1, refused: 2, forgery: 3, hang: 4, crash: 5 };
  return results.reduce((a, b) => (rank[b.verdict] > rank[a.verdict] ? b : a));
}

export interface CaseInfo {
  target: string;
  seed: number;
  index: number;
  steps: string[];
}

/**
 * Writes a failure's reproducer: `<outDir>/<target>/seed<S>-case<N>-<verdict>/` holding case.json (seed, case,
 * mutation steps, verdict, detail, how to rerun) and a copy of the case's files. Returns the directory.
 */
export function writeReproducer(outDir: string, info: CaseInfo, result: CaseResult, caseDir: string, rerun: string[]): string {
  const dir = path.join(outDir, info.target, `seed${info.seed}-case${info.index}-${result.verdict}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  if (fs.existsSync(caseDir)) fs.cpSync(caseDir, path.join(dir, 'files'), { recursive: true });
  const doc = {
    ...info,
    verdict: result.verdict,
    class: result.cls,
    detail: result.detail,
    rerun: `npm run fuzz -- --target ${info.target} --seed ${info.seed} --case ${info.index}`,
    reproduce: rerun,
  };
  fs.writeFileSync(path.join(dir, 'case.json'), `${JSON.stringify(doc, null, 2)}\n`);
  return dir;
}

/** One generated case, written to `dir` and not yet run. */
export interface PreparedCase {
  dir: string;
  steps: string[];
  /** Commands that replay the case by hand from the reproducer's files (paths relative to its `files/`). */
  rerun: string[];
  /** How many steps of the case may each take up to the case timeout (default 1). */
  stages?: number;
  run(): Promise<CaseResult>;
}

export interface TargetContext {
  seed: number;
  /** A private scratch directory, removed by the runner. */
  work: string;
  caseTimeoutMs: number;
  /** Objects target: every Nth case also goes through the CLI (0: never). */
  cliEvery: number;
}

export interface FuzzTarget {
  prepare(index: number): Promise<PreparedCase>;
}
