/**
 * The chart's peers in tests, built once from Go modules into the version-keyed cache like the servers
 * (testenv/tools.ts): helm, promtool, the Lua runner of Argo CD health checks (gopher-lua, the interpreter Argo CD
 * embeds), and the Prometheus Operator's ServiceMonitor and PrometheusRule CRDs from its module. The first test that
 * needs one builds it (under the cache's build lock, so concurrent test files build it once); `up` does not, so a
 * cold `up` spends the two cores on the servers and the node alone.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { TestenvError } from './errors.ts';
import { findCommand } from './packages.ts';
import { cached, goBuild, step } from './tools.ts';
import { cacheRoot, toolDir } from './versions.ts';

const run = promisify(execFile);

export const CHART_TOOL_VERSIONS = {
  /** helm v3 (helm.sh/helm/v3); its k8s.io modules are v0.36, so its default capabilities say Kubernetes 1.36. */
  helm: 'v3.21.4',
  /** The Prometheus module's version of Prometheus 3 (promtool). */
  prometheus: 'v0.316.0',
  /** The Prometheus Operator module whose CRDs (ServiceMonitor, PrometheusRule) the test API server gets. */
  prometheusOperator: 'v0.89.0',
  /** helm-unittest (its go.mod has a replace, so `go install` refuses it: built from the downloaded module). */
  helmUnittest: 'v1.1.2',
  /** testenv/go/lua-health (gopher-lua v1.1.2); bump to rebuild. */
  luaHealth: '1',
} as const;

export interface ChartTools {
  helm: string;
  promtool: string;
  luaHealth: string;
  helmUnittest: string;
}

function go(tool: string): string {
  const found = findCommand('go');
  if (found === undefined) throw new TestenvError(tool, 'go not found on PATH; install Go 1.24 or newer');
  return found;
}

/** `go install module/cmd@version` into a private GOBIN, so a concurrent build never leaves a half binary in place. */
async function goInstall(tool: string, pkg: string, version: string, ldflags: string, dir: string, log: string, tags: string[] = []): Promise<string> {
  const bin = path.join(dir, `.bin-${process.pid}`);
  fs.rmSync(bin, { recursive: true, force: true });
  const args = ['install', '-trimpath', ...(tags.length === 0 ? [] : ['-tags', tags.join(',')]), '-ldflags', ldflags, `${pkg}@${version}`];
  await step(tool, log, go(tool), args, { env: { ...process.env, GOBIN: bin } });
  return path.join(bin, path.basename(pkg));
}

function cleanup(binary: string): string {
  for (const entry of fs.readdirSync(path.dirname(binary))) {
    if (entry.startsWith(`.bin-${process.pid}`)) fs.rmSync(path.join(path.dirname(binary), entry), { recursive: true, force: true });
  }
  return binary;
}

export async function ensureHelm(): Promise<string> {
  const v = CHART_TOOL_VERSIONS.helm;
  // As helm's Makefile links it: its version, and the Kubernetes version its modules speak as default capabilities.
  const ldflags = ['-s', '-w', `-X helm.sh/helm/v3/internal/version.version=${v}`,
    ...['helm.sh/helm/v3/pkg/lint/rules', 'helm.sh/helm/v3/pkg/chartutil'].flatMap((p) => [`-X ${p}.k8sVersionMajor=1`, `-X ${p}.k8sVersionMinor=36`])].join(' ');
  return cleanup(await cached('helm', v, 'helm', (dir, log) => goInstall('helm', 'helm.sh/helm/v3/cmd/helm', v, ldflags, dir, log)));
}

export async function ensurePromtool(): Promise<string> {
  const v = CHART_TOOL_VERSIONS.prometheus;
  // remove_all_sd leaves out the service discoveries (cloud SDKs), which checking and testing rules never use:
  // the build compiles a third of the packages.
  return cleanup(await cached('promtool', v, 'promtool', (dir, log) => goInstall('promtool', 'github.com/prometheus/prometheus/cmd/promtool', v, '-s -w', dir, log, ['remove_all_sd'])));
}

