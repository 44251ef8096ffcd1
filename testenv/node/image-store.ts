/**
 * containerd's root (its image content, snapshots and metadata) kept across `up`s in one state directory, so a warm
 * `up` imports an image only when its tarball changed: unpacking the project image into a fresh store took 11-30 s.
 * Only images survive: `down` removes every container from the store while containerd still runs, then marks the
 * store clean. A store not marked clean (a crash, a failed `down`) is wiped by the next `up` and filled again.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { TestenvError } from '../errors.ts';

const run = promisify(execFile);

/** Where one environment keeps its image store: beside, not inside, the node directory that `down` removes. */
export function imageStoreDir(stateDir: string): string {
  return path.join(stateDir, 'node-images');
}

const cleanMarker = (store: string): string => path.join(store, 'clean');

/** The containerd root to use for this `up`: the kept one if the last `down` left it clean, else a new empty one. */
export function openImageStore(store: string): { root: string; reused: boolean } {
  const root = path.join(store, 'root');
  const reused = fs.existsSync(cleanMarker(store)) && fs.existsSync(root);
  if (!reused) fs.rmSync(store, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  // In use from now on: only a `down` that removes every container marks it clean again.
  fs.rmSync(cleanMarker(store), { force: true });
  return { root, reused };
}

function ctr(socket: string, args: string[]): Promise<{ stdout: string }> {
  return run('ctr', ['--address', socket, '-n', 'k8s.io', ...args], { maxBuffer: 16 * 1024 * 1024 });
}

/** What identifies a tarball's content cheaply: the cached tarballs are named by their inputs and never rewritten. */
function tarballIdentity(tarball: string): string {
  const st = fs.statSync(tarball);
  return `${path.resolve(tarball)} ${st.size} ${st.mtimeMs}`;
}

/**
 * Imports `tarball` as `reference` unless the store already holds it from this very tarball. Returns true if it
 * imported.
 */
export async function importIfChanged(store: string, socket: string, reference: string, tarball: string): Promise<boolean> {
  const markers = path.join(store, 'imported');
  const marker = path.join(markers, createHash('sha256').update(reference).digest('hex').slice(0, 16));
  const identity = tarballIdentity(tarball);
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === identity) {
    const { stdout } = await ctr(socket, ['images', 'ls', '-q', `name==${reference}`]);
    if (stdout.split('\n').includes(reference)) return false;
  }
  try {
    await ctr(socket, ['images', 'import', tarball]);
  } catch (err) {
    throw new TestenvError('node', `ctr images import ${tarball} failed: ${((err as { stderr?: string }).stderr ?? '').trim()}`, { cause: err });
  }
  fs.mkdirSync(markers, { recursive: true });
  fs.writeFileSync(marker, identity);
  return true;
}

/**
 * At `down`, after the kubelet is stopped and every container process and shim killed, while containerd still
 * runs: removes every container (Pod sandboxes included) so the next containerd starts with images only, then marks
 * the store clean. Any failure leaves it unmarked, and the next `up` starts from an empty store.
 */
export async function releaseImageStore(store: string, socket: string): Promise<number> {
  const { stdout } = await ctr(socket, ['containers', 'ls', '-q']);
  const ids = stdout.split('\n').filter((l) => l !== '');
  for (const id of ids) {
    await ctr(socket, ['tasks', 'rm', '-f', id]).catch(() => undefined);
    await ctr(socket, ['containers', 'rm', id]);
  }
  const left = (await ctr(socket, ['containers', 'ls', '-q'])).stdout.trim();
  if (left !== '') throw new TestenvError('node', `containers still in the image store after removing them: ${left.split('\n').join(', ')}`);
  fs.writeFileSync(cleanMarker(store), `${new Date().toISOString()}\n`);
  return ids.length;
}
