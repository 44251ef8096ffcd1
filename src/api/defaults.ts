/**
 * Structural defaulting exactly as the API server does it (apiextensions-apiserver `structuraldefaulting.Default`):
 * for an object, every absent (or null) property with a default gets a deep copy of it, then every property,
 * defaulted or not, is defaulted recursively; array items and map values likewise. The builders in src/specs
 * call this so that they see the same values the server would store, from the one schema.
 */
import type { JSONSchemaProps } from './openapi.ts';
import type { AnySchema, InOf, OutOf } from './schema.ts';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function defaultInPlace(value: unknown, schema: JSONSchemaProps): void {
  if (Array.isArray(value)) {
    if (schema.items !== undefined) for (const item of value) defaultInPlace(item, schema.items);
    return;
  }
  if (!isObject(value)) return;
  const props = schema.properties ?? {};
  for (const [name, prop] of Object.entries(props)) {
    if (prop.default !== undefined && (value[name] === undefined || value[name] === null)) value[name] = structuredClone(prop.default);
  }
  for (const [name, child] of Object.entries(value)) {
    const prop = props[name] ?? schema.additionalProperties;
    if (prop !== undefined) defaultInPlace(child, prop);
  }
}

/** A defaulted deep copy of `value`; the input is not changed. */
export function applyDefaults<S extends AnySchema>(schema: S, value: InOf<S>): OutOf<S> {
  const copy: unknown = structuredClone(value);
  defaultInPlace(copy, schema.json);
  return copy as OutOf<S>;
}
