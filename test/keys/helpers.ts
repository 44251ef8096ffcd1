/** Shared pieces of the key-provider tests: fixtures, error matchers, dead endpoints, AWS credential files. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ArchiverError } from '../../src/errors.ts';
import { listFiles, sha256, tempDir } from '../support/archive.ts';
import type { Endpoints } from '../support/testenv.ts';

export { KINGBUS } from '../support/archive.ts';

/** For assert.rejects / assert.throws: an ArchiverError with this code whose message matches every pattern. */
export function code(expected: string, ...patterns: RegExp[]) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ArchiverError, `expected an ArchiverError, got ${String(err)}`);
    assert.equal(err.code, expected, err.message);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  };
}

/** A loopback port nobody listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A server that accepts connections and never answers: for timeouts. */
export async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/**
 * Gives the SDK's default credential chain the test KMS server's credentials the way a workstation would have
 * them: a shared credentials file. The process env only says where the files are; any AWS_* credential
 * variables are removed so the test proves the file path of the chain. Returns the env for child processes.
 */
export function useAwsCredentialFiles(kms: Endpoints['kms']): NodeJS.ProcessEnv {
  const dir = tempDir('blarc-aws-');
  const credentials = path.join(dir, 'credentials');
  const config = path.join(dir, 'config');
  fs.writeFileSync(credentials, `[default]\naws_access_key_id = ${kms.accessKeyId}\naws_secret_access_key = ${kms.secretAccessKey}\n`, { mode: 0o600 });
  fs.writeFileSync(config, '[default]\n', { mode: 0o600 });
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI']) {
    delete process.env[name];
  }
  process.env.AWS_SHARED_CREDENTIALS_FILE = credentials;
  process.env.AWS_CONFIG_FILE = config;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  return { ...process.env };
}

export function kmsUrl(kms: Endpoints['kms'], key: string = kms.keyAlias, endpoint: string = kms.endpoint): string {
  return `awskms://${key}?region=${kms.region}&endpoint=${encodeURIComponent(endpoint)}`;
}

export function vaultUrl(vault: Endpoints['vault'], options: { key?: string; addr?: string; tokenFile?: string } = {}): string {
  return `vault://${options.key ?? vault.transitKey}?addr=${encodeURIComponent(options.addr ?? vault.addr)}&mount=${vault.mount}&tokenFile=${options.tokenFile ?? vault.tokenFile}`;
}

/** name -> sha256 of every file under dir: "the source binlogs are untouched" compares two of these. */
export function treeDigest(dir: string): Record<string, string> {
  return Object.fromEntries(listFiles(dir).map((f) => [f, sha256(path.join(dir, f))]));
}

/** Root-token calls to the test OpenBao, for setting up keys, policies, tokens and auth methods in a test. */
export function vaultAdmin(vault: Endpoints['vault']): (method: 'POST' | 'DELETE' | 'GET', apiPath: string, body?: unknown) => Promise<Record<string, unknown>> {
  const token = fs.readFileSync(vault.tokenFile, 'utf8').trim();
  return async (method, apiPath, body) => {
    const response = await fetch(`${vault.addr}/v1/${apiPath}`, {
      method,
      headers: { 'X-Vault-Token': token, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} /v1/${apiPath} answered ${response.status}: ${text}`);
    return text === '' ? {} : JSON.parse(text) as Record<string, unknown>;
  };
}

/** A token file holding a fresh Vault token limited to `policies` (created with the root token). */
export async function tokenFileWithPolicy(vault: Endpoints['vault'], name: string, policy: string): Promise<string> {
  const admin = vaultAdmin(vault);
  await admin('POST', `sys/policies/acl/${name}`, { policy });
  const created = await admin('POST', 'auth/token/create', { policies: [name], no_default_policy: true, ttl: '10m' }) as { auth: { client_token: string } };
  const file = path.join(tempDir('blarc-vault-'), 'token');
  fs.writeFileSync(file, `${created.auth.client_token}\n`, { mode: 0o600 });
  return file;
}
