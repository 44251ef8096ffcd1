/**
 * The project image, built from the repository without Docker or a registry, with what the Dockerfile puts on top
 * of its base: Node 24 (the binary of the pinned `node` package), the production dependencies, package.json, bin/
 * and src/ compiled to JavaScript as its build stage does (scripts/build.ts), the MariaDB client tools the restore runs with their shared libraries, `binlog-archiver` on PATH, a
 * non-root user. Also a MariaDB server image from Debian's packages, built the same way.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildInputsDigest, buildJs } from '../../scripts/build.ts';
import { TestenvError } from '../errors.ts';
import { findCommand } from '../packages.ts';
import { cacheRoot } from '../versions.ts';
import { type ImageConfig, type WrittenImage, layerTar, writeDockerArchive } from './docker-archive.ts';
import { addPrograms, usrMergedSkeleton } from './rootfs.ts';

const run = promisify(execFile);

export const PROJECT_IMAGE = 'localhost/binlog-archiver:testenv';
export const MARIADB_IMAGE = 'localhost/binlog-archiver-mariadb:testenv';
/** The Dockerfile's `USER`: Jobs default to it. */
export const APP_UID = 65532;

export function program(name: string): string {
  const found = findCommand(name);
  if (found === undefined) throw new TestenvError('image', `${name} not found; install its Debian package`);
  return found;
}

/** /etc/passwd and /etc/group with root and the non-root user; PATH and the CA bundle. */
export async function baseLayer(root: string): Promise<void> {
  usrMergedSkeleton(root);
  fs.writeFileSync(path.join(root, 'etc/passwd'), `root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:${APP_UID}:${APP_UID}:nonroot:/tmp:/usr/sbin/nologin\n`);
  fs.writeFileSync(path.join(root, 'etc/group'), `root:x:0:\nnonroot:x:${APP_UID}:\n`);
  const bundle = '/etc/ssl/certs/ca-certificates.crt';
  if (fs.existsSync(bundle)) {
    fs.mkdirSync(path.join(root, 'etc/ssl/certs'), { recursive: true });
    fs.copyFileSync(bundle, path.join(root, bundle));
  }
  // bin/binlog-archiver.js starts with #!/usr/bin/env node.
  await addPrograms(root, [{ source: program('env'), target: '/usr/bin/env' }]);
}

