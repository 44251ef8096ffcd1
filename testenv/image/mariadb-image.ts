/**
 * A MariaDB server image for Pods on the test node, built like the project image (testenv/image/project-image.ts)
 * from this machine's Debian packages, without Docker or a registry: mariadbd and the mariadb client with their
 * shared libraries, the English error messages and the character sets. No shell, no install script: the data
 * directory is initialised by whoever provides the volume (testenv/node/mariadb-pod.ts on the host), so the image
 * only runs the server, as the non-root user of the project image.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cacheRoot } from '../versions.ts';
import { type ImageConfig, type WrittenImage, writeDockerArchive } from './docker-archive.ts';
import { APP_UID, LAYER_RECIPE, MARIADB_IMAGE, baseLayer, cachedLayer, fileStamp, program } from './project-image.ts';
import { addPrograms } from './rootfs.ts';

/** Where mariadbd finds its error messages and character sets (its compiled-in defaults on Debian). */
const SHARE = '/usr/share/mysql';
const SHARED_DATA = ['english', 'charsets'];

export const MARIADB_IMAGE_CONFIG: ImageConfig = {
  User: `${APP_UID}:${APP_UID}`,
  Env: ['PATH=/usr/sbin:/usr/bin'],
  Entrypoint: ['/usr/sbin/mariadbd'],
};

function serverPrograms(): string[] {
  return [program('mariadbd'), program('mariadb')];
}

function inputsKey(): string {
  const files = [program('env'), ...serverPrograms(), ...SHARED_DATA.map((d) => path.join(SHARE, d))];
  return `${LAYER_RECIPE} ${files.map(fileStamp).join(' ')}`;
}

async function fillServerLayer(dir: string): Promise<void> {
  const [mariadbd = '', mariadb = ''] = serverPrograms();
  await addPrograms(dir, [{ source: mariadbd, target: '/usr/sbin/mariadbd' }, { source: mariadb, target: '/usr/bin/mariadb' }]);
  for (const d of SHARED_DATA) fs.cpSync(path.join(SHARE, d), path.join(dir, SHARE.slice(1), d), { recursive: true, dereference: true });
}

async function buildMariadbImage(out: string, work: string): Promise<WrittenImage> {
  try {
    const bundle = '/etc/ssl/certs/ca-certificates.crt';
    const base = await cachedLayer('base', `${LAYER_RECIPE} ${fileStamp(program('env'))} ${fs.existsSync(bundle) ? fileStamp(bundle) : ''}`, work, baseLayer);
    const server = await cachedLayer('mariadb-server', inputsKey(), work, fillServerLayer);
    return await writeDockerArchive(out, {
      reference: MARIADB_IMAGE,
      layers: [
        { ...base, comment: 'base: merged /usr, passwd with the non-root user, CA bundle, env' },
        { ...server, comment: 'mariadbd, mariadb (Debian mariadb-server, mariadb-client), their libraries, errmsg and charsets' },
      ],
      config: MARIADB_IMAGE_CONFIG,
    });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The MariaDB image tarball: built once per change of the server package, the previous one removed. */
export async function cachedMariadbImage(): Promise<{ tarball: string; image: WrittenImage | undefined }> {
  const dir = path.join(cacheRoot(), 'mariadb-image');
  const tarball = path.join(dir, `${createHash('sha256').update(inputsKey()).digest('hex').slice(0, 16)}.tar`);
  if (fs.existsSync(tarball)) return { tarball, image: undefined };
  fs.mkdirSync(dir, { recursive: true });
  for (const old of fs.readdirSync(dir)) fs.rmSync(path.join(dir, old), { recursive: true, force: true });
  const image = await buildMariadbImage(`${tarball}.partial`, `${tarball}.layers`);
  fs.renameSync(`${tarball}.partial`, tarball);
  return { tarball, image };
}
