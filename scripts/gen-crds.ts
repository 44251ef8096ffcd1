/**
 * Writes crds/*.yaml and the field reference in docs/API.md from the schemas in src/api (the single source of
 * truth). `--check` writes nothing and exits 1 listing the files that differ.
 */
import fs from 'node:fs';
import path from 'node:path';
import { generatedCrdFiles } from '../src/api/generate.ts';
import { withFieldReference } from '../src/api/reference.ts';

const root = path.join(import.meta.dirname, '..');
const apiDoc = path.join(root, 'docs', 'API.md');
const targets = new Map([...generatedCrdFiles()].map(([name, content]) => [path.join(root, 'crds', name), content]));
targets.set(apiDoc, withFieldReference(fs.readFileSync(apiDoc, 'utf8')));
const check = process.argv.includes('--check');
const stale: string[] = [];
for (const [file, content] of targets) {
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  if (current === content) continue;
  stale.push(path.relative(process.cwd(), file));
  if (!check) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
}
if (check && stale.length > 0) {
  process.stderr.write(`gen-crds: out of date (run npm run gen:crds): ${stale.join(', ')}\n`);
  process.exit(1);
}
process.stdout.write(stale.length === 0 ? 'gen-crds: crds/ and docs/API.md up to date\n' : `gen-crds: wrote ${stale.join(', ')}\n`);
