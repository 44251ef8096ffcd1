/**
 * What the chart takes from elsewhere is current: the CRD and RBAC copies under files/ equal their sources, and the
 * README's values table is the one values.yaml's comments give (scripts/gen-chart.ts); every value has a comment,
 * and values.schema.json describes exactly the keys of values.yaml.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { chartChanges } from '../../scripts/gen-chart.ts';
import { valueDocs, valuesTable, withValuesTable } from '../../scripts/chart/values-doc.ts';
import { CHART } from './helm.ts';

const valuesYaml = fs.readFileSync(path.join(CHART, 'values.yaml'), 'utf8');

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
}

/** Dotted paths of the schema's leaves: keys whose schema has no properties of its own. */
function schemaLeaves(schema: Schema, prefix = ''): string[] {
  return Object.entries(schema.properties ?? {}).flatMap(([k, s]) => {
    const p = prefix === '' ? k : `${prefix}.${k}`;
    return s.properties !== undefined && s.additionalProperties === false ? schemaLeaves(s, p) : [p];
  });
}

describe('chart: generated parts are current', () => {
  it('files/crds, files/rbac and the README values table equal what npm run gen:chart writes', () => {
    assert.deepEqual(chartChanges().map((c) => c.file), [], 'run npm run gen:chart');
  });

  it('the README lists every value of values.yaml with its default', () => {
    const readme = fs.readFileSync(path.join(CHART, 'README.md'), 'utf8');
    const docs = valueDocs(valuesYaml);
    assert.ok(docs.length >= 40, `only ${docs.length} values documented`);
    for (const d of docs) assert.ok(readme.includes(`| \`${d.key}\` | ${d.type} |`), `README lacks ${d.key}`);
    assert.ok(readme.includes(valuesTable(valuesYaml)));
  });

  it('a value without a "# --" comment is refused by name', () => {
    const edited = valuesYaml.replace('# -- Reconcile workers (`--workers`, 1 to 64).\n', '');
    assert.notEqual(edited, valuesYaml);
    assert.throws(() => valueDocs(edited), /no "# --" comment on workers/);
  });

  it('a changed comment changes the table, so a stale README is detected', () => {
    const edited = valuesYaml.replace('Reconcile workers', 'Worker threads');
    const readme = fs.readFileSync(path.join(CHART, 'README.md'), 'utf8');
    assert.notEqual(withValuesTable(readme, edited), readme);
  });

  it('values.schema.json has exactly the values of values.yaml (and Helm\'s global), refusing others', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(CHART, 'values.schema.json'), 'utf8')) as Schema;
    assert.equal(schema.additionalProperties, false);
    const leaves = schemaLeaves(schema).filter((k) => k !== 'global');
    const keys = valueDocs(valuesYaml).map((d) => d.key);
    const under = (p: string, k: string) => p === k || p.startsWith(`${k}.`);
    assert.deepEqual(keys.filter((k) => !leaves.some((p) => under(p, k))), [], 'values without a schema');
    assert.deepEqual(leaves.filter((p) => !keys.some((k) => under(p, k))), [], 'schema properties that are no value');
  });
});
