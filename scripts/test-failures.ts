/**
 * The failing tests of one file, from its TAP copy: name, location and error message, a few lines each. The summary
 * prints them last, so a CI log that keeps only its tail still says why a test failed.
 */
const MAX_LINES_PER_FAILURE = 14;
const MAX_FAILURES = 6;

interface Failure { name: string; yaml: string[] }

function collect(lines: string[]): Failure[] {
  const failures: Failure[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)not ok \d+ - (.*)$/.exec(lines[i]!);
    if (m === null) continue;
    const indent = `${m[1]!}  `;
    const yaml: string[] = [];
    if (lines[i + 1] === `${indent}---`) {
      for (i += 2; i < lines.length && lines[i] !== `${indent}...`; i++) yaml.push(lines[i]!.slice(indent.length));
    }
    // A suite that failed because a test in it failed says nothing the test does not.
    if (!yaml.includes("failureType: 'subtestsFailed'")) failures.push({ name: m[2]!, yaml });
  }
  return failures;
}

/** The YAML block value of `key` (`key: |-` followed by indented lines, or `key: 'one line'`). */
function field(yaml: string[], key: string, maxLines: number): string[] {
  const at = yaml.findIndex((l) => l.startsWith(`${key}:`));
  if (at < 0) return [];
  const inline = yaml[at]!.slice(key.length + 1).trim();
  if (inline !== '|-' && inline !== '|') return [inline];
  const out: string[] = [];
  for (let i = at + 1; i < yaml.length && /^\s/.test(yaml[i]!) && out.length < maxLines; i++) out.push(yaml[i]!.trim());
  return out.filter((l) => l !== '');
}

/** `file` failed: what its TAP says of each failing test, or why there is nothing to say. */
export function failureDigest(tap: string, file: string): string[] {
  const failures = collect(tap.split('\n'));
  if (failures.length === 0) return [`  (no failing test in its TAP: the process of ${file} exited non-zero or was killed; its output is above)`];
  const out: string[] = [];
  for (const f of failures.slice(0, MAX_FAILURES)) {
    out.push(`  ✖ ${f.name}`);
    for (const l of field(f.yaml, 'location', 1)) out.push(`      at ${l.replace(/^'|'$/g, '')}`);
    const error = field(f.yaml, 'error', MAX_LINES_PER_FAILURE);
    const stack = error.length < 4 ? field(f.yaml, 'stack', 3) : [];
    for (const l of [...error, ...stack]) out.push(`      ${l.length > 300 ? `${l.slice(0, 300)}…` : l}`);
  }
  if (failures.length > MAX_FAILURES) out.push(`  … and ${failures.length - MAX_FAILURES} more failing tests in this file`);
  return out;
}
