/**
 * Deterministic names and label values. A Job's name is a function of (policy, pod, trigger), so a restarted
 * controller that sees the same trigger again gets AlreadyExists instead of creating a duplicate.
 */
import { createHash } from 'node:crypto';

const LABEL_MAX = 63;
const SOURCE_MAX = 128;

function hash(parts: readonly string[], length: number): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, length);
}

/** Lowercase DNS-1123 label text: `.` and other characters become `-`, no leading or trailing `-`. */
function dnsLabelText(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '');
}

/** `<prefix>-<hash>` within `max` characters; the prefix is cut, never the hash. */
function withHash(prefix: string, digest: string, max: number): string {
  const room = max - digest.length - 1;
  const cut = prefix.slice(0, room).replace(/[-.]+$/, '');
  return cut === '' ? digest : `${cut}-${digest}`;
}

/** `<policy>-<pod>-<hash of policy, pod and trigger>`, at most 63 characters (Job names become label values). */
export function archiveJobName(policy: string, pod: string, trigger: string): string {
  return withHash(dnsLabelText(`${policy}-${pod}`), hash(['archive', policy, pod, trigger], 10), LABEL_MAX);
}

/** `<restore>-restore-<hash of restore name and uid>`: one Job per BinlogRestore object. */
export function restoreJobName(restore: string, uid: string): string {
  return withHash(dnsLabelText(`${restore}-restore`), hash(['restore', restore, uid], 10), LABEL_MAX);
}

/** `<restore>-plan-<hash of restore name and uid>`: the planning Job of a BinlogRestore. */
export function restorePlanJobName(restore: string, uid: string): string {
  return withHash(dnsLabelText(`${restore}-plan`), hash(['plan', restore, uid], 10), LABEL_MAX);
}

/** CronJob names are at most 52 characters: the Jobs it creates append an 11-character suffix. */
const CRONJOB_MAX = 52;

/** `<policy>-verify` or `<policy>-expire`: one CronJob per policy and task; cut and hashed past 52 characters. */
export function lifecycleCronJobName(policy: string, task: 'verify' | 'expire'): string {
  const name = dnsLabelText(`${policy}-${task}`);
  return name.length <= CRONJOB_MAX ? name : withHash(name, hash([task, policy], 10), CRONJOB_MAX);
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** The value itself when it is a valid label value, else a cut prefix plus a hash (the annotation keeps the full value). */
export function labelValue(value: string): string {
  if (value.length <= LABEL_MAX && LABEL_VALUE.test(value)) return value;
  const cleaned = value.replace(/[^-A-Za-z0-9_.]/g, '-').replace(/^[-_.]+/, '');
  return withHash(cleaned, hash([value], 8), LABEL_MAX);
}

const SOURCE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The source server name in object keys: `<namespace>-<pod>` (cut and hashed past 128 characters). */
export function sourceName(namespace: string, pod: string): string {
  const name = `${namespace}-${pod}`;
  return SOURCE.test(name) ? name : withHash(name.replace(/[^A-Za-z0-9._-]/g, '-'), hash([namespace, pod], 12), SOURCE_MAX);
}
