/**
 * `npm run build`: the JavaScript the image runs, in dist/ (bin/, src/ and package.json, the repository's
 * layout, relative imports rewritten from .ts to .js) by `tsc -p tsconfig.build.json`, which only emits: type
 * checking is `npm run lint`'s. Node 24 runs the .ts sources too (tests, `npm run demo`, `node bin/binlog-archiver.js`
 * in a checkout), but each TypeScript module it loads without a compile-cache entry goes through its type stripper:
 * +0.25–0.4 s of CPU and +30 MiB of RSS for an archive Job's start (docs/PERFORMANCE.md §4c), paid wherever the
 * image's compile cache does not apply (another UID, a module loaded after the option parser).
 * The Dockerfile's build stage runs this file; testenv/image/project-image.ts and the benches call buildJs/ensureBuilt.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const REPO = path.resolve(import.meta.dirname, '..');
const INPUT_DIRS = ['bin', 'src'];
const INPUT_FILES = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.ts'];
const STAMP = '.build-inputs';

function tscPath(repo: string): string {
  return createRequire(path.join(repo, 'package.json')).resolve('typescript/bin/tsc');
}

/** What the output depends on: the sources, the two tsconfigs, this file and the TypeScript version. */
export function buildInputsDigest(repo = REPO): string {
  const hash = createHash('sha256');
  const add = (rel: string): void => {
    hash.update(rel).update('\0').update(fs.readFileSync(path.join(repo, rel))).update('\0');
  };
  for (const f of INPUT_FILES) add(f);
  for (const dir of INPUT_DIRS) {
    const files = fs.readdirSync(path.join(repo, dir), { recursive: true, encoding: 'utf8' }).sort();
    for (const f of files) if (fs.statSync(path.join(repo, dir, f)).isFile()) add(path.join(dir, f));
  }
  const ts = JSON.parse(fs.readFileSync(path.join(path.dirname(tscPath(repo)), '..', 'package.json'), 'utf8')) as { version: string };
  return hash.update(`typescript ${ts.version}`).digest('hex').slice(0, 16);
}

/** Compiles bin/ and src/ into `out` (bin/, src/, package.json; `out` must not exist or be empty). */
export function buildJs(out: string, repo = REPO): void {
  try {
    execFileSync(process.execPath, [tscPath(repo), '-p', path.join(repo, 'tsconfig.build.json'), '--outDir', out], { cwd: repo, encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`tsc -p tsconfig.build.json failed:\n${(e.stdout ?? '') + (e.stderr ?? '')}`, { cause: err });
  }
  // The controller reads its version from ../../package.json of src/cli; "type": "module" makes the .js ESM.
  fs.copyFileSync(path.join(repo, 'package.json'), path.join(out, 'package.json'));
  fs.chmodSync(path.join(out, 'bin', 'binlog-archiver.js'), 0o755);
}

/**
 * dist/ for the current tree, rebuilt only when its inputs changed (the digest is kept in dist/.build-inputs);
 * built beside it and renamed into place, so a concurrent reader never sees half a tree. Returns the CLI's path.
 */
export function ensureBuilt(repo = REPO): string {
  const dist = path.join(repo, 'dist');
  const cli = path.join(dist, 'bin', 'binlog-archiver.js');
  const digest = buildInputsDigest(repo);
  const stamp = path.join(dist, STAMP);
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === digest) return cli;
  const partial = `${dist}.partial-${process.pid}`;
  fs.rmSync(partial, { recursive: true, force: true });
  try {
    buildJs(partial, repo);
    fs.writeFileSync(path.join(partial, STAMP), `${digest}\n`);
    const old = `${dist}.old-${process.pid}`;
    if (fs.existsSync(dist)) fs.renameSync(dist, old);
    fs.renameSync(partial, dist);
    fs.rmSync(old, { recursive: true, force: true });
  } finally {
    fs.rmSync(partial, { recursive: true, force: true });
  }
  return cli;
}

if (import.meta.main) {
  const out = process.argv[2];
  if (out === undefined) {
    process.stdout.write(`built ${path.relative(process.cwd(), ensureBuilt()) || '.'}\n`);
  } else {
    fs.rmSync(out, { recursive: true, force: true });
    buildJs(path.resolve(out));
    process.stdout.write(`built ${out}\n`);
  }
}
