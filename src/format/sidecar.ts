/**
 * The sidecar of an openssl-aes-256-cbc compatibility object: a small JSON document stored beside the
 * object. CBC has no integrity, so the sidecar carries an HMAC-SHA256 over the object bytes and the
 * plaintext facts; it also names the identity and settings, so a restore can check it got the right thing.
 */
import { canonicalJson, type CanonicalObject } from './canonical-json.ts';
import { MAX_SEGMENT_SIZE, MAX_ZSTD_LEVEL, MIN_SEGMENT_SIZE, MIN_ZSTD_LEVEL } from './constants.ts';
import { fail, HINT, type Where } from './fail.ts';
import type { KeyReference } from './header.ts';
import { identityProblem, pickIdentity, type ObjectIdentity } from './identity.ts';

export const SIDECAR_FORMAT = 'binlog-archiver/openssl-aes-256-cbc';
/** Written when the HMAC covers a planning digest (docs/FORMAT.md 10.4); version 1 (without) is still read. */
export const SIDECAR_VERSION = 2;

export interface OpensslSidecar {
  identity: ObjectIdentity;
  /** Which secret holds the passphrase (informational). */
  key?: KeyReference;
  zstdLevel: number;
  segmentSize: number;
  pbkdf2Iterations: number;
  /** The 8-byte openssl salt, hex. */
  salt: string;
  /** Hex HKDF(passphrase master, "key check" || I): tells a wrong passphrase from a damaged object. */
  keyCheck: string;
  plaintextLength: number;
  plaintextSha256: string;
  objectLength: number;
  objectSha256: string;
  /** Hex planning digest (docs/FORMAT.md 5.3), covered by the HMAC: present in version 2, absent in version 1. */
  planningSha256?: string;
  /** Hex HMAC-SHA256 over the object and the plaintext facts and settings above (docs/FORMAT.md 10.4). */
  hmacSha256: string;
}

export function serializeSidecar(s: OpensslSidecar): Buffer {
  const doc: CanonicalObject = {
    format: SIDECAR_FORMAT,
    version: s.planningSha256 === undefined ? 1 : SIDECAR_VERSION,
    identity: { ...pickIdentity(s.identity) },
    zstdLevel: s.zstdLevel,
    segmentSize: s.segmentSize,
    pbkdf2Iterations: s.pbkdf2Iterations,
    salt: s.salt,
    keyCheck: s.keyCheck,
    plaintextLength: s.plaintextLength,
    plaintextSha256: s.plaintextSha256,
    objectLength: s.objectLength,
    objectSha256: s.objectSha256,
    hmacSha256: s.hmacSha256,
  };
  if (s.planningSha256 !== undefined) doc.planningSha256 = s.planningSha256;
  if (s.key !== undefined) {
    doc.key = { provider: s.key.provider, id: s.key.keyId, ...(s.key.keyVersion === undefined ? {} : { version: s.key.keyVersion }) };
  }
  return Buffer.concat([canonicalJson(doc), Buffer.from('\n')]);
}

function hex(v: unknown, name: string, bytes: number): string {
  if (typeof v !== 'string' || !new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(v)) throw new TypeError(`${name} must be ${bytes * 2} lowercase hex digits`);
  return v;
}

function int(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new TypeError(`${name} must be a non-negative integer`);
  return v;
}

function range(v: unknown, name: string, min: number, max: number): number {
  const n = int(v, name);
  if (n < min || n > max) throw new TypeError(`${name} ${n} is outside ${min}..${max}`);
  return n;
}

function str(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new TypeError(`${name} must be a non-empty string`);
  return v;
}

/** Parses a sidecar (any JSON whitespace accepted; the HMAC does not cover the JSON bytes). EFORMAT when invalid. */
export function parseSidecar(bytes: Uint8Array, where: Where): OpensslSidecar {
  try {
    const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new TypeError('is not a JSON object');
    if (doc.format !== SIDECAR_FORMAT) throw new TypeError(`format is ${JSON.stringify(doc.format)}, expected ${JSON.stringify(SIDECAR_FORMAT)}`);
    if (doc.version !== 1 && doc.version !== 2) throw new TypeError(`version ${JSON.stringify(doc.version)} is not supported (this reader supports 1 and 2)`);
    const idProblem = identityProblem(doc.identity);
    if (idProblem !== undefined) throw new TypeError(idProblem);
    const sidecar: OpensslSidecar = {
      identity: pickIdentity(doc.identity as ObjectIdentity),
      zstdLevel: range(doc.zstdLevel, 'zstdLevel', MIN_ZSTD_LEVEL, MAX_ZSTD_LEVEL),
      segmentSize: range(doc.segmentSize, 'segmentSize', MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE),
      pbkdf2Iterations: int(doc.pbkdf2Iterations, 'pbkdf2Iterations'),
      salt: hex(doc.salt, 'salt', 8),
      keyCheck: hex(doc.keyCheck, 'keyCheck', 32),
      plaintextLength: int(doc.plaintextLength, 'plaintextLength'),
      plaintextSha256: hex(doc.plaintextSha256, 'plaintextSha256', 32),
      objectLength: int(doc.objectLength, 'objectLength'),
      objectSha256: hex(doc.objectSha256, 'objectSha256', 32),
      hmacSha256: hex(doc.hmacSha256, 'hmacSha256', 32),
    };
    // Version 2 requires the digest and version 1 has none: a digest cannot be added to or dropped from an old sidecar.
    if (doc.version === 2) sidecar.planningSha256 = hex(doc.planningSha256, 'planningSha256', 32);
    else if (doc.planningSha256 !== undefined) throw new TypeError('version 1 has no planningSha256');
    if (doc.key !== undefined) {
      const k = doc.key as Record<string, unknown>;
      sidecar.key = { provider: str(k.provider, 'key.provider'), keyId: str(k.id, 'key.id') };
      if (k.version !== undefined) sidecar.key.keyVersion = str(k.version, 'key.version');
    }
    return sidecar;
  } catch (err) {
    const what = err instanceof SyntaxError ? `is not valid JSON (${err.message})` : (err as Error).message;
    throw fail('EFORMAT', where, `sidecar ${what}`, `${HINT.corrupt}; the sidecar must be the one written with the object`, { cause: err });
  }
}
