/**
 * The failing tests of one file, from its TAP copy: name, location and error message, a few lines each. The summary
 * prints them last, so a CI log that keeps only its tail still says why a test failed.
 */
const MAX_LINES_PER_FAILURE = 14;
const MAX_FAILURES = 6;
const MAX_LINE = 300;

interface Failure { name: string; yaml: string[] }

function cut(line: string): string {
  return line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line;
}

/** A TAP test name as written: `#` and `\` are escaped by the reporter. */
function unescapeName(name: string): string {
  return name.replace(/\\([\\#])/g, '$1');
}

/**
 * Failing tests in TAP order, and how many were cancelled because their suite failed (a `before` hook, say): those
 * say nothing the suite's own entry does not, and would crowd it out.
 */
function collect(lines: string[]): { failures: Failure[]; cancelled: number } {
  const failures: Failure[] = [];
  let cancelled = 0;
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)not ok \d+ - (.*)$/.exec(lines[i]!);
    if (m === null) continue;
    const indent = `${m[1]!}  `;
    const yaml: string[] = [];
    if (lines[i + 1] === `${indent}---`) {
      for (i += 2; i < lines.length && lines[i] !== `${indent}...`; i++) yaml.push(lines[i]!.slice(indent.length));
    }
    // A todo test's failure does not fail the file; the directive is the unescaped ` # TODO` at the end.
    if (/(?<!\\) # TODO( .*)?$/.test(m[2]!)) continue;
    if (yaml.includes("failureType: 'cancelledByParent'")) cancelled++;
    // A suite that failed because a test in it failed says nothing the test does not.
    else if (!yaml.includes("failureType: 'subtestsFailed'")) failures.push({ name: unescapeName(m[2]!), yaml });
  }
  return { failures, cancelled };
}

/** The YAML value of `key`: a `|-` block's lines, or a one-line value without its quotes. */
function field(yaml: string[], key: string, maxLines: number): string[] {
  const at = yaml.findIndex((l) => l.startsWith(`${key}:`));
  if (at < 0) return [];
  const inline = yaml[at]!.slice(key.length + 1).trim();
  if (inline !== '|-' && inline !== '|') {
    const quoted = /^'(.*)'$/.exec(inline);
    return [quoted === null ? inline : quoted[1]!.replace(/''/g, "'")];
  }
  const out: string[] = [];
  for (let i = at + 1; i < yaml.length && /^\s/.test(yaml[i]!) && out.length < maxLines; i++) out.push(yaml[i]!.trim());
  return out.filter((l) => l !== '');
}

/** `file` failed: what its TAP says of each failing test, or why there is nothing to say. */
export function failureDigest(tap: string, file: string): string[] {
  const { failures, cancelled } = collect(tap.split('\n'));
  const out: string[] = [];
  for (const f of failures.slice(0, MAX_FAILURES)) {
    out.push(cut(`  ✖ ${f.name}`));
    for (const l of field(f.yaml, 'location', 1)) out.push(cut(`      at ${l}`));
    const error = field(f.yaml, 'error', MAX_LINES_PER_FAILURE);
    const stack = error.length < 4 ? field(f.yaml, 'stack', 3) : [];
    for (const l of [...error, ...stack]) out.push(cut(`      ${l}`));
  }
  if (failures.length > MAX_FAILURES) out.push(`  … and ${failures.length - MAX_FAILURES} more failing tests in this file`);
  if (cancelled > 0) out.push(`  (${cancelled} test${cancelled === 1 ? '' : 's'} cancelled by the failure of ${cancelled === 1 ? 'its suite' : 'their suites'})`);
  if (failures.length === 0 && cancelled === 0) out.push(`  (no failing test in its TAP: the process of ${file} exited non-zero or was killed; its output is above)`);
  return out;
}
