/**
 * A warning, like ssh's for private keys, when a local key or passphrase file (`--key file:///…`) can be read by
 * other users. Not fatal: the key may already be shared, and refusing would stop archiving, which is worse.
 * Group access counts only on a file the user owns (a person's `chmod 640` slip): a Kubernetes Secret volume
 * gives root-owned files mode 0440 and the pod's fsGroup, and group access is how the Job is meant to read them.
 */
import fs from 'node:fs';
import type { Logger } from '../logger.ts';

/** Why the file at `path` is exposed to other users, or undefined (also when it cannot be read: opening it reports that). */
export function keyFileExposure(path: string, uid: number | undefined = process.getuid?.()): string | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(path);
  } catch {
    return undefined;
  }
  const mode = stat.mode & 0o777;
  const octal = `0${mode.toString(8).padStart(3, '0')}`;
  if ((mode & 0o007) !== 0) return `mode ${octal} lets every user of this machine ${(mode & 0o004) !== 0 ? 'read' : 'use'} it`;
  if ((mode & 0o070) !== 0 && uid !== undefined && stat.uid === uid) return `mode ${octal} lets group ${stat.gid} ${(mode & 0o040) !== 0 ? 'read' : 'use'} it`;
  return undefined;
}

export function warnIfKeyFileExposed(path: string, logger: Logger): void {
  const exposure = keyFileExposure(path);
  if (exposure === undefined) return;
  logger.log('warn', 'Key file is accessible to other users', { keyFile: path, problem: exposure, hint: `chmod 600 ${path}` });
}
