/** Reading deploy/: the kustomize build as objects, and `kubectl auth can-i --list` as a set of grants. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadAllYaml } from '@kubernetes/client-node';
import { REPO_ROOT } from '../support/testenv.ts';

const run = promisify(execFile);

export const DEPLOY = path.join(REPO_ROOT, 'deploy');
export const BASE = path.join(DEPLOY, 'base');
export const NAMESPACE = 'binlog-archiver-system';
export const SERVICE_ACCOUNT = 'binlog-archiver-controller';
export const SA_USER = `system:serviceaccount:${NAMESPACE}:${SERVICE_ACCOUNT}`;

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** `kubectl kustomize deploy/base` (kustomize built into kubectl; needs no server). */
export async function kustomizeBuild(dir = BASE): Promise<{ yaml: string; objects: Manifest[] }> {
  const { stdout } = await run('kubectl', ['kustomize', dir], { maxBuffer: 32 * 1024 * 1024 });
  return { yaml: stdout, objects: loadAllYaml(stdout) as Manifest[] };
}

export function find(objects: Manifest[], kind: string, name: string): Manifest {
  const hit = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (hit === undefined) throw new Error(`the build has no ${kind} ${name}`);
  return hit;
}

/**
 * Parses the table `kubectl auth can-i --list` prints (it has no JSON output) into "resource verb" strings, one
 * per verb, e.g. "jobs.batch create", "leases.coordination.k8s.io[binlog-archiver-controller] get",
 * "url:/healthz get". Columns are found from the header's positions: values never contain the column gaps.
 */
export function parseCanIList(table: string): Set<string> {
  const lines = table.split('\n').filter((l) => l.trim() !== '');
  const header = lines.shift() ?? '';
  const cols = ['Resources', 'Non-Resource URLs', 'Resource Names', 'Verbs'].map((c) => {
    const i = header.indexOf(c);
    if (i < 0) throw new Error(`unexpected can-i header: ${header}`);
    return i;
  });
  const list = (text: string): string[] => text.trim().replace(/^\[|\]$/g, '').split(' ').filter((s) => s !== '');
  const out = new Set<string>();
  for (const line of lines) {
    const cell = (k: number): string => line.slice(cols[k], k + 1 < cols.length ? cols[k + 1] : undefined);
    const resource = cell(0).trim();
    const urls = list(cell(1));
    const names = list(cell(2));
    const verbs = list(cell(3));
    const subjects = resource === '' ? urls.map((u) => `url:${u}`) : names.length === 0 ? [resource] : names.map((n) => `${resource}[${n}]`);
    for (const s of subjects) for (const v of verbs) out.add(`${s} ${v}`);
  }
  return out;
}
