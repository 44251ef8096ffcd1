/**
 * Canonical JSON for the header and the openssl sidecar: one byte sequence per value, so a digest of the
 * bytes means one thing. Values are limited to what the format needs: strings, non-negative safe integers
 * and objects (no arrays, floats, booleans or null). Rules, as in docs/FORMAT.md:
 * - members sorted by the UTF-8 bytes of their names, no duplicates, no whitespace;
 * - strings escaped exactly as ECMAScript JSON.stringify does; everything else is raw UTF-8;
 * - integers in shortest decimal form.
 */

export type CanonicalValue = string | number | CanonicalObject;
export interface CanonicalObject {
  [key: string]: CanonicalValue;
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function serialize(value: CanonicalValue, path: string): string {
  if (typeof value === 'string') {
    if (!value.isWellFormed()) throw new TypeError(`${path} is not well-formed Unicode (lone surrogate)`);
    return JSON.stringify(value);
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`${path} must be a non-negative safe integer`);
    return String(value);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${path} must be a string, an integer or an object`);
  }
  const keys = Object.keys(value).sort(compareUtf8);
  const members = keys.map((key) => {
    const member = value[key];
    if (member === undefined) throw new TypeError(`${path}.${key} is undefined`);
    return `${serialize(key, `${path} member name`)}:${serialize(member, `${path}.${key}`)}`;
  });
  return `{${members.join(',')}}`;
}

/** Canonical UTF-8 bytes of `value`; throws TypeError for values outside the allowed subset. */
export function canonicalJson(value: CanonicalObject): Buffer {
  return Buffer.from(serialize(value, '$'), 'utf8');
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses bytes that must be canonical JSON of an object. Throws TypeError saying what is wrong when the
 * bytes are not UTF-8, not JSON, not an object, or not in canonical form (which also rejects duplicates).
 */
export function parseCanonicalJson(bytes: Uint8Array): CanonicalObject {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (err) {
    throw new TypeError('is not valid UTF-8', { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new TypeError(`is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TypeError('is not a JSON object');
  const again = canonicalJson(parsed as CanonicalObject);
  if (!again.equals(bytes)) throw new TypeError('is not in canonical form (member order, whitespace, escaping or duplicate names)');
  return parsed as CanonicalObject;
}
