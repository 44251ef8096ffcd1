// test-resources: project-image, cpu
/**
 * The project image built without Docker (testenv/image/project-image.ts) adds on top of its base what the
 * Dockerfile's final stage adds on top of `node:24-bookworm-slim`: read from the Dockerfile itself, checked in
 * the docker-archive's config and layers, and run (chroot, as the image's user) for the programs Jobs call.
 * bin/ and src/ come from the Dockerfile's build stage (scripts/build.ts): compared with a build of the tree.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildInputsDigest, buildJs } from '../../scripts/build.ts';
import { cachedProjectImage } from '../../testenv/image/project-image.ts';
import { tempDir } from '../support/archive.ts';
import { REPO_ROOT } from '../support/testenv.ts';

interface Instruction { op: string; args: string }

/** The Dockerfile's instructions, continuation lines joined. */
function dockerfile(): Instruction[] {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  return lines.map((l) => ({ op: (l.split(/\s+/)[0] ?? '').toUpperCase(), args: l.slice(l.search(/\s/) + 1).trim() }));
}

/** The final stage of the Dockerfile: instructions after the last FROM. */
function finalStage(): Instruction[] {
  const parsed = dockerfile();
  return parsed.slice(parsed.map((p) => p.op).lastIndexOf('FROM') + 1);
}

/** The stage `FROM ... AS name`: its instructions up to the next FROM. */
function stage(name: string): Instruction[] {
  const parsed = dockerfile();
  const start = parsed.findIndex((p) => p.op === 'FROM' && new RegExp(`\\sAS\\s+${name}$`, 'i').test(p.args));
  assert.ok(start >= 0, `the Dockerfile has a stage ${name}`);
  const end = parsed.findIndex((p, i) => i > start && p.op === 'FROM');
  return parsed.slice(start + 1, end < 0 ? undefined : end);
}

