/**
 * Strict parsing of remote key-provider URLs (`awskms://KEY?...`, `vault://KEY?...`). The key part is taken
 * verbatim up to `?`, because a KMS key ARN (`arn:aws:kms:...:key/...`) is not a valid URL host; the query is
 * checked name by name, so a typo (`tokenfile=`) is a usage error instead of a silently ignored setting.
 */
import path from 'node:path';
import { ArchiverError } from '../errors.ts';

export interface ProviderUrl {
  /** The text between `scheme://` and `?`, percent-decoded. */
  key: string;
  params: KeyUrlParams;
}

/** Names that would put a secret into the URL: refused with a pointer to where the secret belongs instead. */
const SECRET_NAMES: Readonly<Record<string, string>> = {
  token: 'a Vault token never goes in the URL: write it to a file (a mounted Secret) and pass tokenFile=/path',
  jwt: 'a service-account token never goes in the URL: pass jwtFile=/path (the projected token file)',
  accesskeyid: 'AWS credentials never go in the URL: they come from the SDK\'s default credential chain (IRSA, EKS pod identity, instance profile, shared config files)',
  secretaccesskey: 'AWS credentials never go in the URL: they come from the SDK\'s default credential chain (IRSA, EKS pod identity, instance profile, shared config files)',
  sessiontoken: 'AWS credentials never go in the URL: they come from the SDK\'s default credential chain',
  password: 'secrets never go in the URL: use a file',
  secret: 'secrets never go in the URL: use a file',
};

export function usage(url: string, problem: string, hint?: string): ArchiverError {
  return new ArchiverError('EUSAGE', `--key ${url}: ${problem}`, hint === undefined ? {} : { hint });
}

export function parseProviderUrl(url: string, scheme: string, allowed: readonly string[], example: string): ProviderUrl {
  const prefix = `${scheme}://`;
  if (!url.startsWith(prefix)) throw usage(url, `not of the form ${prefix}KEY?PARAMS`, `e.g. ${example}`);
  const rest = url.slice(prefix.length);
  if (rest.includes('#')) throw usage(url, 'a key URL has no #fragment', `e.g. ${example}`);
  const q = rest.indexOf('?');
  const rawKey = q < 0 ? rest : rest.slice(0, q);
  let key: string;
  try {
    key = decodeURIComponent(rawKey);
  } catch (err) {
    throw new ArchiverError('EUSAGE', `--key ${url}: the key part ${JSON.stringify(rawKey)} is not valid percent-encoding`, { cause: err });
  }
  const params = new KeyUrlParams(url, new URLSearchParams(q < 0 ? '' : rest.slice(q + 1)), allowed);
  return { key, params };
}

export class KeyUrlParams {
  readonly #url: string;
  readonly #values = new Map<string, string>();

  constructor(url: string, search: URLSearchParams, allowed: readonly string[]) {
    this.#url = url;
    for (const [name, value] of search) {
      const secret = SECRET_NAMES[name.toLowerCase()];
      if (secret !== undefined) throw usage(url, `parameter ${name}= is not accepted`, secret);
      if (!allowed.includes(name)) {
        const near = allowed.find((a) => a.toLowerCase() === name.toLowerCase());
        throw usage(url, `unknown parameter ${name}=`, near === undefined ? `known parameters: ${allowed.join(', ')}` : `did you mean ${near}=?`);
      }
      if (this.#values.has(name)) throw usage(url, `parameter ${name}= is given twice`);
      if (value === '') throw usage(url, `parameter ${name}= is empty`);
      this.#values.set(name, value);
    }
  }

  has(name: string): boolean {
    return this.#values.has(name);
  }

  optional(name: string): string | undefined {
    return this.#values.get(name);
  }

  required(name: string, hint: string): string {
    const value = this.#values.get(name);
    if (value === undefined) throw usage(this.#url, `missing ${name}=`, hint);
    return value;
  }

  /** An absolute file path: a relative one would depend on the working directory of a Job's container. */
  file(name: string): string | undefined {
    const value = this.#values.get(name);
    if (value !== undefined && !path.isAbsolute(value)) throw usage(this.#url, `${name}=${value} must be an absolute path`);
    return value;
  }

  /** An http(s) origin (scheme, host, port), without credentials or a path. */
  origin(name: string): string | undefined {
    const value = this.#values.get(name);
    if (value === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch (err) {
      throw new ArchiverError('EUSAGE', `--key ${this.#url}: ${name}=${value} is not a URL`, { cause: err, hint: `e.g. ${name}=https://host:port` });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw usage(this.#url, `${name}=${value} must be an http:// or https:// URL`);
    if (parsed.username !== '' || parsed.password !== '') throw usage(this.#url, `${name}= must not carry credentials`, 'credentials never go in a URL');
    if ((parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search !== '' || parsed.hash !== '') {
      throw usage(this.#url, `${name}=${value} must be only scheme://host[:port]`, 'percent-encode it if it holds ? or &');
    }
    return parsed.origin;
  }
}
