/**
 * The object header: a 16-byte binary prefix (magic, version, flags, body length) followed by a canonical
 * JSON body. The header is not encrypted (a reader needs the wrapped data key and key reference from it
 * before it can decrypt anything) but it is authenticated: the SHA-256 of its exact bytes is in the AAD of
 * every frame and of the trailer.
 */
import { createHash } from 'node:crypto';
import type { ArchiverError } from '../errors.ts';
import { canonicalJson, parseCanonicalJson, type CanonicalObject } from './canonical-json.ts';
import {
  ALGORITHMS,
  FORMAT_VERSION,
  MAGIC,
  MAX_HEADER_BODY,
  MAX_SEGMENT_SIZE,
  MAX_ZSTD_LEVEL,
  MIN_SEGMENT_SIZE,
  MIN_ZSTD_LEVEL,
  PREFIX_LENGTH,
  READABLE_FORMAT_VERSIONS,
} from './constants.ts';
import { fail, HINT, type Where } from './fail.ts';
import { identityProblem, pickIdentity, type ObjectIdentity } from './identity.ts';

/** Which key provider key wrapped the data key. */
export interface KeyReference {
  /** Provider name, e.g. "local", "awskms", "vault". */
  provider: string;
  /** Key id within the provider (key ARN, Transit key name, key file fingerprint). */
  keyId: string;
  /** Key version, when the provider versions keys. */
  keyVersion?: string;
}

export interface ArchiveHeader {
  segmentSize: number;
  zstdLevel: number;
  identity: ObjectIdentity;
  key: KeyReference;
  /** Data key as wrapped by the key provider. */
  wrappedKey: Buffer;
  /** Key check value derived from the data key (detects a wrong data key before any frame is read). */
  keyCheck: Buffer;
  encryptionContext: Record<string, string>;
}

export interface EncodedHeader {
  bytes: Buffer;
  /** SHA-256 of `bytes`: bound into every frame's and the trailer's AAD. */
  digest: Buffer;
}

const LIMITS = Object.freeze({
  provider: 64,
  keyId: 2048,
  keyVersion: 256,
  wrappedKey: 8192,
  contextEntries: 64,
  contextKey: 256,
  contextValue: 1024,
});

function stringProblem(value: unknown, name: string, min: number, max: number): string | undefined {
  if (typeof value !== 'string') return `${name} must be a string`;
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes < min || bytes > max) return `${name} must be ${min} to ${max} UTF-8 bytes (got ${bytes})`;
  if (!value.isWellFormed()) return `${name} is not well-formed Unicode`;
  return undefined;
}

/** First problem with header fields, or undefined. Shared by the encoder (bad input) and decoder (bad object). */
export function headerProblem(h: ArchiveHeader): string | undefined {
  if (!Number.isSafeInteger(h.segmentSize) || h.segmentSize < MIN_SEGMENT_SIZE || h.segmentSize > MAX_SEGMENT_SIZE) {
    return `segment size ${h.segmentSize} is outside ${MIN_SEGMENT_SIZE}..${MAX_SEGMENT_SIZE}`;
  }
  if (!Number.isSafeInteger(h.zstdLevel) || h.zstdLevel < MIN_ZSTD_LEVEL || h.zstdLevel > MAX_ZSTD_LEVEL) {
    return `zstd level ${h.zstdLevel} is outside ${MIN_ZSTD_LEVEL}..${MAX_ZSTD_LEVEL}`;
  }
  const id = identityProblem(h.identity);
  if (id !== undefined) return id;
  const keyProblems = [
    stringProblem(h.key.provider, 'key provider', 1, LIMITS.provider),
    stringProblem(h.key.keyId, 'key id', 1, LIMITS.keyId),
    h.key.keyVersion === undefined ? undefined : stringProblem(h.key.keyVersion, 'key version', 1, LIMITS.keyVersion),
  ];
  const keyProblem = keyProblems.find((p) => p !== undefined);
  if (keyProblem !== undefined) return keyProblem;
  if (!Buffer.isBuffer(h.wrappedKey) || h.wrappedKey.length < 1 || h.wrappedKey.length > LIMITS.wrappedKey) {
    return `wrapped data key must be 1 to ${LIMITS.wrappedKey} bytes`;
  }
  if (!Buffer.isBuffer(h.keyCheck) || h.keyCheck.length !== 32) return 'key check must be 32 bytes';
  const entries = Object.entries(h.encryptionContext);
  if (entries.length > LIMITS.contextEntries) return `encryption context has more than ${LIMITS.contextEntries} entries`;
  for (const [k, v] of entries) {
    const p =
      stringProblem(k, 'encryption context key', 1, LIMITS.contextKey) ??
      stringProblem(v, `encryption context value of ${JSON.stringify(k)}`, 0, LIMITS.contextValue);
    if (p !== undefined) return p;
  }
  return undefined;
}