/** `npm ci --omit=dev` once per package-lock.json, cached; the Dockerfile's deps stage does the same. */
async function productionModules(repo: string): Promise<string> {
  const lock = fs.readFileSync(path.join(repo, 'package-lock.json'));
  const key = createHash('sha256').update(lock).update(fs.readFileSync(path.join(repo, 'package.json'))).digest('hex').slice(0, 16);
  const dir = path.join(cacheRoot(), `image-deps-${key}`);
  if (fs.existsSync(path.join(dir, 'node_modules'))) return path.join(dir, 'node_modules');
  const tmp = `${dir}.partial-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(repo, f), path.join(tmp, f));
  try {
    await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: tmp, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    throw new TestenvError('image', `npm ci --omit=dev failed: ${((err as { stderr?: string }).stderr ?? '').trim()}`, { cause: err });
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return path.join(dir, 'node_modules');
}

export interface ImageBuild {
  /** Where layer trees are assembled (removed afterwards). */
  work: string;
  out: string;
}

/** The entrypoint and the rest of the config, as the Dockerfile's final stage sets them. */
export const PROJECT_IMAGE_CONFIG: ImageConfig = {
  User: `${APP_UID}:${APP_UID}`,
  Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_ENV=production', 'NODE_COMPILE_CACHE=/app/compile-cache'],
  WorkingDir: '/app',
  Entrypoint: ['node', 'bin/binlog-archiver.js'],
};

/** What identifies a file this machine provides to a layer: its path, size and modification time. */
export function fileStamp(file: string): string {
  const st = fs.statSync(file);
  return `${file} ${st.size} ${st.mtimeMs}`;
}

/**
 * A layer tar kept in the cache under `key`, so the layers that do not change with the sources (base, Node, the
 * MariaDB client, the dependencies) are archived once, not at every build.
 */
export async function cachedLayer(name: string, key: string, work: string, fill: (dir: string) => Promise<void>): Promise<{ tar: string; diffId: string }> {
  const dir = path.join(cacheRoot(), 'image-layers');
  const id = createHash('sha256').update(key).digest('hex').slice(0, 16);
  const tar = path.join(dir, `${name}-${id}.tar`);
  const digestFile = `${tar}.sha256`;
  if (fs.existsSync(digestFile)) return { tar, diffId: `sha256:${fs.readFileSync(digestFile, 'utf8').trim()}` };
  fs.mkdirSync(dir, { recursive: true });
  for (const old of fs.readdirSync(dir).filter((f) => f.startsWith(`${name}-`))) fs.rmSync(path.join(dir, old), { force: true });
  const tree = path.join(work, name);
  fs.rmSync(tree, { recursive: true, force: true });
  fs.mkdirSync(tree, { recursive: true });
  await fill(tree);
  const digest = await layerTar(tree, `${tar}.partial`);
  fs.renameSync(`${tar}.partial`, tar);
  fs.writeFileSync(digestFile, digest);
  return { tar, diffId: `sha256:${digest}` };
}

/** Bump when a layer's recipe changes, so cached layers are rebuilt. */
export const LAYER_RECIPE = '1';

export async function buildProjectImage(repo: string, build: ImageBuild): Promise<WrittenImage> {
  const layer = (name: string): string => {
    const dir = path.join(build.work, name);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };
  try {
    const nodeBinary = path.join(repo, 'node_modules', 'node', 'bin', 'node');
    const bundle = '/etc/ssl/certs/ca-certificates.crt';
    const base = await cachedLayer('base', `${LAYER_RECIPE} ${fileStamp(program('env'))} ${fs.existsSync(bundle) ? fileStamp(bundle) : ''}`, build.work, baseLayer);
    const node = await cachedLayer('node', `${LAYER_RECIPE} ${fileStamp(nodeBinary)}`, build.work, async (dir) => {
      await addPrograms(dir, [{ source: nodeBinary, target: '/usr/local/bin/node' }]);
    });
    const clientTools = [program('mariadb'), program('mariadb-binlog')];
    const client = await cachedLayer('mariadb-client', `${LAYER_RECIPE} ${clientTools.map(fileStamp).join(' ')}`, build.work, async (dir) => {
      await addPrograms(dir, clientTools.map((source) => ({ source, target: `/usr/bin/${path.basename(source)}` })));
    });
    const modules = await productionModules(repo);
    const deps = await cachedLayer('deps', `${LAYER_RECIPE} ${modules}`, build.work, (dir) => {
      fs.mkdirSync(path.join(dir, 'app'));
      fs.cpSync(modules, path.join(dir, 'app', 'node_modules'), { recursive: true });
      return Promise.resolve();
    });
    const app = layer('app');
    // The build stage's output (bin/, src/ in JavaScript, and package.json, which the Dockerfile copies as is).
    buildJs(path.join(app, 'app'), repo);
    fs.chmodSync(path.join(app, 'app', 'bin', 'binlog-archiver.js'), 0o755);
    // The Dockerfile's compile-cache directory; left empty here (the Dockerfile fills it at build time), so the
    // test image compiles as without a cache, which Node does silently with a directory it cannot write; with the
    // JavaScript build that costs a Job's start about 10 % more CPU, not the type stripping.
    fs.mkdirSync(path.join(app, 'app', 'compile-cache'));
    fs.mkdirSync(path.join(app, 'usr', 'local', 'bin'), { recursive: true });
    fs.symlinkSync('/app/bin/binlog-archiver.js', path.join(app, 'usr', 'local', 'bin', 'binlog-archiver'));
    return await writeDockerArchive(build.out, {
      reference: PROJECT_IMAGE,
      layers: [
        { ...base, comment: 'base: merged /usr, passwd with the non-root user, CA bundle, env' },
        { ...node, comment: 'node (the pinned node package) and its libraries' },
        { ...client, comment: 'mariadb, mariadb-binlog (Debian mariadb-client) and their libraries' },
        { ...deps, comment: 'npm ci --omit=dev --ignore-scripts' },
        { dir: app, comment: 'package.json, bin and src built to JavaScript; binlog-archiver on PATH' },
      ],
      config: PROJECT_IMAGE_CONFIG,
    });
  } finally {
    fs.rmSync(build.work, { recursive: true, force: true });
  }
}

/** A digest of everything the project image is built from, so an unchanged tree reuses the last tarball. */
function inputsDigest(repo: string): string {
  const hash = createHash('sha256');
  const add = (file: string): void => {
    hash.update(path.relative(repo, file)).update('\0').update(fs.readFileSync(file));
  };
  add(path.join(repo, 'package-lock.json'));
  // package.json, bin/, src/, the tsconfigs, the build script and the TypeScript version.
  hash.update(`build ${buildInputsDigest(repo)}`);
  const node = fs.statSync(path.join(repo, 'node_modules', 'node', 'bin', 'node'));
  hash.update(`node ${node.size} ${node.mtimeMs}`);
  for (const name of ['mariadb', 'mariadb-binlog', 'env']) hash.update(`${name} ${fs.statSync(program(name)).mtimeMs}`);
  return hash.digest('hex').slice(0, 16);
}

/** The project image tarball for the current tree: built once per change of its inputs, the previous one removed. */
export async function cachedProjectImage(repo: string): Promise<{ tarball: string; image: WrittenImage | undefined }> {
  const dir = path.join(cacheRoot(), 'project-image');
  const tarball = path.join(dir, `${inputsDigest(repo)}.tar`);
  if (fs.existsSync(tarball)) return { tarball, image: undefined };
  fs.mkdirSync(dir, { recursive: true });
  for (const old of fs.readdirSync(dir)) fs.rmSync(path.join(dir, old), { recursive: true, force: true });
  const image = await buildProjectImage(repo, { work: `${tarball}.layers`, out: tarball });
  return { tarball, image };
}
