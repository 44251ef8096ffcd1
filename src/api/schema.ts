/**
 * A small schema-builder DSL: every builder returns the OpenAPI v3 (structural, Kubernetes-flavoured) schema of a
 * field AND carries its TypeScript type as a phantom, so the CRDs and the TS types come from one definition.
 * Two types per schema: `In` is what a user writes (defaulted fields optional); `Out` is what the API server
 * stores after structural defaulting (defaulted fields present). `applyDefaults` (defaults.ts) maps In to Out.
 * Every builder takes a description first: `kubectl explain` shows it, and a field without one cannot be written.
 */
import type { JSONSchemaProps, ValidationRule } from './openapi.ts';

export type { JSONSchemaProps, ValidationRule };

/** The phantom fields exist only in types; at run time a schema is `{ json }`. */
export interface Schema<In, Out = In, HasDefault extends boolean = boolean> {
  readonly json: JSONSchemaProps;
  readonly __in?: In;
  readonly __out?: Out;
  readonly __hasDefault?: HasDefault;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the widest schema, for constraints only
export type AnySchema = Schema<any, any, boolean>;
export type InOf<S> = S extends Schema<infer T, unknown, boolean> ? T : never;
export type OutOf<S> = S extends Schema<unknown, infer T, boolean> ? T : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type HasDefault<O> = O extends { default: unknown } ? true : false;

interface Common {
  /** CEL rules (x-kubernetes-validations) for what the structural schema cannot say. */
  validations?: readonly ValidationRule[];
}

function base(type: JSONSchemaProps['type'], description: string, extra: JSONSchemaProps, common: Common): JSONSchemaProps {
  if (description.trim() === '') throw new Error('every schema field needs a description (kubectl explain shows it)');
  const json: JSONSchemaProps = { description, ...(type === undefined ? {} : { type }), ...extra };
  if (common.validations !== undefined && common.validations.length > 0) json['x-kubernetes-validations'] = [...common.validations];
  return json;
}

/** Drops undefined option values, so the emitted schema holds only what was said. */
function defined(o: Record<string, unknown>): JSONSchemaProps {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

export interface StringOptions extends Common {
  default?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  format?: 'date-time' | 'byte' | 'uri';
}

export function string<const O extends StringOptions = Record<never, never>>(description: string, options?: O): Schema<string, string, HasDefault<O>> {
  const o: StringOptions = options ?? {};
  return { json: base('string', description, defined({ format: o.format, default: o.default, pattern: o.pattern, minLength: o.minLength, maxLength: o.maxLength }), o) };
}

export interface EnumOptions<V extends string> extends Common {
  default?: V;
}

export function oneOf<const V extends readonly string[], const O extends EnumOptions<V[number]> = Record<never, never>>(
  description: string, values: V, options?: O,
): Schema<V[number], V[number], HasDefault<O>> {
  const o: EnumOptions<V[number]> = options ?? {};
  return { json: base('string', description, defined({ enum: [...values], default: o.default }), o) };
}

export interface IntegerOptions extends Common {
  default?: number;
  minimum?: number;
  maximum?: number;
  format?: 'int32' | 'int64';
}

export function integer<const O extends IntegerOptions = Record<never, never>>(description: string, options?: O): Schema<number, number, HasDefault<O>> {
  const o: IntegerOptions = options ?? {};
  return { json: base('integer', description, defined({ format: o.format, default: o.default, minimum: o.minimum, maximum: o.maximum }), o) };
}

export interface BooleanOptions extends Common {
  default?: boolean;
}

export function boolean<const O extends BooleanOptions = Record<never, never>>(description: string, options?: O): Schema<boolean, boolean, HasDefault<O>> {
  const o: BooleanOptions = options ?? {};
  return { json: base('boolean', description, defined({ default: o.default }), o) };
}

/** A Kubernetes quantity or a plain integer (`x-kubernetes-int-or-string`), e.g. `500m`, `1Gi`, `2`. */
export function intOrString(description: string, options: Common & { pattern?: string } = {}): Schema<number | string, number | string, false> {
  return { json: base(undefined, description, defined({ 'x-kubernetes-int-or-string': true, pattern: options.pattern }), options) };
}

export interface ArrayOptions extends Common {
  minItems?: number;
  maxItems?: number;
  listType?: 'atomic' | 'set' | 'map';
  listMapKeys?: readonly string[];
  default?: readonly unknown[];
}

export function array<I extends AnySchema, const O extends ArrayOptions = Record<never, never>>(
  description: string, items: I, options?: O,
): Schema<Array<InOf<I>>, Array<OutOf<I>>, HasDefault<O>> {
  const o: ArrayOptions = options ?? {};
  return {
    json: base('array', description, defined({
      default: o.default, minItems: o.minItems, maxItems: o.maxItems, items: items.json,
      'x-kubernetes-list-type': o.listType, 'x-kubernetes-list-map-keys': o.listMapKeys === undefined ? undefined : [...o.listMapKeys],
    }), o),
  };
}

export interface MapOptions extends Common {
  maxProperties?: number;
}

/** A string-keyed map (`additionalProperties`), e.g. labels. */
export function map<V extends AnySchema>(description: string, values: V, options: MapOptions = {}): Schema<Record<string, InOf<V>>, Record<string, OutOf<V>>, false> {
  return { json: base('object', description, defined({ maxProperties: options.maxProperties, additionalProperties: values.json }), options) };
}

/** A Kubernetes type passed through as is (e.g. core/v1 Affinity): the server keeps every field; T types it. */
export function passthrough<T>(description: string, options: Common = {}): Schema<T, T, false> {
  return { json: base('object', description, { 'x-kubernetes-preserve-unknown-fields': true }, options) };
}

type Props = Record<string, AnySchema>;
type DefaultedKeys<P extends Props> = { [K in keyof P]: P[K] extends Schema<unknown, unknown, true> ? K : never }[keyof P];
export type ObjectIn<P extends Props, R extends keyof P> = Simplify<{ [K in R]: InOf<P[K]> } & { [K in Exclude<keyof P, R>]?: InOf<P[K]> }>;
export type ObjectOut<P extends Props, R extends keyof P> = Simplify<
  { [K in R | DefaultedKeys<P>]: OutOf<P[K]> } & { [K in Exclude<keyof P, R | DefaultedKeys<P>>]?: OutOf<P[K]> }
>;

export interface ObjectOptions<R extends string> extends Common {
  required?: readonly R[];
  /** Usually `{}`: makes the server create the object so that its own fields' defaults apply. */
  default?: Record<string, unknown>;
}

export function object<P extends Props, const R extends keyof P & string = never, const O extends ObjectOptions<R> = ObjectOptions<R>>(
  description: string, properties: P, options?: O & ObjectOptions<R>,
): Schema<ObjectIn<P, R>, ObjectOut<P, R>, HasDefault<O>> {
  const o: ObjectOptions<R> = options ?? {};
  const props = Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, s.json]));
  for (const r of o.required ?? []) if (!(r in properties)) throw new Error(`required field ${r} is not a property`);
  return {
    json: base('object', description, defined({
      default: o.default, properties: props, required: o.required === undefined || o.required.length === 0 ? undefined : [...o.required],
    }), o),
  };
}
