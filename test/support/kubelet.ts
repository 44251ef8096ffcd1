/**
 * A stand-in for the kubelet and the Job controller, which the test environment lacks (it runs kube-apiserver
 * only). It does, against the real API server, what they would do for the archive Jobs the controller creates:
 *
 * - lists the Jobs of a namespace every 200 ms; for each new one (unless `hold` says wait) creates a Pod from the
 *   Job's template (labels job-name and controller-uid, owned by the Job, nodeName from the node pinning),
 *   marks it Running, and sets the Job's startTime and active count;
 * - runs the container's command and args here (`binlog-archiver` is `node bin/binlog-archiver.js`) with its
 *   volumes mapped to local paths: hostPath as is, secret volumes as temp files holding the Secret's data (a
 *   Secret, or a key of it, that does not exist leaves the Pod Pending with its container waiting in
 *   ContainerCreating and the kubelet's FailedMount Warning event, in the kubelet's words; the mount is retried
 *   every second, where the kubelet backs off up to about 2 minutes, until the Secret is there or the Job is gone),
 *   emptyDir as temp dirs; every path under a mount in the args and env is rewritten to its local path, the
 *   termination message path too;
 * - when the process exits, sets the Pod's phase and the container's terminated state with the termination
 *   message (the report file, or with FallbackToLogsOnError the log tail), and the Job's status as the Job
 *   controller would (Complete after SuccessCriteriaMet, or Failed after FailureTarget; retries up to
 *   backoffLimit, except exit code 2, which the pod failure policy fails at once);
 * - kills the process and deletes the Pod when the Job is deleted.
 *
 * It also plays the MySQL pod: a Pod labelled for a policy, with a hostPath volume on the MariaDB binlog dir,
 * status Running and podIP 127.0.0.1, whose agent sidecar is the real `binlog-archiver agent` process on a port
 * of its own (announced with the binlog.archiver.dev/agent-port annotation).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchV1Api, CoreV1Api, KubeConfig, type V1Container, type V1Job, type V1Pod, type V1Volume } from '@kubernetes/client-node';
import { REPO_ROOT } from './testenv.ts';

const BIN = path.join(REPO_ROOT, 'bin', 'binlog-archiver.js');
const MESSAGE_MAX = 4096;

export interface JobRun {
  job: string;
  pod: string;
  attempt: number;
  args: string[];
  exitCode: number;
  message: string;
  startedAt: Date;
  finishedAt: Date;
}

export interface KubeletOptions {
  kubeconfig: string;
  namespace: string;
  /** While this returns true for a Job, it is not started (a slow node). Checked again every poll. */
  hold?: (job: V1Job) => boolean;
  /** Extra environment of the Job processes (e.g. AWS_CONFIG_FILE pointing nowhere). */
  env?: NodeJS.ProcessEnv;
  /** Where process logs go (one file per pod); default a temp dir. */
  logDir?: string;
}

export interface MysqlPod {
  name: string;
  port: number;
  stopAgent(): Promise<void>;
  startAgent(): Promise<void>;
}

interface Running {
  child: ChildProcess;
  pod: string;
}

/** A volume that cannot be mounted yet; the message is the kubelet's. */
class MountError extends Error {}

function now(): Date {
  return new Date(Math.floor(Date.now() / 1000) * 1000);
}

async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

export class FakeKubelet {
  readonly namespace: string;
  readonly runs: JobRun[] = [];
  readonly logDir: string;
  readonly #core: CoreV1Api;
  readonly #batch: BatchV1Api;
  readonly #o: KubeletOptions;
  readonly #known = new Set<string>();
  readonly #running = new Map<string, Running>();
  readonly #agents = new Map<string, ChildProcess>();
  readonly #work = new Set<Promise<void>>();
  readonly #tmp: string;
  #hold: ((job: V1Job) => boolean) | undefined;
  #stopped = false;
  #loop: Promise<void> | undefined;
  readonly errors: string[] = [];
  /** What it did, in order (for failure messages). */
  readonly trace: string[] = [];

