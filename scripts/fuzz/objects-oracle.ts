/**
 * How the objects target judges one mutated store: runs verify and restore through the real modules (and, for
 * some cases, the CLI), and turns what they did into a CaseResult. Verify must refuse what `mustRefuse` says;
 * restore must refuse a mutated object, and whatever it does it must never write bytes that differ from the
 * original binlogs, nor anything outside --out, nor name a file outside --out as restored.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runRestore } from '../../src/restore/restore-run.ts';
import { runVerify } from '../../src/restore/verify-run.ts';
import { openStore } from '../../src/store/open-store.ts';
import { BIN } from '../../test/support/cli.ts';
import { type CaseResult, TYPED_CODES, judgeError, worst } from './outcome.ts';

export interface StoreCase {
  /** The case directory: store/, keys/, and d1/d2/d3/ holding the planted originals and out/. */
  dir: string;
  source: string;
  keyUrl: string;
  /** The source's original binlogs by name: what a restore may write. */
  originals: Map<string, Buffer>;
  /** Why the mutation must be refused ('' when it may be accepted). */
  mustRefuse: string;
  /** Restore too must refuse (a mutated object or sidecar; an edited entry may still restore the right bytes). */
  restoreMustRefuse: boolean;
  /** Also run this CLI command ('' for none). */
  cli: '' | 'verify' | 'restore';
  cliTimeoutMs: number;
}

export const OUT_PARENT = path.join('d1', 'd2', 'd3');

function files(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.lstatSync(path.join(dir, f)).isFile()).sort();
}

/** Files a restore into `out` left that it must not have: outside --out, changed originals, wrong bytes. */
function restoreDamage(c: StoreCase, out: string): string[] {
  const damage: string[] = [];
  const outRel = path.relative(c.dir, out);
  for (const f of files(c.dir)) {
    if (f.startsWith(`store${path.sep}`) || f.startsWith(`keys${path.sep}`) || f.startsWith(`${OUT_PARENT}${path.sep}out`)) continue;
    const planted = c.originals.get(path.relative(OUT_PARENT, f));
    if (path.dirname(f) === OUT_PARENT && planted?.equals(fs.readFileSync(path.join(c.dir, f))) === true) continue;
    damage.push(`wrote ${f} outside --out`);
  }
  for (const f of files(out)) {
    if (f === 'replay.sh' || (path.basename(f).startsWith('.') && f.endsWith('.partial'))) continue;
    const original = c.originals.get(f);
    if (original === undefined) damage.push(`wrote ${path.join(outRel, f)}, which is no original binlog`);
    else if (!original.equals(fs.readFileSync(path.join(out, f)))) damage.push(`wrote ${path.join(outRel, f)} with bytes other than the original`);
  }
  return damage;
}

async function verifyOnce(c: StoreCase): Promise<CaseResult> {
  try {
    const summary = await runVerify({ store: openStore(`file://${path.join(c.dir, 'store')}`), keyUrl: c.keyUrl, source: c.source });
    const untyped = summary.problems.find((p) => !TYPED_CODES.has(p.code));
    if (untyped !== undefined) return { verdict: 'crash', cls: `verify problem ${untyped.code}`, detail: `verify reported ${untyped.code}: ${untyped.message}` };
    if (summary.problems.length > 0) return { verdict: 'refused', cls: summary.problems.map((p) => p.code).join(','), detail: summary.problems.map((p) => `${p.code}: ${p.message}`).join('\n') };
    return { verdict: 'accepted', cls: 'verify accepted', detail: `verify passed ${summary.verified} object(s)` };
  } catch (err) {
    return judgeError(err, TYPED_CODES, 'verify');
  }
}

