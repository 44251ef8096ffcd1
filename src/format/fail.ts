/**
 * Builds the ArchiverErrors of the format layer so every one says the same three things the same way:
 * what is wrong, where (object name, frame index, byte offset) and what to do about it.
 */
import { ArchiverError, type ErrorCode } from '../errors.ts';
import { TaskError } from './segment-tasks.ts';

export interface Where {
  /** Object name as the caller knows it (storage key or file path). */
  object: string;
  frame?: number;
  offset?: number;
}

export function describeWhere(where: Where): string {
  const parts = [`archive object ${JSON.stringify(where.object)}`];
  if (where.frame !== undefined) parts.push(`frame ${where.frame}`);
  if (where.offset !== undefined) parts.push(`byte offset ${where.offset}`);
  return parts.join(', ');
}

export function fail(
  code: ErrorCode,
  where: Where,
  what: string,
  hint: string,
  extra: { cause?: unknown; context?: Record<string, unknown> } = {},
): ArchiverError {
  return new ArchiverError(code, `${describeWhere(where)}: ${what}. ${hint}`, {
    hint,
    cause: extra.cause,
    context: { object: where.object, frame: where.frame, offset: where.offset, ...extra.context },
  });
}

/** Hints shared by several checks. */
export const HINT = Object.freeze({
  corrupt:
    'The object was modified or damaged in storage or transit; do not use it. Restore this binlog from another copy or re-archive it from the source server',
  truncated:
    'The object is incomplete (an interrupted upload or a cut download); fetch it again, or re-archive the binlog from the source server',
  notArchive: 'Check that the object name points at a binlog-archiver archive object',
  wrongObject:
    'The object store returned a different archive than the manifest names; check the object key and the manifest entry, and do not restore from this object',
  bug: 'This points at a bug in the encoder that wrote the object; report it with the object name',
  verify:
    'The object was not produced. This points at faulty memory or a library fault on this machine: retry, preferably on another node, and report it if it repeats',
});

/** Turns a failure reported by a segment task (or the pool) into an ArchiverError located in the object. */
export function fromTaskError(err: unknown, where: Where, hint: string): ArchiverError {
  if (err instanceof ArchiverError) return err;
  if (err instanceof TaskError) {
    return fail(err.code, where, err.message, hint, { cause: err });
  }
  return fail('EINTERNAL', where, err instanceof Error ? err.message : String(err), 'Retry; if it happens again, report it', { cause: err });
}
