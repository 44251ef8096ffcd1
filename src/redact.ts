/**
 * Masking of secrets in everything the tool prints: error messages and hints, --json documents, the run report
 * (--summary-file, the Kubernetes termination message) and log lines all pass through `redact`. Errors quote
 * the argument they refuse, so a refused `vault://…&token=X` would otherwise carry the token into a log
 * collector. Masked, wherever they appear in the text:
 *  - the values of URL query parameters whose names say secret (token, secret, password, credential,
 *    signature, session, jwt, …key), but not of those naming a file, path or mount (tokenFile=/path is no secret);
 *  - the user info of a URL (`s3://user:pass@bucket`);
 *  - values registered with `registerSecret`: what the command line gave that looks like key material (an inline
 *    `--key <64 hex>`, base64 of a key). Only those: SHA-256 digests, which look alike, stay readable in messages.
 */

export const MASK = '***';

/** A parameter whose value is a secret; not a parameter naming where a secret lives. */
const SECRET_NAME = /token|secret|passw|pwd|credential|signature|^sig$|session|jwt|key$|keyid$|private|^auth$/i;
const LOCATION_NAME = /(file|path|mount|dir|url|addr|endpoint)$/i;
// A value ends at the next parameter, a quote or space, or a colon that ends a message's subject (`URL: problem`).
const QUERY_PARAM = /([?&;])([A-Za-z0-9_.-]+)=((?:[^&;#\s"'<>:]|:(?!\s|$))*)/g;
const USER_INFO = /\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#\s"'<>@]+@/g;

/** 16 or more bytes as hex, or 24 or more as base64/base64url: too long and too random to be a name. */
const HEX_KEY = /^[0-9a-fA-F]{32,}$/;
const BASE64_KEY = /^[A-Za-z0-9+/_-]{32,}={0,2}$/;

const registered = new Set<string>();

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) && !LOCATION_NAME.test(name);
}

/** True for a value that looks like key material rather than a path, URL, name or number. */
export function looksLikeKeyMaterial(value: string): boolean {
  if (HEX_KEY.test(value)) return true;
  // An absolute path is not a key; but one base64 key in 64 starts with '/' too, and a padded one ends with '='.
  if (!BASE64_KEY.test(value) || (value.startsWith('/') && !value.endsWith('='))) return false;
  // Random base64 mixes cases and digits; a long word or a path-like name does not.
  return /[a-z]/.test(value) && /[A-Z]/.test(value) && /[0-9]/.test(value);
}

/** Masks `value` wherever it appears in later output (process-wide: the command line is the process's). */
export function registerSecret(value: string): void {
  if (value.length >= 8) registered.add(value);
}

/** Registers every command-line value (`--opt value`, `--opt=value`) that looks like key material. */
export function registerArgvSecrets(argv: readonly string[]): void {
  for (const arg of argv) {
    const value = arg.startsWith('--') && arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : arg;
    if (looksLikeKeyMaterial(value)) registerSecret(value);
  }
}

/** The text with every secret it shows replaced by `***`. Idempotent. */
export function redact(text: string): string {
  let out = text;
  for (const secret of registered) {
    if (out.includes(secret)) out = out.split(secret).join(MASK);
    // A hex key may be echoed in the other case (parsers lower-case it).
    if (HEX_KEY.test(secret)) out = out.replace(new RegExp(secret, 'gi'), MASK);
  }
  out = out.replace(USER_INFO, `$1${MASK}@`);
  return out.replace(QUERY_PARAM, (whole, sep: string, name: string, value: string) =>
    value !== '' && value !== MASK && isSecretName(name) ? `${sep}${name}=${MASK}` : whole);
}