  constructor(options: KubeletOptions) {
    const kc = new KubeConfig();
    kc.loadFromFile(options.kubeconfig);
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#batch = kc.makeApiClient(BatchV1Api);
    this.#o = options;
    this.namespace = options.namespace;
    this.#hold = options.hold;
    this.#tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'blarc-kubelet-'));
    this.logDir = options.logDir ?? path.join(this.#tmp, 'logs');
    fs.mkdirSync(this.logDir, { recursive: true });
  }

  start(): this {
    this.#loop = this.#poll();
    return this;
  }

  /** Replaces the hold predicate (undefined: run every Job). */
  setHold(hold: ((job: V1Job) => boolean) | undefined): void {
    this.#hold = hold;
  }

  /** The local directory that stands for PersistentVolumeClaim `claim` of the namespace. */
  claimPath(claim: string): string {
    return path.join(this.#tmp, 'claims', claim);
  }

  /** Jobs whose process runs right now. */
  runningJobs(): string[] {
    return [...this.#running.keys()];
  }

  async #poll(): Promise<void> {
    while (!this.#stopped) {
      try {
        const jobs = (await this.#batch.listNamespacedJob({ namespace: this.namespace })).items;
        const names = new Set(jobs.map((j) => j.metadata?.name ?? ''));
        for (const [name, r] of this.#running) {
          if (!names.has(name)) {
            // The Job was deleted: stop its pod as the kubelet would, and remove the pod (the GC would).
            this.#running.delete(name);
            await kill(r.child);
            await this.#core.deleteNamespacedPod({ name: r.pod, namespace: this.namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
          }
        }
        for (const job of jobs) {
          const name = job.metadata?.name ?? '';
          if (this.#known.has(name) || job.metadata?.deletionTimestamp !== undefined) continue;
          if ((job.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')) continue;
          if (this.#hold?.(job) === true) continue;
          this.#known.add(name);
          const p: Promise<void> = this.#runJob(job).catch((err: unknown) => {
            this.errors.push(`${name}: ${(err as Error).message}`);
          }).finally(() => this.#work.delete(p));
          this.#work.add(p);
        }
      } catch (err) {
        this.errors.push(`poll: ${(err as Error).message}`);
      }
      await sleep(200);
    }
  }

  async #setJobStatus(name: string, status: NonNullable<V1Job['status']>): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        const job = await this.#batch.readNamespacedJob({ name, namespace: this.namespace });
        job.status = { ...job.status, ...status };
        await this.#batch.replaceNamespacedJobStatus({ name, namespace: this.namespace, body: job });
        this.trace.push(`${name}: job status ${JSON.stringify(Object.keys(status))}`);
        return;
      } catch (err) {
        const code = (err as { code?: number }).code;
        this.trace.push(`${name}: job status failed ${code ?? ''} ${(err as Error).message.slice(0, 300)}`);
        if (code === 404) return;
        if (code !== 409) throw err;
      }
    }
  }

  async #setPodStatus(name: string, status: NonNullable<V1Pod['status']>): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        const pod = await this.#core.readNamespacedPod({ name, namespace: this.namespace });
        pod.status = status;
        await this.#core.replaceNamespacedPodStatus({ name, namespace: this.namespace, body: pod });
        return;
      } catch (err) {
        const code = (err as { code?: number }).code;
        this.trace.push(`${name}: pod status failed ${code ?? ''} ${(err as Error).message.slice(0, 300)}`);
        if (code === 404) return;
        if (code !== 409) throw err;
      }
    }
  }

