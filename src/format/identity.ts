/**
 * Object identity: which binlog an archive object holds. It is written in the header, mixed into the
 * per-object key (so an object presented under another name cannot be decrypted as that name) and compared
 * with what the caller expects when decoding.
 */
import { IDENTITY_LIMITS } from './constants.ts';

export interface ObjectIdentity {
  /** Source server identity (server_uuid, or server_id as a decimal string). */
  source: string;
  /** Binlog file name as the server names it, e.g. "binlog.000123". */
  binlogFile: string;
  /** Binlog sequence number (the numeric extension of the file name). */
  sequence: number;
  /** Correlation id given to this binlog at discovery. */
  correlationId: string;
  /** Archive run (batch) whose data key encrypted the object. */
  batchId: string;
}

const STRING_FIELDS = ['source', 'binlogFile', 'correlationId', 'batchId'] as const;

/** Returns a description of the first problem with `id`, or undefined when it is valid. */
export function identityProblem(id: unknown): string | undefined {
  if (typeof id !== 'object' || id === null) return 'identity must be an object';
  const record = id as Record<string, unknown>;
  const known = new Set<string>([...STRING_FIELDS, 'sequence']);
  for (const key of Object.keys(record)) {
    if (!known.has(key)) return `identity has an unknown field ${JSON.stringify(key)}`;
  }
  for (const field of STRING_FIELDS) {
    const value = record[field];
    if (typeof value !== 'string') return `identity.${field} must be a string`;
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes === 0 || bytes > IDENTITY_LIMITS[field]) {
      return `identity.${field} must be 1 to ${IDENTITY_LIMITS[field]} UTF-8 bytes (got ${bytes})`;
    }
    if (!value.isWellFormed()) return `identity.${field} is not well-formed Unicode`;
    // Control characters would make log lines and error messages ambiguous.
    if (/\p{Cc}/u.test(value)) return `identity.${field} contains a control character`;
  }
  const sequence = record.sequence;
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 0) {
    return 'identity.sequence must be a non-negative safe integer';
  }
  return undefined;
}

function lengthPrefixed(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const out = Buffer.alloc(2 + bytes.length);
  out.writeUInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

/**
 * Binary identity encoding I (docs/FORMAT.md "Identity encoding"): used in key derivation, where a
 * decoder in another language must reproduce it exactly, so it avoids JSON.
 */
export function encodeIdentity(id: ObjectIdentity): Buffer {
  const sequence = Buffer.alloc(8);
  sequence.writeBigUInt64BE(BigInt(id.sequence));
  return Buffer.concat([
    lengthPrefixed(id.source),
    lengthPrefixed(id.binlogFile),
    sequence,
    lengthPrefixed(id.correlationId),
    lengthPrefixed(id.batchId),
  ]);
}

export function identityEquals(a: ObjectIdentity, b: ObjectIdentity): boolean {
  return (
    a.source === b.source &&
    a.binlogFile === b.binlogFile &&
    a.sequence === b.sequence &&
    a.correlationId === b.correlationId &&
    a.batchId === b.batchId
  );
}

/** Names the fields that differ, for error messages (identity is not secret). */
export function identityDifferences(actual: ObjectIdentity, expected: ObjectIdentity): string {
  const fields = [...STRING_FIELDS, 'sequence'] as const;
  return fields
    .filter((f) => actual[f] !== expected[f])
    .map((f) => `${f} is ${JSON.stringify(actual[f])}, expected ${JSON.stringify(expected[f])}`)
    .join('; ');
}

export function describeIdentity(id: ObjectIdentity): string {
  return `${id.source}/${id.binlogFile} (sequence ${id.sequence}, correlation ${id.correlationId}, batch ${id.batchId})`;
}

/** Copy with exactly the identity fields, in a fixed shape (drops anything else a caller attached). */
export function pickIdentity(id: ObjectIdentity): ObjectIdentity {
  return {
    source: id.source,
    binlogFile: id.binlogFile,
    sequence: id.sequence,
    correlationId: id.correlationId,
    batchId: id.batchId,
  };
}
