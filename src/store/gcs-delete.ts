/**
 * `delete` on GCS: the object's retention and holds are read first (objects.get metadata) and an object the
 * bucket or object retention or a hold keeps is reported, not touched; the rest is deleted pinned to the
 * generation read (ifGenerationMatch), so an object written meanwhile under the same name stays. A 403
 * `retentionPolicyNotMet` or `objectUnderActiveHold` answer (a policy set after the read) is that retention too.
 */
import { ArchiverError } from '../errors.ts';
import type { GcsContext } from './gcs-context.ts';
import { type DeleteResult, retainedAt } from './object-store.ts';

interface Retention {
  until: Date | undefined;
  hold: string | undefined;
  reason: string;
}

function dateOf(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/** The later of object retention (retention.retainUntilTime) and bucket policy (retentionExpirationTime), and holds. */
export function retentionOf(raw: Record<string, unknown>): Retention {
  const object = typeof raw.retention === 'object' && raw.retention !== null ? dateOf((raw.retention as Record<string, unknown>).retainUntilTime) : undefined;
  const policy = dateOf(raw.retentionExpirationTime);
  const until = object === undefined ? policy : policy === undefined || object > policy ? object : policy;
  const hold = raw.temporaryHold === true ? 'GCS temporary hold' : raw.eventBasedHold === true ? 'GCS event-based hold' : undefined;
  return { until, hold, reason: object !== undefined && until === object ? 'GCS object retention' : 'GCS bucket retention policy' };
}

export async function deleteGcsObject(ctx: GcsContext, key: string): Promise<DeleteResult> {
  const name = ctx.fullKey(key);
  const what = `deleting ${ctx.describe(key)}`;
  const file = ctx.bucketRef.file(name);
  let raw: Record<string, unknown>;
  try {
    [raw] = await ctx.request({ operation: 'objects.get', key: name, what }, () => file.getMetadata()) as unknown as [Record<string, unknown>];
  } catch (err) {
    if (err instanceof ArchiverError && err.code === 'ENOTFOUND') return { outcome: 'absent' };
    throw err;
  }
  const retention = retentionOf(raw);
  const retained = retainedAt(ctx.timing.now(), retention.until, retention.hold, retention.reason);
  if (retained !== undefined) return retained;
  const generation = typeof raw.generation === 'string' || typeof raw.generation === 'number' ? Number(raw.generation) : undefined;
  try {
    await ctx.request({ operation: 'objects.delete', key: name, what },
      () => file.delete(generation === undefined ? {} : { ifGenerationMatch: generation }));
  } catch (err) {
    const reason = err instanceof ArchiverError ? err.context.reason : undefined;
    if (err instanceof ArchiverError && err.code === 'ENOTFOUND') return { outcome: 'absent' };
    if (reason === 'retentionPolicyNotMet' || reason === 'objectUnderActiveHold') {
      return { outcome: 'retained', until: retention.until?.toISOString() ?? null, reason: `GCS ${reason}` };
    }
    throw err;
  }
  return { outcome: 'deleted' };
}
