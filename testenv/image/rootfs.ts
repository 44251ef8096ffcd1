/**
 * Filling an image root from this machine's own files: an ELF program with every shared library `ldd` names, at
 * the same paths (Debian's merged /usr layout, so /lib and /lib64 are links into /usr).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { TestenvError } from '../errors.ts';

const run = promisify(execFile);

/** Copies `source` into `root` at `target` (default: the same path), following links; keeps the mode. */
export function copyInto(root: string, source: string, target = source): void {
  const dest = path.join(root, target);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(fs.realpathSync(source), dest);
  fs.chmodSync(dest, fs.statSync(source).mode & 0o7777);
}

/** The libraries a program loads, as real paths (the loader included). */
export async function sharedLibraries(program: string): Promise<string[]> {
  let stdout: string;
  try {
    ({ stdout } = await run('ldd', [program]));
  } catch (err) {
    if (/not a dynamic executable/.test((err as { stdout?: string; stderr?: string }).stderr ?? '')) return [];
    throw new TestenvError('image', `ldd ${program} failed`, { cause: err });
  }
  const libs: string[] = [];
  for (const line of stdout.split('\n')) {
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (line.includes('not found')) throw new TestenvError('image', `${program} needs a library this machine lacks: ${line.trim()}`);
    if (match?.[1] !== undefined) libs.push(match[1]);
  }
  return libs;
}

/** The merged-/usr skeleton: /lib, /lib64, /bin, /sbin link into /usr, and the loader's usual /lib64 name. */
export function usrMergedSkeleton(root: string): void {
  for (const dir of ['usr/lib/x86_64-linux-gnu', 'usr/lib64', 'usr/bin', 'usr/sbin', 'usr/local/bin', 'etc', 'tmp']) {
    fs.mkdirSync(path.join(root, dir), { recursive: true });
  }
  fs.chmodSync(path.join(root, 'tmp'), 0o1777);
  for (const name of ['lib', 'lib64', 'bin', 'sbin']) fs.symlinkSync(`usr/${name}`, path.join(root, name));
}

/** Copies each program and its libraries (at the paths ldd resolves them to, which exist in the skeleton). */
export async function addPrograms(root: string, programs: { source: string; target?: string }[]): Promise<string[]> {
  const added: string[] = [];
  for (const p of programs) {
    copyInto(root, p.source, p.target);
    added.push(p.target ?? p.source);
    for (const lib of await sharedLibraries(p.source)) {
      // ldd prints /lib/... or /lib64/...; in the image those are links into /usr, so write the /usr path.
      const target = lib.replace(/^\/(lib|lib64)\//, '/usr/$1/');
      if (!fs.existsSync(path.join(root, target))) copyInto(root, lib, target);
      added.push(target);
    }
  }
  return added;
}
