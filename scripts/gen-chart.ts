/**
 * Brings what charts/binlog-archiver takes from elsewhere up to date: the CRDs (crds/*.yaml, the generated ones)
 * and the RBAC rules (deploy/base/rbac: the one place they are written) as copies under files/, which Helm reads
 * with .Files (a chart cannot read outside itself), and the README's values table from values.yaml's comments.
 * `--check` writes nothing and exits 1 naming what is out of date (test/chart/generated.test.ts runs it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { withValuesTable } from './chart/values-doc.ts';

const root = path.join(import.meta.dirname, '..');
const chart = path.join(root, 'charts', 'binlog-archiver');

/** Directories whose .yaml files the chart copies, and which of them (all when undefined). */
export const CHART_COPIES: { from: string; to: string; only?: readonly string[] }[] = [
  { from: 'crds', to: 'charts/binlog-archiver/files/crds' },
  { from: 'deploy/base/rbac', to: 'charts/binlog-archiver/files/rbac', only: ['cluster-role.yaml', 'leader-election-role.yaml', 'user-roles.yaml'] },
];

/** What is to write (path relative to the repo root, and content), or to delete (content undefined). */
export function chartChanges(): { file: string; content: Buffer | undefined }[] {
  const changes: { file: string; content: Buffer | undefined }[] = [];
  for (const copy of CHART_COPIES) {
    const from = path.join(root, copy.from);
    const to = path.join(root, copy.to);
    const wanted = (copy.only ?? fs.readdirSync(from).filter((f) => f.endsWith('.yaml'))).toSorted();
    for (const name of wanted) {
      const content = fs.readFileSync(path.join(from, name));
      const target = path.join(to, name);
      if (!fs.existsSync(target) || !fs.readFileSync(target).equals(content)) changes.push({ file: path.relative(root, target), content });
    }
    // A file removed from the source must not linger in the chart.
    const present = fs.existsSync(to) ? fs.readdirSync(to).filter((f) => f.endsWith('.yaml')) : [];
    for (const name of present.filter((n) => !wanted.includes(n))) changes.push({ file: path.relative(root, path.join(to, name)), content: undefined });
  }
  const readmePath = path.join(chart, 'README.md');
  const readme = fs.readFileSync(readmePath, 'utf8');
  const next = withValuesTable(readme, fs.readFileSync(path.join(chart, 'values.yaml'), 'utf8'));
  if (next !== readme) changes.push({ file: path.relative(root, readmePath), content: Buffer.from(next) });
  return changes;
}

if (import.meta.main) {
  const check = process.argv.includes('--check');
  const changes = chartChanges();
  if (check) {
    if (changes.length > 0) {
      process.stderr.write(`gen-chart: out of date (run npm run gen:chart): ${changes.map((c) => c.file).join(', ')}\n`);
      process.exit(1);
    }
  } else {
    for (const c of changes) {
      const file = path.join(root, c.file);
      if (c.content === undefined) fs.rmSync(file);
      else {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, c.content);
      }
    }
  }
  process.stdout.write(changes.length === 0 ? 'gen-chart: charts/binlog-archiver up to date\n' : `gen-chart: ${check ? 'stale' : 'updated'} ${changes.map((c) => c.file).join(', ')}\n`);
}