function headerToJson(h: ArchiveHeader): CanonicalObject {
  const key: CanonicalObject = {
    check: h.keyCheck.toString('hex'),
    id: h.key.keyId,
    provider: h.key.provider,
    wrapped: h.wrappedKey.toString('base64'),
  };
  if (h.key.keyVersion !== undefined) key.version = h.key.keyVersion;
  return {
    algorithms: { ...ALGORITHMS },
    encryptionContext: { ...h.encryptionContext },
    identity: { ...pickIdentity(h.identity) },
    key,
    segmentSize: h.segmentSize,
    zstdLevel: h.zstdLevel,
  };
}

/**
 * Serializes a header (fields must already be valid: callers check `headerProblem` first). `version` goes in
 * the prefix: 2 when the trailer will carry a planning digest, 1 when it will not.
 */
export function encodeHeader(h: ArchiveHeader, version: number = FORMAT_VERSION): EncodedHeader {
  if (!READABLE_FORMAT_VERSIONS.includes(version)) throw new RangeError(`format version ${version} cannot be written`);
  const body = canonicalJson(headerToJson(h));
  if (body.length > MAX_HEADER_BODY) {
    throw new RangeError(`header body is ${body.length} bytes, more than ${MAX_HEADER_BODY}: shorten the encryption context`);
  }
  const prefix = Buffer.alloc(PREFIX_LENGTH);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt16BE(version, 8);
  prefix.writeUInt16BE(0, 10);
  prefix.writeUInt32BE(body.length, 12);
  const bytes = Buffer.concat([prefix, body]);
  return { bytes, digest: createHash('sha256').update(bytes).digest() };
}

const SALTED = Buffer.from('Salted__', 'ascii');
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Checks the 16-byte prefix and returns the format version and the body length. */
export function decodeHeaderPrefix(prefix: Buffer, where: Where): { version: number; length: number } {
  if (prefix.length < PREFIX_LENGTH) {
    throw fail('EFORMAT', { ...where, offset: 0 }, `object is ${prefix.length} bytes long, shorter than the ${PREFIX_LENGTH}-byte header prefix`, HINT.truncated);
  }
  if (!prefix.subarray(0, 8).equals(MAGIC)) {
    let what = `does not start with the archive magic 89424c41520d0a1a (found ${prefix.subarray(0, 8).toString('hex')})`;
    if (prefix.subarray(0, 8).equals(SALTED)) what += '; it looks like an openssl-aes-256-cbc compatibility object, which is decoded with its sidecar';
    if (prefix.subarray(0, 4).equals(ZSTD_MAGIC)) what += '; it looks like an unencrypted zstd stream';
    throw fail('EFORMAT', { ...where, offset: 0 }, what, HINT.notArchive);
  }
  const version = prefix.readUInt16BE(8);
  if (!READABLE_FORMAT_VERSIONS.includes(version)) {
    throw fail(
      'EFORMAT',
      { ...where, offset: 8 },
      `archive format version ${version} is not supported (this decoder reads versions ${READABLE_FORMAT_VERSIONS.join(' and ')})`,
      'Use a binlog-archiver release that supports this format version',
    );
  }
  const flags = prefix.readUInt16BE(10);
  if (flags !== 0) {
    throw fail('EFORMAT', { ...where, offset: 10 }, `header flags are 0x${flags.toString(16)}, version ${version} requires 0`, HINT.corrupt);
  }
  const length = prefix.readUInt32BE(12);
  if (length < 2 || length > MAX_HEADER_BODY) {
    throw fail('EFORMAT', { ...where, offset: 12 }, `header body length ${length} is outside 2..${MAX_HEADER_BODY}`, HINT.corrupt);
  }
  return { version, length };
}

