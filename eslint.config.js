// Type-checked lint rules; `no-floating-promises` matters most: a dropped promise in the data path hides a failure.
// `layers/import-order` keeps the module graph of src/ a layered one (no cycles between modules).
import path from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const SRC = path.join(import.meta.dirname, 'src');
/** Imported by (almost) everything; their own imports are listed below, so they cannot form a cycle. */
const BASE = ['errors', 'time', 'redact', 'file-url', 'logger', 'contracts'];
/**
 * What each module of src/ (a directory, or a top-level file without .ts) may import besides itself. Lower layers
 * first. contracts/ holds what two sides exchange (run report, agent HTTP contract, ids): both import it, it
 * imports nothing of the project. cli composes everything and is imported by nothing.
 */
const MAY_IMPORT = {
  errors: [], redact: [], contracts: [], time: ['errors'], 'file-url': ['errors'], logger: ['redact'],
  binlog: [...BASE], format: [...BASE], metrics: [...BASE], api: [...BASE],
  keys: [...BASE, 'format'],
  store: [...BASE, 'binlog', 'format'],
  specs: [...BASE, 'api'],
  restore: [...BASE, 'binlog', 'format', 'keys', 'store'],
  // Archiving verifies what it stored with restore's own reader: one-way, and only these two modules.
  pipeline: [...BASE, 'binlog', 'format', 'keys', 'store', 'restore/planning-fields.ts', 'restore/stored-object.ts'],
  // Archive lifecycle (parity with a legacy pipeline, retention): reads archives as restore does.
  lifecycle: [...BASE, 'binlog', 'format', 'keys', 'store', 'restore'],
  agent: [...BASE, 'binlog', 'pipeline', 'specs'],
  // Archive lifecycle (expire, backup anchors, parity with a legacy pipeline): reads and decodes what the store holds.
  lifecycle: [...BASE, 'binlog', 'format', 'keys', 'store', 'restore'],
  controller: [...BASE, 'api', 'binlog', 'metrics', 'specs', 'store'],
  cli: ['*'],
};

/** The module of a file under src/ (its first path segment without .ts), and its path relative to src/. */
function moduleOf(file) {
  const rel = path.relative(SRC, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return { module: rel.split(path.sep)[0].replace(/\.ts$/, ''), rel: rel.split(path.sep).join('/') };
}

const importOrder = {
  meta: { type: 'problem', docs: { description: 'imports between modules of src/ follow the layer order' }, schema: [] },
  create(context) {
    const from = moduleOf(context.filename);
    if (from === undefined) return {};
    const allowed = MAY_IMPORT[from.module];
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const to = moduleOf(path.resolve(path.dirname(context.filename), source));
      if (to === undefined || to.module === from.module) return;
      if (allowed === undefined) {
        context.report({ node, message: `src/${from.module} has no place in the layer order: add it to MAY_IMPORT in eslint.config.js` });
      } else if (!allowed.includes('*') && !allowed.includes(to.module) && !allowed.includes(to.rel)) {
        context.report({ node, message: `src/${from.module} may not import src/${to.rel} (layer order in eslint.config.js: ${from.module} may import ${allowed.join(', ') || 'nothing of the project'})` });
      }
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.testenv/**', 'testenv/go/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { layers: { rules: { 'import-order': importOrder } } },
    rules: {
      // node:test's describe/it return promises the runner itself tracks.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }],
      }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  { files: ['src/**/*.ts'], rules: { 'layers/import-order': 'error' } },
);
