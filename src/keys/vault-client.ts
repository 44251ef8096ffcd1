/**
 * A node-vault client that takes nothing from the environment. node-vault falls back to VAULT_TOKEN,
 * VAULT_ADDR, VAULT_NAMESPACE, VAULT_PREFIX and VAULT_SKIP_VERIFY, and its debug output prints request
 * bodies (service-account JWTs at login); here every setting comes from the key URL, the token is passed per
 * request from its file, TLS verification is always on, and debug output is off. node-vault is loaded on the
 * first request, so commands that never talk to Vault do not pay for loading it (start-up, docs/PERFORMANCE.md).
 */
import fs from 'node:fs';
import type vault from 'node-vault';
import { ArchiverError } from '../errors.ts';

export interface VaultHttpOptions {
  addr: string;
  namespace?: string;
  caFile?: string;
  /** Whole-request timeout (connect + answer). */
  timeoutMs: number;
}

export interface VaultHttp {
  /** POST `path` (below /v1/); `token` undefined for a login call. Resolves to the JSON body of a 2xx answer. */
  write(path: string, body: Record<string, unknown>, token: string | undefined): Promise<unknown>;
}

export function createVaultHttp(options: VaultHttpOptions): VaultHttp {
  let ca: Buffer | undefined;
  if (options.caFile !== undefined) {
    try {
      ca = fs.readFileSync(options.caFile);
    } catch (err) {
      throw new ArchiverError('EKEY', `vault: cannot read caFile ${options.caFile}: ${(err as Error).message}`, { cause: err });
    }
  }
  // rpDefaults (untyped in node-vault's .d.ts) replaces the default that VAULT_SKIP_VERIFY would turn off.
  const config: vault.VaultOptions & { rpDefaults: { strictSSL: boolean } } = {
    apiVersion: 'v1',
    endpoint: options.addr,
    debug: () => undefined,
    rpDefaults: { strictSSL: true },
    ...(ca === undefined ? {} : { requestOptions: { ca } }),
  };
  let opened: Promise<vault.client> | undefined;
  const open = async (): Promise<vault.client> => {
    const client = (await import('node-vault')).default(config);
    // The constructor already read the environment: overwrite what it may have taken from there.
    client.token = '';
    (client as unknown as { pathPrefix: string }).pathPrefix = '';
    (client as unknown as { namespace: string }).namespace = options.namespace ?? '';
    return client;
  };
  return {
    write: async (path, body, token) =>
      (await (opened ??= open())).write(path, body, { timeout: options.timeoutMs, headers: token === undefined ? {} : { 'X-Vault-Token': token } }) as Promise<unknown>,
  };
}
