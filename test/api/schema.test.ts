import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadAllYaml } from '@kubernetes/client-node';
import { KINDS, applyDefaults, buildCrd, policySpec, restoreSpec } from '../../src/api/index.ts';
import { generatedCrdFiles } from '../../src/api/generate.ts';
import { withFieldReference } from '../../src/api/reference.ts';
import type { JSONSchemaProps } from '../../src/api/openapi.ts';
import { array, integer, object, string } from '../../src/api/schema.ts';
import { toYaml } from '../../src/api/yaml.ts';
import { REPO_ROOT } from '../support/testenv.ts';

/** Every node below spec and status, with its path. */
function* walk(schema: JSONSchemaProps, at: string): Generator<[string, JSONSchemaProps]> {
  yield [at, schema];
  for (const [k, v] of Object.entries(schema.properties ?? {})) yield* walk(v, `${at}.${k}`);
  if (schema.items !== undefined) yield* walk(schema.items, `${at}[]`);
  if (schema.additionalProperties !== undefined) yield* walk(schema.additionalProperties, `${at}{}`);
}

describe('CRDs generated from the schema DSL', () => {
  it('crds/*.yaml are exactly what `npm run gen:crds` writes (no drift)', () => {
    for (const [name, content] of generatedCrdFiles()) {
      const file = path.join(REPO_ROOT, 'crds', name);
      assert.ok(fs.existsSync(file), `${file} is missing: run npm run gen:crds`);
      assert.equal(fs.readFileSync(file, 'utf8'), content, `crds/${name} differs from the schema in src/api: run npm run gen:crds`);
    }
    const yamls = fs.readdirSync(path.join(REPO_ROOT, 'crds')).filter((f) => f.endsWith('.yaml'));
    assert.deepEqual(yamls.sort(), [...generatedCrdFiles().keys()].sort(), 'no stale CRD files');
  });

  it('the field reference in docs/API.md is what `npm run gen:crds` writes (no drift)', () => {
    const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'API.md'), 'utf8');
    assert.equal(doc, withFieldReference(doc), 'docs/API.md field reference differs from src/api: run npm run gen:crds');
    for (const field of ['spec.keyProvider.vault.kubernetesAuth.role', 'spec.target.latest', 'status.sources[].secondsUntilPurge']) assert.ok(doc.includes(`\`${field}\``), field);
  });

  it('the YAML reads back as exactly the CRD objects', () => {
    for (const def of KINDS) {
      // Without apiVersion/kind: loadAllYaml would map a known kind's fields to the client's model names.
      const { spec, metadata } = buildCrd(def);
      const [doc] = loadAllYaml(toYaml({ metadata, spec })) as unknown[];
      assert.deepEqual(doc, { metadata, spec });
    }
  });

  it('every field of spec and status has a description (kubectl explain shows it)', () => {
    for (const def of KINDS) {
      for (const [at, node] of [...walk(def.spec.json, `${def.kind}.spec`), ...walk(def.status.json, `${def.kind}.status`)]) {
        assert.ok(typeof node.description === 'string' && node.description.trim().length >= 3, `${at} has no description`);
      }
    }
  });

  it('defaults are valid values of their own fields', () => {
    for (const def of KINDS) {
      for (const [at, node] of walk(def.spec.json, def.kind)) {
        if (node.default === undefined) continue;
        if (node.enum !== undefined) assert.ok(node.enum.includes(node.default as string), at);
        if (typeof node.default === 'number') {
          assert.ok(node.minimum === undefined || node.default >= node.minimum, at);
          assert.ok(node.maximum === undefined || node.default <= node.maximum, at);
        }
      }
    }
  });
});

