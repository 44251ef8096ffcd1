/**
 * `npm run fuzz -- [--target reader|objects|all] [--seconds N] [--seed S] [--cases N] [--case N]
 * [--case-timeout MS] [--cli-every N] [--out DIR]`: bounded, seeded fuzzing of the binlog reader and of archived
 * objects and manifest entries (docs/TESTING.md, "Fuzzing"). Prints the counts per target and one line per
 * failure class with a reproducer directory; exits 1 on any crash, hang or accepted forgery, 2 on a usage error.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../testenv/versions.ts';
import { type TargetName, describeFindings, runTarget, summaryLine } from './runner.ts';

const USAGE = 'usage: npm run fuzz -- [--target reader|objects|all] [--seconds N] [--seed S] [--cases N] [--case N] [--case-timeout MS] [--cli-every N] [--out DIR]';

function usage(message: string): never {
  process.stderr.write(`fuzz: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function integer(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) usage(`--${name} ${JSON.stringify(value)} is not an integer >= ${min}`);
  return Number(value);
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        target: { type: 'string', default: 'all' }, seconds: { type: 'string' }, seed: { type: 'string' }, cases: { type: 'string' },
        case: { type: 'string' }, 'case-timeout': { type: 'string' }, 'cli-every': { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (err) {
    usage((err as Error).message);
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const targets: TargetName[] = values.target === 'all' ? ['reader', 'objects'] : values.target === 'reader' || values.target === 'objects' ? [values.target] : usage(`--target ${values.target} is not reader, objects or all`);
  const seed = integer(values.seed, 'seed', Math.floor(Math.random() * 0x1_0000_0000));
  if (seed > 0xffffffff) usage('--seed must fit in 32 bits');
  const single = values.case === undefined ? undefined : integer(values.case, 'case', 0);
  const outDir = path.resolve(values.out ?? path.join(REPO_ROOT, 'fuzz-out'));
  let failed = false;
  for (const target of targets) {
    const counts = await runTarget({
      target, seed, outDir,
      seconds: integer(values.seconds, 'seconds', single === undefined ? 60 : 3600, 1),
      firstCase: single ?? 0,
      maxCases: single === undefined ? integer(values.cases, 'cases', Number.MAX_SAFE_INTEGER, 1) : 1,
      caseTimeoutMs: integer(values['case-timeout'], 'case-timeout', 5000, 100),
      cliEvery: integer(values['cli-every'], 'cli-every', 10),
      onCase: process.stderr.isTTY ? (c) => process.stderr.write(`\r\x1b[K${summaryLine(c)}`) : undefined,
    });
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    process.stdout.write(`${summaryLine(counts)}\n`);
    const lines = describeFindings(counts);
    if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
    failed ||= counts.crashes + counts.hangs + counts.forgeries > 0;
  }
  if (failed) process.stdout.write(`reproducers are under ${outDir}\n`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
