/**
 * Which test files `npm test` runs, what shared state each one holds, and in which order to start them.
 *
 * A file that changes state other files rely on (the environment's MariaDB binlogs, cluster-wide objects, a tool
 * built on first use) names it in a header comment, `// test-resources: NAME[, NAME:shared]`. Two files that hold the
 * same NAME never run at the same time, unless both hold it `:shared`. Files start longest first (recorded durations),
 * so the slow ones, which mostly wait on real controllers, overlap with the many short ones.
 */
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, cacheRoot } from '../testenv/versions.ts';

export interface Claim { name: string; shared: boolean }
export interface TestFile { file: string; claims: Claim[]; expectedMs: number }

const MARK = /^\/\/ test-resources:(.*)$/m;
/** The shared state files may claim (docs/TESTING.md says who claims which, and why); a typo would protect nothing. */
export const RESOURCES = ['env-mariadb', 'kube-node', 'node-heavy', 'cpu', 'gcpkms-key', 'project-image'] as const;
const CLAIM = /^([a-z0-9][a-z0-9:-]*?)(:shared)?$/;
/** Recorded durations (ms) per file relative to the repo: the committed baseline, then this machine's last run. */
const BASELINE = path.join(REPO_ROOT, 'test', 'timings.json');
export const RECORDED = (): string => path.join(cacheRoot(), 'binlog-archiver-test-timings.json');

export function findTestFiles(args: string[]): string[] {
  const given = args.length === 0 ? ['test'] : args;
  const files = new Set<string>();
  for (const arg of given) {
    const abs = path.resolve(REPO_ROOT, arg);
    if (!fs.existsSync(abs)) throw new Error(`npm test: ${arg} does not exist; give test files or directories under test/`);
    if (fs.statSync(abs).isDirectory()) {
      for (const f of fs.globSync('**/*.test.ts', { cwd: abs })) files.add(path.join(abs, f));
    } else files.add(abs);
  }
  return [...files].sort();
}

/** The resources a test file claims, from its header; a malformed mark is an error, not silently ignored. */
export function claimsOf(file: string, source: string): Claim[] {
  const line = MARK.exec(source);
  if (line === null) return [];
  return line[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const m = CLAIM.exec(s);
    if (m === null) throw new Error(`${file}: bad test-resources entry "${s}" (expected NAME or NAME:shared, lower-case)`);
    if (!(RESOURCES as readonly string[]).includes(m[1]!)) throw new Error(`${file}: unknown test resource "${m[1]!}" (known: ${RESOURCES.join(', ')}; add a new one to scripts/test-plan.ts and docs/TESTING.md)`);
    return { name: m[1]!, shared: m[2] !== undefined };
  });
}

function readTimings(file: string): Record<string, number> {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return {};
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, number] => typeof e[1] === 'number'));
  } catch {
    return {}; // no record yet: files start in name order
  }
}

export function planTests(files: string[]): TestFile[] {
  const timings = { ...readTimings(BASELINE), ...readTimings(RECORDED()) };
  return files.map((file) => ({
    file,
    claims: claimsOf(file, fs.readFileSync(file, 'utf8')),
    expectedMs: timings[path.relative(REPO_ROOT, file)] ?? 0,
  })).sort((a, b) => b.expectedMs - a.expectedMs || a.file.localeCompare(b.file));
}

/** Merges this run's durations into the machine's record (the next run starts the slow files first). */
export function recordTimings(durations: Map<string, number>): void {
  const record = readTimings(RECORDED());
  for (const [file, ms] of durations) record[path.relative(REPO_ROOT, file)] = Math.round(ms);
  fs.mkdirSync(path.dirname(RECORDED()), { recursive: true });
  fs.writeFileSync(RECORDED(), `${JSON.stringify(record, null, 1)}\n`);
}

/** Whether `file` can start while `running` hold their claims. */
export function canStart(file: TestFile, running: Iterable<TestFile>): boolean {
  for (const other of running) {
    for (const mine of file.claims) {
      const theirs = other.claims.find((c) => c.name === mine.name);
      if (theirs !== undefined && !(mine.shared && theirs.shared)) return false;
    }
  }
  return true;
}