describe('the schema DSL', () => {
  it('emits what was said and nothing else', () => {
    const s = object('An example.', {
      name: string('The name.', { pattern: '^[a-z]+$', maxLength: 10 }),
      n: integer('A number.', { default: 3, minimum: 1 }),
      list: array('A list.', string('An item.'), { maxItems: 2, listType: 'set' }),
    }, { required: ['name'], validations: [{ rule: 'self.n < 10', message: 'n below 10' }] });
    assert.deepEqual(s.json, {
      description: 'An example.', type: 'object',
      properties: {
        name: { description: 'The name.', type: 'string', pattern: '^[a-z]+$', maxLength: 10 },
        n: { description: 'A number.', type: 'integer', default: 3, minimum: 1 },
        list: { description: 'A list.', type: 'array', maxItems: 2, items: { description: 'An item.', type: 'string' }, 'x-kubernetes-list-type': 'set' },
      },
      required: ['name'],
      'x-kubernetes-validations': [{ rule: 'self.n < 10', message: 'n below 10' }],
    });
  });

  it('refuses a field without description', () => {
    assert.throws(() => string(' '), /needs a description/);
  });

  it('applyDefaults defaults like the API server: absent and null fields, nested objects created by `default: {}`, array items', () => {
    const s = object('x', {
      a: string('a', { default: 'A' }),
      inner: object('i', { b: integer('b', { default: 2 }), c: integer('c') }, { default: {} }),
      items: array('l', object('o', { d: string('d', { default: 'D' }) })),
    });
    const input = { items: [{}, { d: 'given' }] } as Parameters<typeof applyDefaults<typeof s>>[1];
    assert.deepEqual(applyDefaults(s, input), { a: 'A', inner: { b: 2 }, items: [{ d: 'D' }, { d: 'given' }] });
    assert.deepEqual(input, { items: [{}, { d: 'given' }] }, 'the input is not changed');
    assert.deepEqual(applyDefaults(s, { a: null } as unknown as Parameters<typeof applyDefaults<typeof s>>[1]).a, 'A');
  });

  it('the resolved policy spec has every default the CRD declares', () => {
    const spec = applyDefaults(policySpec, {
      source: { selector: { matchLabels: { app: 'mysql' } }, binlogVolume: 'data' },
      storage: { bucket: 'bkt' },
      keyProvider: { vault: { address: 'http://v:8200', transitKey: 'k', kubernetesAuth: { role: 'r' } } },
    });
    // Typed access with no `?.`: these fields are required in ResolvedPolicySpec because they have defaults.
    assert.deepEqual([spec.suspend, spec.format, spec.compressionLevel, spec.source.container, spec.source.binlogPath, spec.storage.forcePathStyle],
      [false, 'gcm', 2, 'mysql', '', false]);
    assert.deepEqual(spec.job, { runAsUser: 65532, runAsGroup: 65532, ttlSecondsAfterFinished: 86400, backoffLimit: 2, activeDeadlineSeconds: 3600 });
    assert.deepEqual(spec.purgeRisk, { thresholdSeconds: 3600 });
    assert.deepEqual(spec.keyProvider.vault, { address: 'http://v:8200', transitKey: 'k', mount: 'transit', kubernetesAuth: { role: 'r', mountPath: 'kubernetes', expirationSeconds: 600 } });
    const restore = applyDefaults(restoreSpec, { archive: { policyRef: { name: 'p' } }, sourceServer: 's', target: { latest: true }, output: { volume: { claimName: 'c' } } });
    assert.deepEqual([restore.acceptGaps, restore.output.volume?.path, restore.job.backoffLimit], [false, '', 0]);
  });
});

describe('toYaml', () => {
  const cases: Array<[string, unknown]> = [
    ['scalars that YAML 1.1 would misread', { a: 'yes', b: 'no', c: 'on', d: 'null', e: '1.0', f: '.5', g: '-5m', h: '0x1F', i: 'true', j: '~', k: '' }],
    ['special characters', { a: 'x: y', b: 'a #b', c: 'line\nbreak', d: '"quoted"', e: "it's", f: '[x]', g: '{x}', h: '*ref', i: '&a', j: '@x', k: '`x`', l: 'ü' }],
    ['nesting', { list: [{ a: 1, b: [1, 2] }, [3, [4]], 'x', null, true, {}, []], empty: {}, none: [] }],
    ['keys needing quotes', { 'a b': 1, 'x-kubernetes-list-type': 'map', 'y': 2, '1': 3, 'k:v': 4 }],
  ];
  for (const [name, value] of cases) {
    it(`reads back identically: ${name}`, () => {
      const [doc] = loadAllYaml(toYaml(value as Record<string, unknown>)) as unknown[];
      assert.deepEqual(doc, value);
    });
  }

  it('is deterministic and block-styled', () => {
    assert.equal(toYaml({ b: 1, a: { c: ['x', { d: 'e', f: 'g' }] } }), 'b: 1\na:\n  c:\n    - x\n    - d: e\n      f: g\n');
  });
});
