/**
 * One way to write a status: compute it from the freshest object, normalise it (undefined fields dropped, as JSON
 * would), skip the write when it equals what is stored, else PUT the status subresource; on a conflict read the
 * object again and recompute (at most five tries). Callers build statuses with plain optional fields; nothing
 * needs to leave a field out by hand for the comparison to see "no change".
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../logger.ts';
import { isConflict, isNotFound } from './kube/client.ts';
import type { KubeObject } from './kube/resources.ts';
import type { Resource } from './kube/typed.ts';

const ATTEMPTS = 5;

/** A deep copy without undefined values (in objects; in arrays they become null, as JSON.stringify does). */
export function normalise<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => (v === undefined ? null : normalise(v))) as T;
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = normalise(v);
  return out as T;
}

export interface Computed<S> {
  status: S;
}

export interface Written<T, C> {
  /** The object as stored after the write (or as read, when nothing changed). */
  object: T;
  computed: C;
  /** The status before this write. */
  previous: unknown;
  changed: boolean;
}

type WithStatus<S> = KubeObject & { status?: S };

/**
 * Writes `compute(current).status` to `obj`'s status subresource. Undefined when the object is gone. `compute`
 * may be called once per try, each time with the freshest object.
 */
export async function writeStatus<S, T extends WithStatus<S>, C extends Computed<S>>(
  resource: Resource<T>, obj: T, compute: (current: T) => C, log: Logger,
): Promise<Written<T, C> | undefined> {
  let current = obj;
  for (let attempt = 1; ; attempt++) {
    const computed = compute(current);
    const status = normalise(computed.status);
    const previous = current.status;
    if (isDeepStrictEqual(normalise(previous ?? {}), status)) return { object: current, computed, previous, changed: false };
    try {
      const object = await resource.updateStatus({ ...current, status });
      return { object, computed, previous, changed: true };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (!isConflict(err) || attempt >= ATTEMPTS) throw err;
      log.log('debug', 'Status write conflict; reading the object again', { kind: resource.type.plural, object: current.metadata?.name, attempt });
      const fresh = await resource.get(current.metadata?.namespace ?? '', current.metadata?.name ?? '');
      if (fresh === undefined) return undefined;
      current = fresh;
    }
  }
}
