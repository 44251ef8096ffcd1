/**
 * A tiny deterministic YAML emitter for JSON data (objects, arrays, strings, numbers, booleans, null), enough for
 * CRDs: block style, two-space indent, keys in insertion order. A string is written plain only when YAML 1.1 and 1.2
 * both read it back as the same string; otherwise as a JSON string, which is a valid YAML double-quoted scalar.
 */

// Plain scalars: start with a letter or `/` (never a digit, `.`, `-`: those may read as numbers), then a conservative set of characters; no `: ` or ` #` inside.
const PLAIN = /^[A-Za-z/][A-Za-z0-9_./()+-]*(?: [A-Za-z0-9_./()+-]+)*$/;
// Words YAML 1.1 (kubectl's parser among them) reads as booleans or null.
const RESERVED = /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~)$/;

function scalar(value: string | number | boolean | null): string {
  if (value === null) return 'null';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot emit ${value} as YAML`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return PLAIN.test(value) && !RESERVED.test(value) ? value : JSON.stringify(value);
}

function isScalar(v: unknown): v is string | number | boolean | null {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function key(k: string): string {
  return PLAIN.test(k) && !RESERVED.test(k) ? k : JSON.stringify(k);
}

function emit(value: unknown, indent: string, out: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (isScalar(item)) out.push(`${indent}- ${scalar(item)}`);
      else if (isEmpty(item)) out.push(`${indent}- ${Array.isArray(item) ? '[]' : '{}'}`);
      else {
        // The first line of a nested block goes on the dash line.
        const nested: string[] = [];
        emit(item, `${indent}  `, nested);
        const first = nested[0] ?? '';
        out.push(Array.isArray(item) ? `${indent}- ${first.trimStart()}` : `${indent}- ${first.slice(indent.length + 2)}`, ...nested.slice(1));
      }
    }
    return;
  }
  if (typeof value !== 'object' || value === null) throw new Error('emit expects an object or array');
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (isScalar(v)) out.push(`${indent}${key(k)}: ${scalar(v)}`);
    else if (isEmpty(v)) out.push(`${indent}${key(k)}: ${Array.isArray(v) ? '[]' : '{}'}`);
    else {
      out.push(`${indent}${key(k)}:`);
      emit(v, `${indent}  `, out);
    }
  }
}

function isEmpty(v: unknown): boolean {
  return Array.isArray(v) ? v.length === 0 : typeof v === 'object' && v !== null && Object.keys(v).length === 0;
}

/** One YAML document (without `---`), ending in a newline. */
export function toYaml(value: Record<string, unknown> | unknown[]): string {
  if (isEmpty(value)) return Array.isArray(value) ? '[]\n' : '{}\n';
  const out: string[] = [];
  emit(value, '', out);
  return `${out.join('\n')}\n`;
}
