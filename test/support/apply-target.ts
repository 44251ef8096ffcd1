/**
 * A fresh MariaDB server to apply restores to, with a `restorer` account whose name and password are in 0600
 * files (as mounted Secrets are): the shape `restore --apply-*` takes.
 */
import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { launchMariadb, type Launched, type MariadbTools } from '../../testenv/servers/mariadb.ts';
import { allocatePort } from '../../testenv/ports.ts';
import { ensureTools } from '../../testenv/tools.ts';
import { tempDir } from './archive.ts';

export interface ApplyTargetServer {
  server: Launched;
  port: number;
  userFile: string;
  passwordFile: string;
  /** The CLI's --apply-* arguments for this server. */
  args: string[];
}

/** Launches the server (added to `servers` for the caller to stop) and writes its credentials under `work`. */
export async function freshTarget(name: string, work: string, servers: Launched[], options: { binlog?: boolean } = {}): Promise<ApplyTargetServer> {
  const server = await launchMariadb({
    name, dir: tempDir('blarc-target-'), port: await allocatePort('replica'), binlog: options.binlog ?? true, serverId: 300 + randomInt(1000),
    tools: (await ensureTools(new Set(['mysql']))) as MariadbTools,
  });
  servers.push(server);
  const password = randomBytes(12).toString('hex');
  await server.sql(`CREATE USER 'restorer'@'127.0.0.1' IDENTIFIED BY '${password}'; GRANT ALL PRIVILEGES ON *.* TO 'restorer'@'127.0.0.1'`);
  const userFile = path.join(work, `${name}.user`);
  const passwordFile = path.join(work, `${name}.password`);
  fs.writeFileSync(userFile, 'restorer\n', { mode: 0o600 });
  fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const port = Number((await server.sql('SELECT @@port')).trim());
  return { server, port, userFile, passwordFile, args: ['--apply-host', '127.0.0.1', '--apply-port', String(port), '--apply-user-file', userFile, '--apply-password-file', passwordFile] };
}
