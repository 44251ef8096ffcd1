/**
 * OpenBao in dev mode with the Transit engine and two keys (one plain, one derived, for context tests).
 * The root token is chosen here, passed by environment, written to a 0600 file and never printed:
 * dev mode prints it on stdout, so stdout is discarded and only stderr (the server log) is kept.
 */
import path from 'node:path';
import type { Endpoints, UpContext } from '../context.ts';
import { TestenvError } from '../errors.ts';
import { allocatePort } from '../ports.ts';
import { httpStatus } from '../probe.ts';
import { startProcess, waitReady } from '../proc.ts';
import { randomToken, writeSecretFile } from '../secrets.ts';

export const TRANSIT_KEY = 'binlog-archiver';
export const DERIVED_TRANSIT_KEY = 'binlog-archiver-derived';

async function call(addr: string, token: string, method: string, apiPath: string, body: unknown, logFile: string): Promise<void> {
  const response = await fetch(`${addr}/v1/${apiPath}`, {
    method,
    headers: { 'X-Vault-Token': token, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) {
    throw new TestenvError('vault', `${method} /v1/${apiPath} answered ${response.status}: ${await response.text()}`, { logFile });
  }
  await response.arrayBuffer();
}

export async function startVault(ctx: UpContext): Promise<Endpoints['vault']> {
  const port = await allocatePort('vault');
  const addr = `http://127.0.0.1:${port}`;
  const token = randomToken(24);
  const tokenFile = path.join(ctx.dir, 'vault-root-token');
  writeSecretFile(tokenFile, token);
  const logFile = path.join(ctx.dir, 'vault.log');
  const proc = startProcess({
    name: 'vault',
    command: ctx.tools.bao ?? '',
    args: ['server', '-dev', `-dev-listen-address=127.0.0.1:${port}`, '-dev-no-store-token'],
    env: { ...process.env, BAO_DEV_ROOT_TOKEN_ID: token, HOME: ctx.dir },
    logFile,
    discardStdout: true,
  });
  ctx.record(proc);
  await waitReady(proc, async () => (await httpStatus(`${addr}/v1/sys/health`)) === 200);
  await call(addr, token, 'POST', 'sys/mounts/transit', { type: 'transit' }, logFile);
  await call(addr, token, 'POST', `transit/keys/${TRANSIT_KEY}`, { type: 'aes256-gcm96' }, logFile);
  await call(addr, token, 'POST', `transit/keys/${DERIVED_TRANSIT_KEY}`, { type: 'aes256-gcm96', derived: true }, logFile);
  return { addr, tokenFile, transitKey: TRANSIT_KEY, derivedTransitKey: DERIVED_TRANSIT_KEY, mount: 'transit' };
}
