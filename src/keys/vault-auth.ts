/**
 * Where the Vault token comes from: a token file (re-read for every operation, so a token rotated by Vault
 * Agent or a Secret update is picked up), or a login with Vault's Kubernetes auth method using the projected
 * service-account token (re-read at each login, since the kubelet rotates it). Neither is ever logged.
 */
import fs from 'node:fs';
import { ArchiverError } from '../errors.ts';
import type { KeyOperation } from './key-failure.ts';
import type { VaultHttp } from './vault-client.ts';
import { vaultFailure } from './vault-errors.ts';
import type { VaultAuthOptions } from './vault-url.ts';

export interface VaultToken {
  token: string;
  /** False when it came from a cache: a 403 may then mean it expired, and one fresh login is worth trying. */
  fresh: boolean;
}

export interface VaultTokenSource {
  token(): Promise<VaultToken>;
  invalidate(): void;
  /** For messages: `tokenFile /path` or `Kubernetes auth role R at auth/M`. */
  readonly description: string;
}

export function readSecretFile(file: string, what: string, keyName: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ArchiverError('EKEY', `vault key ${keyName}: cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err, hint: `mount the ${what} at that path`, context: { provider: 'vault', keyId: keyName },
    });
  }
  if (text === '') throw new ArchiverError('EKEY', `vault key ${keyName}: ${what} ${file} is empty`, { context: { provider: 'vault', keyId: keyName } });
  return text;
}

class TokenFileSource implements VaultTokenSource {
  readonly description: string;
  readonly #file: string;
  readonly #keyName: string;

  constructor(file: string, keyName: string) {
    this.#file = file;
    this.#keyName = keyName;
    this.description = `tokenFile ${file}`;
  }

  token(): Promise<VaultToken> {
    return Promise.resolve({ token: readSecretFile(this.#file, 'tokenFile', this.#keyName), fresh: true });
  }

  invalidate(): void {
    // nothing cached
  }
}

interface LoginAnswer { auth?: { client_token?: unknown; lease_duration?: unknown } }

class KubernetesLoginSource implements VaultTokenSource {
  readonly description: string;
  readonly #options: Extract<VaultAuthOptions, { method: 'kubernetes' }>;
  readonly #http: VaultHttp;
  readonly #keyName: string;
  readonly #errorOptions: { addr: string; timeoutMs: number };
  #cached: { token: string; renewAt: number } | undefined;

  constructor(options: Extract<VaultAuthOptions, { method: 'kubernetes' }>, http: VaultHttp, keyName: string, errorOptions: { addr: string; timeoutMs: number }) {
    this.#options = options;
    this.#http = http;
    this.#keyName = keyName;
    this.#errorOptions = errorOptions;
    this.description = `Kubernetes auth role ${options.role} at auth/${options.authMount}`;
  }

  async token(): Promise<VaultToken> {
    if (this.#cached !== undefined && Date.now() < this.#cached.renewAt) return { token: this.#cached.token, fresh: false };
    this.#cached = undefined;
    const { role, jwtFile, authMount } = this.#options;
    const op: KeyOperation = { provider: 'vault', key: this.#keyName, operation: `Kubernetes login (auth/${authMount}/login, role ${role})` };
    const jwt = readSecretFile(jwtFile, 'jwtFile', this.#keyName);
    let answer: LoginAnswer;
    try {
      answer = (await this.#http.write(`auth/${authMount}/login`, { role, jwt }, undefined)) as LoginAnswer;
    } catch (err) {
      throw vaultFailure(op, err, {
        ...this.#errorOptions,
        permissionHint: `Vault refused the service-account token from ${jwtFile}: check that auth/${authMount} is configured for this cluster (kubernetes_host, CA, token reviewer with system:auth-delegator) and that role ${role} binds this service account and namespace`,
      });
    }
    const token = answer.auth?.client_token;
    if (typeof token !== 'string' || token === '') throw new ArchiverError('EKEY', `vault key ${this.#keyName}: ${op.operation} answered without a client token`);
    const lease = typeof answer.auth?.lease_duration === 'number' ? answer.auth.lease_duration : 0;
    // Renew well before expiry; a lease of 0 means a token without TTL (root-like): keep it for the provider's life.
    this.#cached = { token, renewAt: lease > 0 ? Date.now() + lease * 800 : Number.POSITIVE_INFINITY };
    return { token, fresh: true };
  }

  invalidate(): void {
    this.#cached = undefined;
  }
}

export function vaultTokenSource(auth: VaultAuthOptions, http: VaultHttp, keyName: string, errorOptions: { addr: string; timeoutMs: number }): VaultTokenSource {
  return auth.method === 'token' ? new TokenFileSource(auth.tokenFile, keyName) : new KubernetesLoginSource(auth, http, keyName, errorOptions);
}