async function restoreOnce(c: StoreCase, out: string): Promise<CaseResult> {
  let result: CaseResult;
  let named: string[] = [];
  try {
    const summary = await runRestore({ store: openStore(`file://${path.join(c.dir, 'store')}`), keyUrl: c.keyUrl, out, source: c.source, target: { kind: 'latest' } });
    named = summary.files.map((f) => f.name);
    result = { verdict: 'accepted', cls: 'restore accepted', detail: `restore wrote ${named.join(', ')}` };
  } catch (err) {
    result = judgeError(err, TYPED_CODES, 'restore');
  }
  const damage = restoreDamage(c, out);
  for (const name of named) {
    if (!path.resolve(out, name).startsWith(`${out}${path.sep}`)) damage.push(`reported ${JSON.stringify(name)} (outside --out) as restored`);
  }
  if (damage.length > 0) return { verdict: 'forgery', cls: `restore ${(damage[0] ?? '').replace(/[\w./-]*fx-bin[\w./-]*|"[^"]*"/g, '…')}`, detail: damage.join('\n') };
  return result;
}

/** The CLI's verdict: its exit status and --json error, and no stack trace or EINTERNAL on stderr. */
function cliOnce(c: StoreCase): Promise<CaseResult> {
  const out = path.join(c.dir, OUT_PARENT, 'out-cli');
  const args = [BIN, c.cli, '--store', `file://${path.join(c.dir, 'store')}`, '--key', c.keyUrl, '--source', c.source, '--json', ...(c.cli === 'restore' ? ['--out', out] : [])];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: c.cliTimeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const where = `cli ${c.cli}`;
      if (err !== null && err.killed) return resolve({ verdict: 'hang', cls: `${where} timeout`, detail: `no exit within ${c.cliTimeoutMs} ms` });
      const status = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      let code: string;
      try {
        const doc = JSON.parse(stdout) as { error?: { code?: string }; problems?: { code: string }[] };
        code = doc.error?.code ?? doc.problems?.find((p) => !TYPED_CODES.has(p.code))?.code ?? doc.problems?.[0]?.code ?? 'none';
      } catch {
        code = 'no JSON on stdout';
      }
      if (/EINTERNAL|^\s+at /m.test(stderr) || (status !== 0 && !TYPED_CODES.has(code)) || (status !== 0 && status !== 1 && status !== 2)) {
        return resolve({ verdict: 'crash', cls: `${where} exit ${status} ${code}`, detail: `exit ${status}\nstdout: ${stdout.slice(0, 4000)}\nstderr: ${stderr.slice(0, 4000)}` });
      }
      if (c.cli === 'restore') {
        const damage = restoreDamage(c, out);
        if (damage.length > 0) return resolve({ verdict: 'forgery', cls: `${where} wrote wrong or misplaced files`, detail: damage.join('\n') });
      }
      resolve(status === 0 ? { verdict: 'accepted', cls: `${where} accepted`, detail: stdout.slice(0, 2000) } : { verdict: 'refused', cls: code, detail: stderr.slice(0, 2000) });
    });
  });
}

/** Runs the case and judges it. */
export async function judgeStore(c: StoreCase): Promise<CaseResult> {
  const results = [await verifyOnce(c), await restoreOnce(c, path.join(c.dir, OUT_PARENT, 'out'))];
  if (c.cli !== '') results.push(await cliOnce(c));
  const [verify, restore] = results as [CaseResult, CaseResult];
  if (c.mustRefuse !== '') {
    if (verify.verdict === 'accepted') results.push({ verdict: 'forgery', cls: `verify accepted ${c.mustRefuse}`, detail: verify.detail });
    if (c.restoreMustRefuse && restore.verdict === 'accepted') results.push({ verdict: 'forgery', cls: `restore accepted ${c.mustRefuse}`, detail: restore.detail });
    const cli = results[2];
    if (cli?.verdict === 'accepted' && (c.cli === 'verify' || c.restoreMustRefuse)) results.push({ verdict: 'forgery', cls: `cli ${c.cli} accepted ${c.mustRefuse}`, detail: cli.detail });
  }
  const verdict = worst(results);
  // A case whose stages disagree (one refused, one accepted something allowed) counts as refused.
  return verdict.verdict === 'accepted' && results.some((r) => r.verdict === 'refused') ? (results.find((r) => r.verdict === 'refused') as CaseResult) : verdict;
}