  /** Local paths for the pod's volumes. */
  async #volumes(volumes: readonly V1Volume[], dir: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const v of volumes) {
      if (v.hostPath !== undefined) out.set(v.name, v.hostPath.path);
      else if (v.emptyDir !== undefined) {
        const d = path.join(dir, 'empty', v.name);
        fs.mkdirSync(d, { recursive: true });
        out.set(v.name, d);
      } else if (v.persistentVolumeClaim !== undefined) {
        // A claim is a directory of this kubelet, the same for every pod that mounts it (claimPath gives it).
        const d = this.claimPath(v.persistentVolumeClaim.claimName);
        fs.mkdirSync(d, { recursive: true });
        out.set(v.name, d);
      } else if (v.secret !== undefined) {
        const secret = await this.#core.readNamespacedSecret({ name: v.secret.secretName ?? '', namespace: this.namespace }).catch((err: unknown) => {
          if ((err as { code?: number }).code === 404) throw new MountError(`MountVolume.SetUp failed for volume "${v.name}" : secret "${v.secret?.secretName ?? ''}" not found`);
          throw err;
        });
        const d = path.join(dir, 'secret', v.name);
        fs.mkdirSync(d, { recursive: true });
        const items = v.secret.items ?? Object.keys(secret.data ?? {}).map((key) => ({ key, path: key }));
        for (const item of items) {
          const data = secret.data?.[item.key];
          if (data === undefined) throw new MountError(`MountVolume.SetUp failed for volume "${v.name}" : references non-existent secret key: ${item.key}`);
          fs.writeFileSync(path.join(d, item.path), Buffer.from(data, 'base64'), { mode: 0o600 });
        }
        out.set(v.name, d);
      } else {
        throw new Error(`the test kubelet cannot mount volume ${v.name} (${Object.keys(v).filter((k) => k !== 'name').join(', ')})`);
      }
    }
    return out;
  }

  /**
   * The pod's volumes; while one cannot be mounted (a missing Secret or key), the pod stays Pending as the kubelet
   * leaves it: container waiting in ContainerCreating, one FailedMount Warning event (core/v1, source kubelet), and
   * the mount retried. Undefined when the Job is deleted (the pod too) or the stand-in stops meanwhile.
   */
  async #mount(pod: V1Pod, container: V1Container, volumes: readonly V1Volume[], dir: string): Promise<Map<string, string> | undefined> {
    const name = pod.metadata?.name ?? '';
    const job = pod.metadata?.labels?.['job-name'] ?? '';
    let reported = false;
    for (;;) {
      try {
        return await this.#volumes(volumes, dir);
      } catch (err) {
        if (!(err instanceof MountError)) throw err;
        if (!reported) {
          reported = true;
          const t = now();
          await this.#setPodStatus(name, {
            phase: 'Pending', hostIP: '127.0.0.1', startTime: t,
            conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: t }],
            containerStatuses: [{ name: container.name, image: container.image ?? '', imageID: '', ready: false, restartCount: 0, started: false, state: { waiting: { reason: 'ContainerCreating' } } }],
          });
          const node = pod.spec?.nodeName ?? 'node-1';
          await this.#core.createNamespacedEvent({
            namespace: this.namespace,
            body: {
              metadata: { name: `${name}.${randomBytes(8).toString('hex')}`, namespace: this.namespace },
              involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: this.namespace, name, uid: pod.metadata?.uid ?? '' },
              reason: 'FailedMount', message: err.message, type: 'Warning', count: 1, firstTimestamp: t, lastTimestamp: t,
              source: { component: 'kubelet', host: node }, reportingComponent: 'kubelet', reportingInstance: node,
            },
          });
          this.trace.push(`${name}: ${err.message}`);
        }
      }
      await sleep(1000);
      const gone = await this.#batch.readNamespacedJob({ name: job, namespace: this.namespace }).then((j) => j.metadata?.deletionTimestamp !== undefined, (e: unknown) => {
        if ((e as { code?: number }).code === 404) return true;
        throw e;
      });
      if (this.#stopped || gone) {
        await this.#core.deleteNamespacedPod({ name, namespace: this.namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
        return undefined;
      }
    }
  }

  async #runJob(job: V1Job): Promise<void> {
    const name = job.metadata?.name ?? '';
    const uid = job.metadata?.uid ?? '';
    const template = job.spec?.template;
    const container = template?.spec?.containers[0];
    if (template?.spec === undefined || container === undefined) throw new Error(`job ${name} has no container`);
    const backoffLimit = job.spec?.backoffLimit ?? 6;
    const jobStart = now();
    await this.#setJobStatus(name, { startTime: jobStart, active: 1 });
    this.trace.push(`${name}: job started`);
    let failed = 0;
    for (let attempt = 1; ; attempt++) {
      if (this.#stopped) return;
      const run = await this.#runPod(job, template.spec.containers[0] as V1Container, attempt, uid);
      if (run === undefined) return; // the Job was deleted
      if (run.exitCode === 0) {
        const t = now();
        await this.#setJobStatus(name, {
          active: 0, succeeded: 1, ready: 0, completionTime: t,
          conditions: [
            { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', lastProbeTime: t, lastTransitionTime: t },
            { type: 'Complete', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', lastProbeTime: t, lastTransitionTime: t },
          ],
        });
        return;
      }
      failed += 1;
      const usage = run.exitCode === 2;
      if (usage || failed > backoffLimit) {
        const t = now();
        const reason = usage ? 'PodFailurePolicy' : 'BackoffLimitExceeded';
        const message = usage ? `Container ${container.name} for pod ${this.namespace}/${run.pod} failed with exit code 2 matching FailJob rule at index 0` : 'Job has reached the specified backoff limit';
        await this.#setJobStatus(name, {
          active: 0, failed, ready: 0,
          conditions: [
            { type: 'FailureTarget', status: 'True', reason, message, lastProbeTime: t, lastTransitionTime: t },
            { type: 'Failed', status: 'True', reason, message, lastProbeTime: t, lastTransitionTime: t },
          ],
        });
        return;
      }
      await this.#setJobStatus(name, { failed, active: 1 });
    }
  }

  async #runPod(job: V1Job, container: V1Container, attempt: number, uid: string): Promise<JobRun | undefined> {
    const jobName = job.metadata?.name ?? '';
    const template = job.spec?.template;
    const spec = template?.spec;
    if (spec === undefined) throw new Error('no pod spec');
    const podName = `${jobName.slice(0, 57)}-${randomBytes(3).toString('hex').slice(0, 5)}`;
    const node = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0]?.matchFields?.find((f) => f.key === 'metadata.name')?.values?.[0] ?? 'node-1';
    const labels = { ...template?.metadata?.labels, 'batch.kubernetes.io/job-name': jobName, 'job-name': jobName, 'batch.kubernetes.io/controller-uid': uid, 'controller-uid': uid };
    const pod: V1Pod = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: podName, namespace: this.namespace, labels, annotations: { ...template?.metadata?.annotations },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: jobName, uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: { ...spec, nodeName: node },
    };
    const created = await this.#core.createNamespacedPod({ namespace: this.namespace, body: pod });
    const dir = fs.mkdtempSync(path.join(this.#tmp, `${podName}-`));
    const volumes = await this.#mount(created, container, spec.volumes ?? [], dir);
    if (volumes === undefined) return undefined;
    const startedAt = now();
    await this.#setPodStatus(podName, {
      phase: 'Running', podIP: '127.0.0.1', hostIP: '127.0.0.1', startTime: startedAt,
      containerStatuses: [{ name: container.name, image: container.image ?? '', imageID: '', ready: true, restartCount: 0, started: true, state: { running: { startedAt } } }],
    });
    const mounts: Array<[string, string]> = [];
    for (const m of container.volumeMounts ?? []) {
      const local = volumes.get(m.name);
      if (local === undefined) throw new Error(`mount ${m.mountPath} names unknown volume ${m.name}`);
      mounts.push([m.mountPath, m.subPath === undefined || m.subPath === '' ? local : path.join(local, m.subPath)]);
    }
    const messagePath = container.terminationMessagePath ?? '/dev/termination-log';
    const messageFile = path.join(dir, 'termination-log');
    fs.writeFileSync(messageFile, '');
    mounts.push([messagePath, messageFile]);
    mounts.sort((a, b) => b[0].length - a[0].length);
    // One pass over each text (a rewritten path is never rewritten again), longest mount first, whole path segments
    // only; URL-encoded paths (in --key URLs) too.
    const table = new Map<string, string>();
    for (const [from, to] of mounts) {
      table.set(from, to);
      table.set(encodeURIComponent(from), encodeURIComponent(to));
    }
    const escape = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const pattern = new RegExp(`(${[...table.keys()].sort((x, y) => y.length - x.length).map(escape).join('|')})(?=$|/|%2F|[^A-Za-z0-9._-])`, 'g');
    const rewrite = (text: string): string => text.replace(pattern, (m) => table.get(m) ?? m);
    const command = container.command ?? [];
    if (command[0] !== 'binlog-archiver') throw new Error(`the test kubelet runs binlog-archiver only, not ${command.join(' ')}`);
    const args = [...command.slice(1), ...(container.args ?? [])].map(rewrite);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, TMPDIR: path.join(dir, 'tmp'), ...this.#o.env };
    fs.mkdirSync(path.join(dir, 'tmp'));
    for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = rewrite(e.value);
    const logFile = path.join(this.logDir, `${podName}.log`);
    const log = fs.openSync(logFile, 'a');
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.#running.set(jobName, { child, pod: podName });
    this.trace.push(`${podName}: started ${args.slice(0, 2).join(' ')}`);
    const exitCode = await new Promise<number>((resolve) => {
      child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 137)));
      child.once('error', () => resolve(127));
    });
    this.trace.push(`${podName}: exited ${exitCode}`);
    const stillOurs = this.#running.get(jobName)?.child === child;
    this.#running.delete(jobName);
    if (!stillOurs || this.#stopped) return undefined;
    let message = fs.readFileSync(messageFile, 'utf8');
    if (message === '' && exitCode !== 0 && container.terminationMessagePolicy === 'FallbackToLogsOnError') {
      const text = fs.readFileSync(logFile, 'utf8');
      message = text.split('\n').slice(-80).join('\n').slice(-2048);
    }
    if (Buffer.byteLength(message) > MESSAGE_MAX) message = Buffer.from(message).subarray(0, MESSAGE_MAX).toString('utf8');
    const finishedAt = now();
    await this.#setPodStatus(podName, {
      phase: exitCode === 0 ? 'Succeeded' : 'Failed', podIP: '127.0.0.1', hostIP: '127.0.0.1', startTime: startedAt,
      containerStatuses: [{
        name: container.name, image: container.image ?? '', imageID: '', ready: false, restartCount: 0, started: false,
        state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', message, startedAt, finishedAt } },
      }],
    });
    this.trace.push(`${podName}: pod status ${exitCode === 0 ? 'Succeeded' : 'Failed'}`);
    const run: JobRun = { job: jobName, pod: podName, attempt, args, exitCode, message, startedAt, finishedAt };
    this.runs.push(run);
    return run;
  }

  /** Creates a MySQL pod object for `binlogDir` and starts its agent (the real `binlog-archiver agent`). */
  async addMysqlPod(options: { name: string; labels: Record<string, string>; binlogDir: string; nodeName?: string; agentArgs?: string[] }): Promise<MysqlPod> {
    const port = await freePort();
    const body: V1Pod = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: options.name, namespace: this.namespace, labels: options.labels, annotations: { 'binlog.archiver.dev/agent-port': String(port) } },
      spec: {
        nodeName: options.nodeName ?? 'node-1',
        containers: [{ name: 'mysql', image: 'mariadb:10.11' }],
        volumes: [{ name: 'data', hostPath: { path: options.binlogDir, type: 'Directory' } }],
      },
    };
    await this.#core.createNamespacedPod({ namespace: this.namespace, body });
    const t = now();
    await this.#setPodStatus(options.name, {
      phase: 'Running', podIP: '127.0.0.1', podIPs: [{ ip: '127.0.0.1' }], hostIP: '127.0.0.1', startTime: t,
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: t }],
      containerStatuses: [{ name: 'mysql', image: 'mariadb:10.11', imageID: '', ready: true, restartCount: 0, started: true, state: { running: { startedAt: t } } }],
    });
    const key = options.name;
    const startAgent = async (): Promise<void> => {
      const logFile = path.join(this.logDir, `agent-${options.name}.log`);
      const log = fs.openSync(logFile, 'a');
      const child = spawn(process.execPath, [BIN, 'agent', '--binlog-dir', options.binlogDir, '--listen', `127.0.0.1:${port}`, ...(options.agentArgs ?? [])],
        { stdio: ['ignore', log, log], env: { PATH: process.env.PATH } });
      fs.closeSync(log);
      this.#agents.set(key, child);
      const deadline = Date.now() + 20_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`the agent of ${options.name} exited with ${child.exitCode}: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
        try {
          const r = await fetch(`http://127.0.0.1:${port}/healthz`);
          if (r.status === 200) return;
        } catch { /* not listening yet */ }
        if (Date.now() > deadline) throw new Error(`the agent of ${options.name} did not answer /healthz within 20 s; log: ${logFile}`);
        await sleep(100);
      }
    };
    const stopAgent = async (): Promise<void> => {
      const child = this.#agents.get(key);
      this.#agents.delete(key);
      if (child !== undefined) await kill(child);
    };
    await startAgent();
    return { name: options.name, port, stopAgent, startAgent };
  }

  /** Stops polling, kills every process it started (Job containers and agents), and waits for them. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
    await Promise.all([...this.#running.values()].map((r) => kill(r.child)));
    await Promise.all([...this.#agents.values()].map((c) => kill(c)));
    this.#agents.clear();
    await Promise.allSettled([...this.#work]);
    if (this.#o.logDir === undefined) fs.rmSync(this.#tmp, { recursive: true, force: true });
  }

  /** The log of every Job pod and agent, for failure messages. */
  logs(maxPerFile = 3000): string {
    return fs.readdirSync(this.logDir).map((f) => `--- ${f}\n${fs.readFileSync(path.join(this.logDir, f), 'utf8').slice(-maxPerFile)}`).join('\n');
  }
}
