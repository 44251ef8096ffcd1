/**
 * Copies the generated CRDs (crds/*.yaml) into deploy/base/crds/, which kustomize needs inside its own directory
 * tree. Run it after `npm run gen:crds`. `--check` writes nothing and exits 1 naming the copies that differ.
 */
import fs from 'node:fs';
import path from 'node:path';

const root = path.join(import.meta.dirname, '..');
const from = path.join(root, 'crds');
const to = path.join(root, 'deploy', 'base', 'crds');
const check = process.argv.includes('--check');

const wanted = fs.readdirSync(from).filter((f) => f.endsWith('.yaml')).sort();
const present = fs.existsSync(to) ? fs.readdirSync(to).filter((f) => f.endsWith('.yaml')) : [];
const stale: string[] = [];
for (const name of wanted) {
  const content = fs.readFileSync(path.join(from, name));
  const target = path.join(to, name);
  if (fs.existsSync(target) && fs.readFileSync(target).equals(content)) continue;
  stale.push(path.relative(root, target));
  if (!check) {
    fs.mkdirSync(to, { recursive: true });
    fs.writeFileSync(target, content);
  }
}
// A CRD removed from crds/ must not linger in the deployment.
for (const name of present.filter((n) => !wanted.includes(n))) {
  stale.push(`${path.relative(root, path.join(to, name))} (no longer in crds/)`);
  if (!check) fs.rmSync(path.join(to, name));
}
if (check && stale.length > 0) {
  process.stderr.write(`sync-deploy-crds: out of date (run npm run sync:deploy-crds): ${stale.join(', ')}\n`);
  process.exit(1);
}
process.stdout.write(stale.length === 0 ? 'sync-deploy-crds: deploy/base/crds up to date\n' : `sync-deploy-crds: updated ${stale.join(', ')}\n`);