function expectObject(v: unknown, name: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError(`${name} must be an object`);
  return v as Record<string, unknown>;
}

function expectKeys(o: Record<string, unknown>, name: string, required: string[], optional: string[] = []): void {
  for (const k of required) if (!(k in o)) throw new TypeError(`${name} lacks ${JSON.stringify(k)}`);
  const allowed = new Set([...required, ...optional]);
  for (const k of Object.keys(o)) if (!allowed.has(k)) throw new TypeError(`${name} has unknown member ${JSON.stringify(k)}`);
}

function expectString(v: unknown, name: string): string {
  if (typeof v !== 'string') throw new TypeError(`${name} must be a string`);
  return v;
}

function expectInteger(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new TypeError(`${name} must be an integer`);
  return v;
}

function strictBase64(s: string, name: string): Buffer {
  const b = Buffer.from(s, 'base64');
  if (b.toString('base64') !== s) throw new TypeError(`${name} is not canonical base64`);
  return b;
}

function strictHex(s: string, name: string, bytes: number): Buffer {
  if (!new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(s)) throw new TypeError(`${name} must be ${bytes * 2} lowercase hex digits`);
  return Buffer.from(s, 'hex');
}

function bodyToHeader(json: CanonicalObject): ArchiveHeader {
  expectKeys(json, 'header', ['algorithms', 'encryptionContext', 'identity', 'key', 'segmentSize', 'zstdLevel']);
  const alg = expectObject(json.algorithms, 'algorithms');
  expectKeys(alg, 'algorithms', ['aead', 'compression', 'kdf']);
  for (const [k, v] of Object.entries(ALGORITHMS)) {
    if (alg[k] !== v) throw new TypeError(`algorithms.${k} is ${JSON.stringify(alg[k])}; versions 1 and 2 support only ${JSON.stringify(v)}`);
  }
  const ctx = expectObject(json.encryptionContext, 'encryptionContext');
  // fromEntries defines own properties, so a member named "__proto__" stays data.
  const encryptionContext = Object.fromEntries(
    Object.entries(ctx).map(([k, v]) => [k, expectString(v, `encryptionContext.${k}`)]),
  );
  const id = expectObject(json.identity, 'identity');
  expectKeys(id, 'identity', ['batchId', 'binlogFile', 'correlationId', 'sequence', 'source']);
  const identity: ObjectIdentity = {
    source: expectString(id.source, 'identity.source'),
    binlogFile: expectString(id.binlogFile, 'identity.binlogFile'),
    sequence: expectInteger(id.sequence, 'identity.sequence'),
    correlationId: expectString(id.correlationId, 'identity.correlationId'),
    batchId: expectString(id.batchId, 'identity.batchId'),
  };
  const key = expectObject(json.key, 'key');
  expectKeys(key, 'key', ['check', 'id', 'provider', 'wrapped'], ['version']);
  const ref: KeyReference = { provider: expectString(key.provider, 'key.provider'), keyId: expectString(key.id, 'key.id') };
  if (key.version !== undefined) ref.keyVersion = expectString(key.version, 'key.version');
  const header: ArchiveHeader = {
    segmentSize: expectInteger(json.segmentSize, 'segmentSize'),
    zstdLevel: expectInteger(json.zstdLevel, 'zstdLevel'),
    identity,
    key: ref,
    wrappedKey: strictBase64(expectString(key.wrapped, 'key.wrapped'), 'key.wrapped'),
    keyCheck: strictHex(expectString(key.check, 'key.check'), 'key.check', 32),
    encryptionContext,
  };
  const problem = headerProblem(header);
  if (problem !== undefined) throw new TypeError(problem);
  return header;
}

/** Parses and validates the JSON body; every failure is EFORMAT with the offset of the body. */
export function decodeHeaderBody(body: Buffer, where: Where): ArchiveHeader {
  try {
    return bodyToHeader(parseCanonicalJson(body));
  } catch (err) {
    if (!(err instanceof TypeError)) throw err as ArchiverError;
    throw fail('EFORMAT', { ...where, offset: PREFIX_LENGTH }, `header body ${err.message}`, HINT.corrupt, { cause: err });
  }
}
