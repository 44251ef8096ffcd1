/**
 * The result of a finished Job as its container left it: the termination message of the newest of the Job's
 * pods whose container (by name) terminated. Jobs of every kind hand their report back this way; each kind parses
 * the text with its own reader.
 */
import type { Pod } from './kube/resources.ts';

function ms(t: string | Date | undefined): number {
  if (t === undefined) return 0;
  return typeof t === 'string' ? Date.parse(t) || 0 : t.getTime();
}

export interface Terminated {
  message: string | undefined;
  exitCode: number;
  reason?: string;
}

/** The terminated state of `container` in the newest pod where it terminated, or undefined (running, no pod yet). */
export function terminatedContainer(pods: readonly Pod[], container: string): Terminated | undefined {
  const last = pods
    .map((p) => ({ p, t: p.status?.containerStatuses?.find((c) => c.name === container)?.state?.terminated }))
    .filter((x) => x.t !== undefined)
    .sort((a, b) => ms(a.p.metadata?.creationTimestamp) - ms(b.p.metadata?.creationTimestamp))
    .at(-1);
  if (last?.t === undefined) return undefined;
  return { message: last.t.message, exitCode: last.t.exitCode, ...(last.t.reason === undefined ? {} : { reason: last.t.reason }) };
}

/** The container's termination message, parsed by `parse`, once it terminated. */
export function jobResult<R>(pods: readonly Pod[], container: string, parse: (text: string | undefined) => R | undefined): R | undefined {
  const t = terminatedContainer(pods, container);
  return t === undefined ? undefined : parse(t.message);
}