const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function filesUnder(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

describe('project image vs Dockerfile', () => {
  const work = tempDir('blarc-image-');
  const root = path.join(work, 'root');
  let builtAt = 0;
  /** A build of the tree (scripts/build.ts), and whether its inputs stayed the same while the test built it. */
  const built = path.join(work, 'built');
  let builtUnchanged = false;
  let config: { config: { User?: string; Env?: string[]; WorkingDir?: string; Entrypoint?: string[] }; rootfs: { diff_ids: string[] } };

  before(async () => {
    const inputs = buildInputsDigest(REPO_ROOT);
    const { tarball } = await cachedProjectImage(REPO_ROOT);
    builtAt = fs.statSync(tarball).mtimeMs;
    buildJs(built, REPO_ROOT);
    builtUnchanged = buildInputsDigest(REPO_ROOT) === inputs;
    execFileSync('tar', ['-xf', tarball, '-C', work]);
    const [manifest] = JSON.parse(fs.readFileSync(path.join(work, 'manifest.json'), 'utf8')) as { Config: string; Layers: string[]; RepoTags: string[] }[];
    assert.ok(manifest !== undefined);
    config = JSON.parse(fs.readFileSync(path.join(work, manifest.Config), 'utf8')) as typeof config;
    assert.equal(manifest.Layers.length, config.rootfs.diff_ids.length);
    fs.mkdirSync(root);
    for (const [i, layer] of manifest.Layers.entries()) {
      assert.equal(`sha256:${sha(path.join(work, layer))}`, config.rootfs.diff_ids[i], `layer ${layer} matches its diff id`);
      execFileSync('tar', ['-xf', path.join(work, layer), '-C', root]);
    }
  });

  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it('has the config the final stage sets: USER, ENV, WORKDIR, ENTRYPOINT', () => {
    const stage = finalStage();
    const last = (op: string): string | undefined => stage.filter((i) => i.op === op).at(-1)?.args;
    assert.equal(config.config.User, last('USER'));
    assert.equal(config.config.WorkingDir, last('WORKDIR'));
    assert.deepEqual(config.config.Entrypoint, JSON.parse(last('ENTRYPOINT') ?? 'null'));
    for (const env of stage.filter((i) => i.op === 'ENV')) assert.ok(config.config.Env?.includes(env.args.replace(/\s+/, '=')), env.args);
    const uid = (last('USER') ?? '').split(':')[0];
    assert.match(fs.readFileSync(path.join(root, 'etc/passwd'), 'utf8'), new RegExp(`^\\w+:x:${uid}:`, 'm'));
  });

  it('has every COPY of the final stage, byte for byte, and the binlog-archiver link', () => {
    const stage = finalStage();
    const workdir = stage.find((i) => i.op === 'WORKDIR')?.args ?? '/';
    const copies = stage.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'));
    assert.ok(copies.length >= 1);
    for (const copy of copies) {
      const parts = copy.args.split(/\s+/);
      const dest = path.posix.resolve(workdir, parts.at(-1) ?? '');
      for (const src of parts.slice(0, -1)) {
        const from = path.join(REPO_ROOT, src);
        const to = fs.statSync(from).isDirectory() ? path.join(root, dest) : path.join(root, dest, path.basename(src));
        const files = fs.statSync(from).isDirectory() ? filesUnder(from) : [''];
        for (const f of files) {
          assert.ok(fs.existsSync(path.join(to, f)), `${src}/${f} in the image`);
          // The tree may be edited while the tests run: a file changed after the build is only checked for presence.
          if (fs.statSync(path.join(from, f)).mtimeMs < builtAt) assert.equal(sha(path.join(to, f)), sha(path.join(from, f)), `${src}/${f} in the image`);
        }
      }
    }
    // bin/ and src/ are the build stage's dist/: the JavaScript scripts/build.ts makes of the tree, byte for byte.
    const fromBuild = stage.filter((i) => i.op === 'COPY' && i.args.startsWith('--from=build '));
    assert.deepEqual(fromBuild.map((i) => i.args.split(/\s+/).at(-1)), ['./bin', './src']);
    for (const copy of fromBuild) {
      const [, src = '', dst = ''] = copy.args.split(/\s+/);
      const from = path.join(built, path.posix.relative('/app/dist', src));
      const to = path.join(root, path.posix.resolve(workdir, dst));
      assert.deepEqual(filesUnder(to), filesUnder(from), `${src} in the image holds what the build makes`);
      if (builtUnchanged) for (const f of filesUnder(from)) assert.equal(sha(path.join(to, f)), sha(path.join(from, f)), `${src}/${f} in the image`);
    }
    assert.ok(!filesUnder(path.join(root, 'app', 'src')).some((f) => f.endsWith('.ts')), 'the image holds no TypeScript source');
    const link = stage.find((i) => i.op === 'RUN' && i.args.includes('ln -s'))?.args.match(/ln -s (\S+) (\S+)/);
    assert.ok(link !== null && link !== undefined);
    assert.equal(fs.readlinkSync(path.join(root, link[2] ?? '')), link[1]);
    assert.equal(fs.statSync(path.join(root, link[1] ?? '')).mode & 0o777, 0o755);
  });

  it('has a build stage that compiles with scripts/build.ts, as the project image does', () => {
    const build = stage('build');
    assert.ok(build.some((i) => i.op === 'RUN' && /^node scripts\/build\.ts$/.test(i.args)), 'RUN node scripts/build.ts');
    const copied = build.filter((i) => i.op === 'COPY').flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const input of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.ts', 'bin', 'src']) assert.ok(copied.includes(input), `the build stage copies ${input}`);
    const ignore = fs.readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const input of ['tsconfig.json', 'tsconfig.build.json', 'scripts/build.ts']) assert.ok(ignore.includes(`!${input}`), `.dockerignore lets ${input} in`);
  });

  it('has exactly the production dependencies the deps stage installs (npm ci --omit=dev)', () => {
    const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const production = Object.entries(lock.packages).filter(([p, v]) => p.startsWith('node_modules/') && v.dev !== true).map(([p]) => p).sort();
    const installed = production.filter((p) => fs.existsSync(path.join(root, 'app', p, 'package.json')));
    assert.deepEqual(installed, production);
    for (const dev of ['typescript', 'eslint', 'node']) assert.equal(fs.existsSync(path.join(root, 'app', 'node_modules', dev)), false, `${dev} is a devDependency`);
  });

  it('runs Node 24 and the MariaDB client tools of the apt-get install line as the non-root user', { skip: process.getuid?.() === 0 ? false : 'chroot needs root' }, () => {
    const stage = finalStage();
    const apt = stage.find((i) => i.op === 'RUN' && i.args.includes('apt-get install'))?.args ?? '';
    const packages = (apt.match(/apt-get install ([^&]+)/)?.[1] ?? '').split(/\s+/).filter((w) => w !== '' && !w.startsWith('-'));
    assert.deepEqual(packages, ['mariadb-client']);
    const user = config.config.User ?? '';
    const inImage = (...args: string[]): string => execFileSync('chroot', [`--userspec=${user}`, root, ...args], { encoding: 'utf8' });
    assert.match(inImage('/usr/local/bin/node', '--version'), /^v24\./);
    assert.equal(sha(path.join(root, 'usr/local/bin/node')), sha(path.join(REPO_ROOT, 'node_modules/node/bin/node')));
    // Debian's package (or one it depends on) ships these two; the restore pipes one into the other.
    const depends = execFileSync('dpkg-query', ['-W', '-f', '${Depends}', ...packages], { encoding: 'utf8' });
    const installed = new Set([...packages, ...depends.split(',').map((d) => d.trim().split(/\s/)[0] ?? '')]);
    for (const tool of ['mariadb-binlog', 'mariadb']) {
      const owner = execFileSync('dpkg', ['-S', `/usr/bin/${tool}`], { encoding: 'utf8' }).split(':')[0] ?? '';
      assert.ok(installed.has(owner), `${tool} comes from ${owner}, which apt-get install ${packages.join(' ')} installs`);
      assert.match(inImage(`/usr/bin/${tool}`, '--version'), /MariaDB|Ver/);
    }
    assert.match(inImage('/usr/bin/env', 'PATH=/usr/local/bin:/usr/bin', 'binlog-archiver', 'help'), /binlog-archiver/);
  });
});
