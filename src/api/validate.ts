/**
 * Structural validation of a value against the schemas of this API, for what the controller reads from outside
 * (API server answers, watch events): types, required fields, enums, patterns, bounds, list and map items. CEL
 * rules are the API server's job and are not evaluated here. The result names every bad field, so an object that
 * does not match what the code expects is refused at the boundary instead of being cast and misread later.
 */
import { ArchiverError } from '../errors.ts';
import type { JSONSchemaProps } from './openapi.ts';

const MAX_PROBLEMS = 20;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeProblem(value: unknown, schema: JSONSchemaProps): string | undefined {
  if (schema['x-kubernetes-int-or-string'] === true) {
    return Number.isInteger(value) || typeof value === 'string' ? undefined : 'is neither an integer nor a string';
  }
  switch (schema.type) {
    case undefined: return undefined;
    case 'object': return isObject(value) ? undefined : 'is not an object';
    case 'array': return Array.isArray(value) ? undefined : 'is not a list';
    case 'string': return typeof value === 'string' ? undefined : 'is not a string';
    case 'integer': return Number.isSafeInteger(value) ? undefined : 'is not an integer';
    case 'number': return typeof value === 'number' && Number.isFinite(value) ? undefined : 'is not a number';
    case 'boolean': return typeof value === 'boolean' ? undefined : 'is not a boolean';
  }
}

function scalarProblems(value: unknown, s: JSONSchemaProps): string[] {
  const out: string[] = [];
  if (s.enum !== undefined && !s.enum.includes(value as string | number)) out.push(`is not one of ${s.enum.join(', ')}`);
  if (typeof value === 'string') {
    if (s.minLength !== undefined && value.length < s.minLength) out.push(`is shorter than ${s.minLength}`);
    if (s.maxLength !== undefined && value.length > s.maxLength) out.push(`is longer than ${s.maxLength}`);
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(value)) out.push(`does not match ${s.pattern}`);
    if (s.format === 'date-time' && Number.isNaN(Date.parse(value))) out.push('is not a date-time');
  }
  if (typeof value === 'number') {
    if (s.minimum !== undefined && value < s.minimum) out.push(`is less than ${s.minimum}`);
    if (s.maximum !== undefined && value > s.maximum) out.push(`is more than ${s.maximum}`);
  }
  return out;
}

function walk(value: unknown, s: JSONSchemaProps, at: string, out: string[]): void {
  if (out.length >= MAX_PROBLEMS) return;
  const bad = typeProblem(value, s);
  if (bad !== undefined) {
    out.push(`${at} ${bad}`);
    return;
  }
  for (const p of scalarProblems(value, s)) out.push(`${at} ${p}`);
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems) out.push(`${at} has fewer than ${s.minItems} items`);
    if (s.maxItems !== undefined && value.length > s.maxItems) out.push(`${at} has more than ${s.maxItems} items`);
    if (s.items !== undefined) value.forEach((item, i) => walk(item, s.items as JSONSchemaProps, `${at}[${i}]`, out));
    return;
  }
  if (!isObject(value)) return;
  for (const r of s.required ?? []) if (value[r] === undefined || value[r] === null) out.push(`${at}.${r} is missing`);
  if (s.maxProperties !== undefined && Object.keys(value).length > s.maxProperties) out.push(`${at} has more than ${s.maxProperties} entries`);
  for (const [k, v] of Object.entries(value)) {
    // A null is what the server stores for an unset optional field in some clients' writes: it is "absent".
    if (v === null || v === undefined) continue;
    const child = s.properties?.[k] ?? s.additionalProperties;
    if (child !== undefined) walk(v, child, `${at}.${k}`, out);
  }
}

/** Every way `value` differs from `schema` (at most 20), each as `<path> <problem>`; empty when it matches. */
export function schemaProblems(value: unknown, schema: JSONSchemaProps, root = '$'): string[] {
  const out: string[] = [];
  walk(value, schema, root, out);
  return out;
}

/** `value` typed as T when it matches `schema`; otherwise EFORMAT naming every bad field. */
export function checked<T>(value: unknown, schema: JSONSchemaProps, what: string): T {
  const problems = schemaProblems(value, schema);
  if (problems.length > 0) {
    throw new ArchiverError('EFORMAT', `${what} does not match its schema: ${problems.join('; ')}`, {
      hint: 'the API server returned an object this version of binlog-archiver does not understand: check the installed CRDs match the controller version',
    });
  }
  return value as T;
}
