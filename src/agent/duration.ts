/**
 * Go's time.ParseDuration syntax without a sign (`30s`, `5m`, `1h30m`, `1.5h`, `250ms`): the form the CRD's
 * `rpo.rotateInterval` is validated against by the API server, so the agent accepts exactly what a policy may hold.
 */
import { ArchiverError } from '../errors.ts';

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const WHOLE = /^(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+$/;
const PART = /([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g;

/** Milliseconds of a positive Go duration; `flag` names the option in the error message. */
export function parseDuration(text: string, flag: string): number {
  if (!WHOLE.test(text)) {
    throw new ArchiverError('EUSAGE', `${flag} ${JSON.stringify(text)} is not a duration`, { hint: 'write a duration such as 30s, 5m or 1h30m' });
  }
  let ms = 0;
  for (const m of text.matchAll(PART)) ms += Number(m[1]) * (UNIT_MS[m[2] as string] ?? Number.NaN);
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new ArchiverError('EUSAGE', `${flag} ${JSON.stringify(text)} must be greater than zero`, { hint: 'write a duration such as 30s, 5m or 1h30m' });
  }
  return ms;
}
