/**
 * The positive Go duration the CRDs accept (`30s`, `5m`, `1h30m`, `1.5h`, `250ms`; Go's time.ParseDuration without
 * a sign), as a pattern for their CEL rules and as milliseconds for the controller, which reads only values the API
 * server has already checked against the same pattern.
 */

/** Go's time.ParseDuration syntax without a sign (a sign would allow negative intervals). Escaped for a CEL string. */
export const DURATION = String.raw`^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`;

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const WHOLE = /^(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+$/;
const PART = /([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g;

/** Milliseconds of a positive duration, or undefined when `text` is none (or zero). */
export function durationMs(text: string): number | undefined {
  if (!WHOLE.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(PART)) ms += Number(m[1]) * (UNIT_MS[m[2] as string] ?? Number.NaN);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** Milliseconds as a Go duration rounded to the second (`1h0m5s`, `2m30s`, `45s`; under a second: `0s`). */
export function formatDuration(ms: number): string {
  let s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
