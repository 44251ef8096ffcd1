/**
 * Writes a layered docker-archive (the `docker save` format: manifest.json, an image config, one tar per layer)
 * from directories, without Docker or a registry; `ctr images import` reads it. Layers are written with fixed
 * owners and times so the same tree gives the same layer digest.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { TestenvError } from '../errors.ts';

const run = promisify(execFile);

export interface ImageConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  User?: string;
  Env?: string[];
  WorkingDir?: string;
}

export interface ArchiveOptions {
  /** e.g. `localhost/binlog-archiver:testenv` */
  reference: string;
  /** Lowest first: a directory archived as it is (owners root unless `rootOwned` is false), or a layer tar made before. */
  layers: ({ dir: string; comment: string; rootOwned?: boolean } | { tar: string; diffId: string; comment: string })[];
  config: ImageConfig;
}

export interface WrittenImage {
  reference: string;
  /** sha256 of the config: the image id. */
  id: string;
  diffIds: string[];
}

async function tar(args: string[]): Promise<void> {
  try {
    await run('tar', args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    throw new TestenvError('image', `tar ${args.join(' ')} failed: ${((err as { stderr?: string }).stderr ?? '').trim()}`, { cause: err });
  }
}

function sha256File(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(1 << 20);
    for (let n = fs.readSync(fd, buffer); n > 0; n = fs.readSync(fd, buffer)) hash.update(buffer.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** Archives `dir` as one layer tar (fixed times; root owners unless told otherwise); returns its sha256 (the diff id). */
export async function layerTar(dir: string, file: string, rootOwned = true): Promise<string> {
  const owners = rootOwned ? ['--owner=0', '--group=0'] : [];
  await tar(['--create', '--file', file, '--sort=name', '--mtime=@0', '--numeric-owner', ...owners, '-C', dir, '.']);
  return sha256File(file);
}

/** Writes `out` (a .tar); the work files go to a sibling directory that is removed afterwards. */
export async function writeDockerArchive(out: string, options: ArchiveOptions): Promise<WrittenImage> {
  const work = `${out}.work`;
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  try {
    const diffIds: string[] = [];
    const layerPaths: string[] = [];
    for (const [i, layer] of options.layers.entries()) {
      let digest: string;
      if ('tar' in layer) {
        digest = layer.diffId.replace(/^sha256:/, '');
        fs.mkdirSync(path.join(work, digest), { recursive: true });
        fs.linkSync(layer.tar, path.join(work, digest, 'layer.tar'));
      } else {
        const file = path.join(work, `layer${i}.tar`);
        digest = await layerTar(layer.dir, file, layer.rootOwned !== false);
        fs.mkdirSync(path.join(work, digest), { recursive: true });
        fs.renameSync(file, path.join(work, digest, 'layer.tar'));
      }
      diffIds.push(`sha256:${digest}`);
      layerPaths.push(`${digest}/layer.tar`);
    }
    const config = {
      architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      config: options.config,
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: options.layers.map((l) => ({ created: '1970-01-01T00:00:00Z', created_by: l.comment })),
    };
    const configBytes = Buffer.from(JSON.stringify(config));
    const id = createHash('sha256').update(configBytes).digest('hex');
    fs.writeFileSync(path.join(work, `${id}.json`), configBytes);
    fs.writeFileSync(path.join(work, 'manifest.json'), JSON.stringify([{ Config: `${id}.json`, RepoTags: [options.reference], Layers: layerPaths }]));
    const partial = `${out}.partial`;
    await tar(['--create', '--file', partial, '--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', work, 'manifest.json', `${id}.json`, ...layerPaths.map((p) => path.dirname(p))]);
    fs.renameSync(partial, out);
    return { reference: options.reference, id: `sha256:${id}`, diffIds };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
