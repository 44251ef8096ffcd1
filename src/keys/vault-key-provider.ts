/**
 * Vault / OpenBao Transit. A batch's data key comes from `datakey/wrapped` and is then unwrapped with
 * `decrypt`, rather than taken from `datakey/plaintext` in one call, because:
 *  - the archive run then proves, before anything is encrypted, that the exact unwrap a restore will do
 *    (same key, context and associated data) works: a Vault that does not bind the context symmetrically, or
 *    a policy without `decrypt`, fails the archive now instead of the restore years later;
 *  - the archive Job needs `decrypt` anyway, to verify and adopt an object left by an interrupted run;
 *  - the cost is one more request per batch (not per binlog).
 * The canonical encryption context (canonical-context.ts) is sent as both `context` (used by derived keys to
 * derive the key) and `associated_data` (authenticated by AEAD keys, derived or not), so unwrapping under a
 * changed context fails either way. The key version from the ciphertext prefix (`vault:vN:`) goes into keyId.
 */
import { ArchiverError } from '../errors.ts';
import { canonicalContext } from './canonical-context.ts';
import type { KeyOperation } from './key-failure.ts';
import { dataKeyFromBase64 } from './key-bytes.ts';
import type { DataKey, EncryptionContext, KeyProvider } from './key-provider.ts';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry.ts';
import { type VaultTokenSource, readSecretFile, vaultTokenSource } from './vault-auth.ts';
import { type VaultHttp, createVaultHttp } from './vault-client.ts';
import { vaultFailure } from './vault-errors.ts';
import type { VaultKeyOptions } from './vault-url.ts';

export interface VaultProviderOptions extends VaultKeyOptions {
  /** Whole-request timeout per attempt. */
  timeoutMs?: number;
  retry?: RetryPolicy;
}

export const VAULT_DEFAULT_TIMEOUT_MS = 10_000;
const CIPHERTEXT = /^vault:v(\d{1,9}):[A-Za-z0-9+/]+={0,2}$/;

interface TransitAnswer { data?: { ciphertext?: unknown; plaintext?: unknown } }

export class VaultKeyProvider implements KeyProvider {
  readonly kind = 'vault';
  /** `<mount>/<key>`; data keys record `<mount>/<key>:v<N>`. */
  readonly keyId: string;
  readonly #options: VaultProviderOptions;
  readonly #http: VaultHttp;
  readonly #auth: VaultTokenSource;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;

  constructor(options: VaultProviderOptions) {
    this.#options = options;
    this.keyId = `${options.mount}/${options.key}`;
    this.#timeoutMs = options.timeoutMs ?? VAULT_DEFAULT_TIMEOUT_MS;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#http = createVaultHttp({ addr: options.addr, timeoutMs: this.#timeoutMs,
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }), ...(options.caFile === undefined ? {} : { caFile: options.caFile }) });
    this.#auth = vaultTokenSource(options.auth, this.#http, this.keyId, { addr: options.addr, timeoutMs: this.#timeoutMs });
  }

  /** The token (or service-account token) file is readable and not empty; no request, so an idle run calls no one. */
  check(): void {
    const { auth } = this.#options;
    if (auth.method === 'token') readSecretFile(auth.tokenFile, 'tokenFile', this.keyId);
    else readSecretFile(auth.jwtFile, 'jwtFile', this.keyId);
  }

  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    const { mount, key } = this.#options;
    const bound = canonicalContext(context).toString('base64');
    const op: KeyOperation = { provider: 'vault', key: this.keyId, operation: `${mount}/datakey/wrapped` };
    const answer = await this.#write<TransitAnswer>(op, `${mount}/datakey/wrapped/${key}`, { bits: 256, context: bound, associated_data: bound },
      `the Vault token (${this.#auth.description}) is invalid or expired, or its policy lacks update on ${mount}/datakey/wrapped/${key} and ${mount}/decrypt/${key}`);
    const ciphertext = answer.data?.ciphertext;
    const version = typeof ciphertext === 'string' ? CIPHERTEXT.exec(ciphertext)?.[1] : undefined;
    if (typeof ciphertext !== 'string' || version === undefined) {
      throw new ArchiverError('EKEY', `vault key ${this.keyId}: ${op.operation} answered without a Transit ciphertext`, { context: { provider: 'vault', keyId: this.keyId } });
    }
    let plaintext: Buffer;
    try {
      plaintext = await this.#decrypt(ciphertext, bound, `${mount}/decrypt (check of the new data key)`);
    } catch (err) {
      if (err instanceof ArchiverError && err.code === 'EKEY' && /encryption context/.test(err.message)) {
        throw new ArchiverError('EKEY', `${err.message}; this Vault does not authenticate the context the same way in datakey and decrypt`, {
          cause: err, context: err.context, hint: 'use a derived Transit key (derived=true), which binds the context on every Vault version',
        });
      }
      throw err;
    }
    return { plaintext, wrapped: Buffer.from(ciphertext, 'latin1'), keyId: `${this.keyId}:v${version}`, keyVersion: version };
  }

  async decryptDataKey(wrapped: Buffer, context: EncryptionContext, keyId: string): Promise<Buffer> {
    const recorded = /^(.*):v(\d+)$/.exec(keyId);
    const base = recorded?.[1] ?? keyId;
    if (base !== this.keyId) {
      throw new ArchiverError('EKEY', `the data key was wrapped by Transit key ${keyId}, but --key names ${this.keyId}`, {
        hint: 'pass the vault:// key (and mount=) the archive was written with', context: { provider: 'vault', keyId },
      });
    }
    const ciphertext = wrapped.toString('latin1');
    const version = CIPHERTEXT.exec(ciphertext)?.[1];
    if (version === undefined || (recorded?.[2] !== undefined && recorded[2] !== version)) {
      throw new ArchiverError('EKEY', `vault key ${keyId}: the wrapped data key is malformed or altered (${version === undefined ? 'not a Transit ciphertext' : `its version v${version} is not the recorded ${keyId}`})`, {
        context: { provider: 'vault', keyId, operation: `${this.#options.mount}/decrypt` },
      });
    }
    return this.#decrypt(ciphertext, canonicalContext(context).toString('base64'), `${this.#options.mount}/decrypt`);
  }

  async #decrypt(ciphertext: string, bound: string, operation: string): Promise<Buffer> {
    const { mount, key } = this.#options;
    const op: KeyOperation = { provider: 'vault', key: this.keyId, operation };
    const answer = await this.#write<TransitAnswer>(op, `${mount}/decrypt/${key}`, { ciphertext, context: bound, associated_data: bound },
      `the Vault token (${this.#auth.description}) is invalid or expired, or its policy lacks update on ${mount}/decrypt/${key}`);
    return dataKeyFromBase64(answer.data?.plaintext, op);
  }

  /** One Transit call under the retry policy; after a 403 on a cached login token, one fresh login is tried. */
  async #write<T>(op: KeyOperation, path: string, body: Record<string, unknown>, permissionHint: string): Promise<T> {
    const errorOptions = { addr: this.#options.addr, timeoutMs: this.#timeoutMs, permissionHint };
    return withRetry(this.#retry, async () => {
      let { token, fresh } = await this.#auth.token();
      for (;;) {
        try {
          return (await this.#http.write(path, body, token)) as T;
        } catch (err) {
          if (!fresh && (err as { response?: { statusCode?: number } }).response?.statusCode === 403) {
            this.#auth.invalidate();
            ({ token, fresh } = await this.#auth.token());
            continue;
          }
          throw vaultFailure(op, err, errorOptions);
        }
      }
    });
  }
}