export async function ensureLuaHealth(): Promise<string> {
  return cached('lua-health', CHART_TOOL_VERSIONS.luaHealth, 'lua-health', (dir, log) => goBuild('lua-health', 'lua-health', '.', '-s -w', dir, log));
}

/** The directory of a module in the Go module cache (read-only), downloaded if absent. */
async function moduleDir(tool: string, module: string): Promise<string> {
  const { stdout } = await run(go(tool), ['mod', 'download', '-json', module], { cwd: cacheRoot(), maxBuffer: 4 * 1024 * 1024 }).catch((err: unknown) => {
    throw new TestenvError(tool, `go mod download ${module} failed`, { cause: err });
  });
  const dir = (JSON.parse(stdout) as { Dir?: unknown }).Dir;
  if (typeof dir !== 'string') throw new TestenvError(tool, `go mod download ${module} named no directory`);
  return dir;
}

/** The module cache's files are read-only; a copy must be writable to be built in and removed. */
function writable(dir: string): void {
  fs.chmodSync(dir, 0o755);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) writable(p);
    else fs.chmodSync(p, 0o644);
  }
}

/**
 * helm-unittest, run standalone (`helm-unittest CHART`): installed as a helm plugin, its install hook would download a
 * release. Its module is built in a writable copy of the module cache's directory, its replace directive honoured.
 */
export async function ensureHelmUnittest(): Promise<string> {
  const v = CHART_TOOL_VERSIONS.helmUnittest;
  return cached('helm-unittest', v, 'helm-unittest', async (dir, log) => {
    const src = path.join(dir, `.src-${process.pid}`);
    fs.rmSync(src, { recursive: true, force: true });
    fs.cpSync(await moduleDir('helm-unittest', `github.com/helm-unittest/helm-unittest@${v}`), src, { recursive: true });
    writable(src);
    const out = path.join(dir, `.helm-unittest.${process.pid}.partial`);
    await step('helm-unittest', log, go('helm-unittest'), ['build', '-trimpath', '-ldflags', '-s -w', '-o', out, './cmd/helm-unittest'], { cwd: src });
    fs.rmSync(src, { recursive: true, force: true });
    return out;
  });
}

/** The ServiceMonitor and PrometheusRule CRDs of the pinned Prometheus Operator module (files in the module cache). */
export async function prometheusOperatorCrds(): Promise<string[]> {
  const module = `github.com/prometheus-operator/prometheus-operator@${CHART_TOOL_VERSIONS.prometheusOperator}`;
  const dir = await moduleDir('prometheus-operator', module);
  const crds = ['servicemonitors', 'prometheusrules'].map((k) => path.join(dir, 'example', 'prometheus-operator-crd', `monitoring.coreos.com_${k}.yaml`));
  for (const f of crds) if (!fs.existsSync(f)) throw new TestenvError('prometheus-operator', `${module} has no ${path.relative(dir, f)}`);
  return crds;
}

/** Builds whatever is missing; concurrent builds, like the servers'. */
export async function ensureChartTools(): Promise<ChartTools> {
  fs.mkdirSync(cacheRoot(), { recursive: true });
  const [helm, promtool, luaHealth, helmUnittest] = await Promise.all([ensureHelm(), ensurePromtool(), ensureLuaHealth(), ensureHelmUnittest()]);
  await prometheusOperatorCrds();
  return { helm, promtool, luaHealth, helmUnittest };
}

/** The cached tools when every one is built (no build), else undefined. */
export function builtChartTools(): ChartTools | undefined {
  const tools = {
    helm: path.join(toolDir('helm', CHART_TOOL_VERSIONS.helm), 'helm'),
    promtool: path.join(toolDir('promtool', CHART_TOOL_VERSIONS.prometheus), 'promtool'),
    luaHealth: path.join(toolDir('lua-health', CHART_TOOL_VERSIONS.luaHealth), 'lua-health'),
    helmUnittest: path.join(toolDir('helm-unittest', CHART_TOOL_VERSIONS.helmUnittest), 'helm-unittest'),
  };
  return Object.values(tools).every((f) => fs.existsSync(f)) ? tools : undefined;
}
