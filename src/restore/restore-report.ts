/**
 * The report a restore or plan-only run leaves in `--summary-file`: the operator reads it from the Job's termination
 * message, which Kubernetes caps at 4096 bytes. Compact JSON of what `--json` prints; when that is too long the long
 * lists (files, replay command) are dropped and `truncated` says so, the counts and boundaries always stay.
 */
export const REPORT_LIMIT = 4096;

const LONG_FIELDS = ['files', 'replayFiles', 'replayCommand', 'gaps'] as const;

export function encodeRestoreReport(report: Record<string, unknown>): string {
  const full = JSON.stringify(report);
  if (Buffer.byteLength(full) <= REPORT_LIMIT) return full;
  const short: Record<string, unknown> = { ...report, truncated: true };
  for (const field of LONG_FIELDS) {
    const value = short[field];
    if (Array.isArray(value)) {
      short[`${field}Count`] = value.length;
      delete short[field];
    }
  }
  const text = JSON.stringify(short);
  if (Buffer.byteLength(text) <= REPORT_LIMIT) return text;
  // Only an error message this long is left: keep its code and the start of the message.
  const error = short.error as { code?: string; message?: string } | undefined;
  return JSON.stringify({ ok: short.ok, truncated: true, ...(error === undefined ? {} : { error: { code: error.code, message: (error.message ?? '').slice(0, 2048) } }) });
}
