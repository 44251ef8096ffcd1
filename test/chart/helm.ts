/** The chart in tests: helm (built from its Go module on first use), rendering with values, and the objects. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// Plain objects, as written: client-node's loadAllYaml converts known kinds to its classes (renaming some fields).
import { loadAll } from 'js-yaml';
import { REPO_ROOT } from '../support/testenv.ts';
import type { Manifest } from '../deploy/manifests.ts';
import { ensureHelm, ensureLuaHealth, ensurePromtool } from '../../testenv/chart-tools.ts';

export const CHART = path.join(REPO_ROOT, 'charts', 'binlog-archiver');

const BUILDS = { helm: ensureHelm, promtool: ensurePromtool, luaHealth: ensureLuaHealth } as const;
const pending = new Map<keyof typeof BUILDS, Promise<string>>();
/** helm, promtool or lua-health: the cached build, or built now from its Go module (once per process). */
export function tool(name: keyof typeof BUILDS): Promise<string> {
  let p = pending.get(name);
  if (p === undefined) {
    p = BUILDS[name]();
    pending.set(name, p);
  }
  return p;
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function exec(file: string, args: string[], input?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, HELM_CACHE_HOME: path.join(os.tmpdir(), 'binlog-archiver-helm-cache') } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

export async function helm(args: string[]): Promise<Result> {
  return exec(await tool('helm'), args);
}

let valuesDir: string | undefined;
let valuesCount = 0;
/** A values file holding `values` (JSON is YAML), in a directory removed when the process exits. */
export function valuesFile(values: unknown): string {
  if (valuesDir === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chart-values-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    valuesDir = dir;
  }
  valuesCount += 1;
  const file = path.join(valuesDir, `values-${valuesCount}.yaml`);
  fs.writeFileSync(file, JSON.stringify(values));
  return file;
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
}

/** `helm template` with the values; the result, whatever it is. */
export async function template(values: unknown = {}, options: RenderOptions = {}): Promise<Result> {
  return helm(['template', options.release ?? 'binlog-archiver', CHART, '--namespace', options.namespace ?? 'binlog-archiver-system', '-f', valuesFile(values)]);
}

/** `helm template` that must succeed, as objects. */
export async function render(values: unknown = {}, options: RenderOptions = {}): Promise<{ yaml: string; objects: Manifest[] }> {
  const r = await template(values, options);
  if (r.code !== 0) throw new Error(`helm template failed (${r.code}): ${r.stderr}`);
  return { yaml: r.stdout, objects: (loadAll(r.stdout) as (Manifest | null)[]).filter((o): o is Manifest => o !== null) };
}

export function pick(objects: Manifest[], kind: string, name?: string): Manifest {
  const hit = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (hit === undefined) throw new Error(`the rendered chart has no ${kind}${name === undefined ? '' : ` ${name}`}: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return hit;
}

/** Every value of every option on: what the "everything on" renders and the dry run apply use. */
export const EVERYTHING_ON = {
  replicaCount: 3,
  image: { repository: 'registry.example.com/binlog-archiver', digest: `sha256:${'ab'.repeat(32)}`, pullPolicy: 'Always' },
  imagePullSecrets: [{ name: 'regcred' }],
  serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/binlog-archiver' } },
  watchNamespace: 'shop',
  logLevel: 'debug',
  workers: 8,
  readStore: true,
  extraArgs: ['--safety-interval=5m'],
  podAnnotations: { 'example.com/owner': 'dba' },
  podLabels: { team: 'dba' },
  resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
  nodeSelector: { 'kubernetes.io/os': 'linux' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ops', effect: 'NoSchedule' }],
  affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'app.kubernetes.io/component': 'controller' } } } }] } },
  priorityClassName: 'system-cluster-critical',
  metrics: { port: 9090, service: { annotations: { 'example.com/scrape': 'true' } } },
  healthPort: 9091,
  monitoring: {
    serviceMonitor: { enabled: true, interval: '15s', scrapeTimeout: '10s', labels: { release: 'prometheus' } },
    prometheusRule: { enabled: true, labels: { release: 'prometheus' }, alertLabels: { team: 'dba' }, lagThresholdSeconds: 600, noSuccessMinutes: 60 },
  },
};
