/**
 * The field reference of docs/API.md, rendered from the same schemas as the CRDs: one table per kind and part
 * (spec, status), one row per field, with type, constraints, default, description and CEL rules.
 */
import { KINDS } from './crd.ts';
import type { JSONSchemaProps } from './openapi.ts';

export const BEGIN = '<!-- BEGIN GENERATED FIELD REFERENCE (npm run gen:crds) -->';
export const END = '<!-- END GENERATED FIELD REFERENCE -->';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function typeOf(s: JSONSchemaProps): string {
  if (s['x-kubernetes-int-or-string'] === true) return 'quantity';
  if (s['x-kubernetes-preserve-unknown-fields'] === true) return 'object (passed through)';
  if (s.type === 'array') return `[]${s.items === undefined ? '' : typeOf(s.items)}`;
  if (s.type === 'object' && s.additionalProperties !== undefined) return `map[string]${typeOf(s.additionalProperties)}`;
  if (s.enum !== undefined) return s.enum.map((v) => `\`${String(v)}\``).join(', ');
  return s.format === undefined ? (s.type ?? 'any') : `${s.type ?? 'string'} (${s.format})`;
}

function constraints(s: JSONSchemaProps): string[] {
  const out: string[] = [];
  if (s.minimum !== undefined || s.maximum !== undefined) out.push(`${s.minimum ?? ''}..${s.maximum ?? ''}`);
  if (s.maxLength !== undefined) out.push(`max ${s.maxLength} chars`);
  if (s.maxItems !== undefined) out.push(`max ${s.maxItems} items`);
  if (s.pattern !== undefined && s['x-kubernetes-int-or-string'] !== true) out.push(`pattern \`${s.pattern}\``);
  return out;
}

function rows(s: JSONSchemaProps, at: string, required: boolean, out: string[]): void {
  const extra = constraints(s);
  const rules = (s['x-kubernetes-validations'] ?? []).map((r) => `Rule: ${r.message}.`);
  const dflt = s.default === undefined ? '' : `\`${JSON.stringify(s.default)}\``;
  const desc = [s.description ?? '', ...rules].join(' ');
  out.push(`| \`${at}\`${required ? ' *' : ''} | ${cell(typeOf(s))}${extra.length === 0 ? '' : ` (${cell(extra.join(', '))})`} | ${cell(dflt)} | ${cell(desc)} |`);
  const children = s.type === 'array' ? s.items : s;
  const prefix = s.type === 'array' ? `${at}[]` : at;
  for (const [name, child] of Object.entries(children?.properties ?? {})) rows(child, `${prefix}.${name}`, (children?.required ?? []).includes(name), out);
}

export function fieldReference(): string {
  const out: string[] = [BEGIN, ''];
  for (const def of KINDS) {
    for (const [part, schema] of [['spec', def.spec.json], ['status', def.status.json]] as const) {
      out.push(`### ${def.kind} \`${part}\``, '', '| Field (* required) | Type | Default | Description |', '|---|---|---|---|');
      rows(schema, part, part === 'spec', out);
      out.push('');
    }
  }
  out.push(END);
  return out.join('\n');
}

/** `doc` with the text between the markers replaced by the current reference. */
export function withFieldReference(doc: string): string {
  const begin = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`docs/API.md lacks the markers ${BEGIN} ... ${END}`);
  return `${doc.slice(0, begin)}${fieldReference()}${doc.slice(end + END.length)}`;
}
