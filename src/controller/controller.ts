/**
 * The controller: informers on BinlogArchivePolicies, pods and archive Jobs (their caches are what reconciles
 * read), a rate-limited work queue of policy keys, workers that reconcile, long-polls of the agents of selected
 * pods, a periodic resync, and leader election: caches fill on every replica (so a standby is ready to take
 * over), but only the leader runs the queue, the workers and the agent polls.
 */
import type { Logger } from '../logger.ts';
import type { ControllerMetrics } from '../metrics/metrics.ts';
import { AgentWatch, agentUrl } from './agent-watch.ts';
import { systemTimers, type TimerHandle, type Timers } from './clock.ts';
import { EventRecorder } from './events.ts';
import { isArchiveJob, jobNameOfPod, ownerPolicy } from './jobs.ts';
import type { KubeClient } from './kube/client.ts';
import { Informer } from './kube/informer.ts';
import { parseJob, parsePod, parsePolicy, parseRestore } from './kube/kinds.ts';
import { JOBS, PODS, POLICIES, RESTORES, type Job, type Pod, type Policy, type Restore, collectionPath, keyOf } from './kube/resources.ts';
import { LeaderElector } from './leader.ts';
import { CONTROLLER_NAME, Reconciler, type ReconcileSettings, isJobPod } from './reconciler.ts';
import { RESTORE_KEY_PREFIX, RestoreReconciler } from './restore-reconciler.ts';
import { ANNOTATION, LABEL } from '../specs/labels.ts';
import { matchesSelector } from './selector.ts';
import type { StoreReader } from './store-view.ts';
import { WorkQueue } from './workqueue.ts';

export interface LeaderElectionSettings {
  namespace: string;
  name: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface ControllerSettings extends ReconcileSettings {
  /** Watch one namespace, or every namespace (undefined). */
  namespace?: string;
  identity: string;
  workers: number;
  /** Every policy is reconciled at least this often (ms). */
  resyncPeriodMs: number;
  /** waitSeconds of the agent long-polls. */
  agentWaitSeconds: number;
  leaderElection?: LeaderElectionSettings;
  store?: StoreReader;
}

export interface ControllerDeps {
  client: KubeClient;
  logger: Logger;
  metrics: ControllerMetrics;
  timers?: Timers;
}

/** Only what the controller reads of an object's metadata: no managedFields. */
function slimMeta<M extends object>(m: M | undefined): M {
  const { managedFields: _mf, ...rest } = (m ?? {}) as M & { managedFields?: unknown };
  return rest as M;
}

/** Pods: metadata, node, volumes (the Job mounts the binlog volume), IP, phase and terminated container states. */
export function slimPod(p: Pod): Pod {
  return {
    metadata: slimMeta(p.metadata),
    spec: { containers: [], ...(p.spec?.nodeName === undefined ? {} : { nodeName: p.spec.nodeName }), ...(p.spec?.volumes === undefined ? {} : { volumes: p.spec.volumes }) },
    status: {
      ...(p.status?.phase === undefined ? {} : { phase: p.status.phase }),
      ...(p.status?.podIP === undefined ? {} : { podIP: p.status.podIP }),
      ...(p.status?.containerStatuses === undefined ? {} : {
        containerStatuses: p.status.containerStatuses.map((c) => ({
          name: c.name, image: c.image, imageID: c.imageID, ready: c.ready, restartCount: c.restartCount,
          ...(c.state?.terminated === undefined ? {} : { state: { terminated: c.state.terminated } }),
          // Why a Job's container does not start (CreateContainerConfigError: a Secret it references is missing).
          ...(c.state?.waiting === undefined ? {} : { state: { waiting: { reason: c.state.waiting.reason, message: c.state.waiting.message?.slice(0, 1024) } } }),
        })),
      }),
    },
  };
}

/** Jobs: metadata and status; the template is the builder's and never read back. */
export function slimJob(j: Job): Job {
  return { metadata: slimMeta(j.metadata), ...(j.status === undefined ? {} : { status: j.status }) };
}

function slimPolicy(p: Policy): Policy {
  return { ...p, metadata: slimMeta(p.metadata) };
}

function meaningfulPolicyChange(a: Policy, b: Policy): boolean {
  // Status-only updates (ours) change neither generation nor metadata that matters: skipping them avoids a loop.
  return a.metadata.generation !== b.metadata.generation
    || String(a.metadata.deletionTimestamp) !== String(b.metadata.deletionTimestamp)
    || JSON.stringify(a.metadata.finalizers) !== JSON.stringify(b.metadata.finalizers)
    || JSON.stringify(a.metadata.labels) !== JSON.stringify(b.metadata.labels);
}

function isRestoreJobPod(pod: Pod): boolean {
  return pod.metadata?.labels?.[LABEL.component] === 'restore' && pod.metadata.labels[LABEL.managedBy] === 'binlog-archiver-operator';
}

function slimRestore(r: Restore): Restore {
  return { ...r, metadata: slimMeta(r.metadata) };
}

export class Controller {
  readonly policies: Informer<Policy>;
  readonly pods: Informer<Pod>;
  readonly jobs: Informer<Job>;
  readonly restores: Informer<Restore>;
  readonly restoreJobs: Informer<Job>;
  readonly #restoreReconciler: RestoreReconciler;
  readonly #s: ControllerSettings;
  readonly #d: ControllerDeps & { timers: Timers };
  readonly #reconciler: Reconciler;
  readonly #events: EventRecorder;
  /** `<ns>/<job>` -> pod keys. */
  readonly #jobPods = new Map<string, Set<string>>();
  #queue: WorkQueue<string> | undefined;
  #agents: AgentWatch | undefined;
  #leading: AbortSignal | undefined;
  #workers: Promise<void>[] = [];
  #resync: TimerHandle | undefined;
  #agentSync: TimerHandle | undefined;
  #synced = false;
  #elector: LeaderElector | undefined;

  constructor(settings: ControllerSettings, deps: ControllerDeps) {
    this.#s = settings;
    const timers = deps.timers ?? systemTimers;
    this.#d = { ...deps, timers };
    const { client, logger } = deps;
    const ns = settings.namespace;
    this.policies = new Informer<Policy>({ name: 'policies', client, path: collectionPath(POLICIES, ns), parse: parsePolicy, transform: slimPolicy, logger, timers });
    this.pods = new Informer<Pod>({ name: 'pods', client, path: collectionPath(PODS, ns), parse: parsePod, transform: slimPod, logger, timers });
    this.jobs = new Informer<Job>({
      name: 'jobs', client, path: collectionPath(JOBS, ns), parse: parseJob, transform: slimJob, logger, timers,
      labelSelector: `${LABEL.component}=archive,${LABEL.managedBy}=binlog-archiver-operator`,
    });
    this.restores = new Informer<Restore>({ name: 'restores', client, path: collectionPath(RESTORES, ns), parse: parseRestore, transform: slimRestore, logger, timers });
    this.restoreJobs = new Informer<Job>({
      name: 'restore-jobs', client, path: collectionPath(JOBS, ns), parse: parseJob, transform: slimJob, logger, timers,
      labelSelector: `${LABEL.component}=restore,${LABEL.managedBy}=binlog-archiver-operator`,
    });
    this.#events = new EventRecorder({ client, controller: CONTROLLER_NAME, instance: settings.identity, logger, metrics: deps.metrics, timers });
    const jobPods = (namespace: string, job: string): Pod[] => [...(this.#jobPods.get(`${namespace}/${job}`) ?? [])].flatMap((k) => {
      const i = k.indexOf('/');
      const p = this.pods.get(k.slice(0, i), k.slice(i + 1));
      return p === undefined ? [] : [p];
    });
    this.#restoreReconciler = new RestoreReconciler({
      client, restores: this.restores, jobs: this.restoreJobs, policies: this.policies, pods: this.pods, jobPods,
      events: this.#events, metrics: deps.metrics, logger, timers, image: settings.image,
    });
    this.#reconciler = new Reconciler({
      client, policies: this.policies, pods: this.pods, jobs: this.jobs, jobPods,
      agents: (podKey) => this.#agents?.get(podKey),
      ...(settings.store === undefined ? {} : { store: settings.store }),
      events: this.#events, metrics: deps.metrics, logger, timers, settings,
    });
    this.#wire();
  }

  /** Caches filled (readiness). */
  ready(): boolean {
    return this.#synced;
  }

  isLeader(): boolean {
    return this.#leading !== undefined && !this.#leading.aborted;
  }

  #enqueue(key: string | undefined): void {
    if (key !== undefined && key !== '/') this.#queue?.add(key);
  }

  #policiesSelecting(pod: Pod): string[] {
    const ns = pod.metadata?.namespace ?? '';
    return this.policies.list(ns).filter((p) => matchesSelector(p.spec.source.selector, pod.metadata?.labels)).map((p) => keyOf(p));
  }

  #wire(): void {
    this.policies.on({
      add: (p) => {
        this.#enqueue(keyOf(p));
        this.#scheduleAgentSync();
      },
      update: (a, b) => {
        if (meaningfulPolicyChange(a, b)) this.#enqueue(keyOf(b));
        if (JSON.stringify(a.spec.source.selector) !== JSON.stringify(b.spec.source.selector) || a.metadata.deletionTimestamp !== b.metadata.deletionTimestamp) this.#scheduleAgentSync();
      },
      delete: (p) => {
        this.#enqueue(keyOf(p));
        this.#scheduleAgentSync();
      },
    });
    const onPod = (pod: Pod, old?: Pod) => {
      const ns = pod.metadata?.namespace ?? '';
      if (isJobPod(pod) || isRestoreJobPod(pod)) {
        const job = jobNameOfPod(pod);
        if (job !== undefined) {
          const key = `${ns}/${job}`;
          let set = this.#jobPods.get(key);
          if (set === undefined) this.#jobPods.set(key, (set = new Set()));
          set.add(keyOf(pod));
        }
        const policy = pod.metadata?.annotations?.[ANNOTATION.policy];
        if (policy !== undefined) this.#enqueue(`${ns}/${policy}`);
        const restore = pod.metadata?.annotations?.[ANNOTATION.restore];
        if (restore !== undefined) this.#enqueue(`${RESTORE_KEY_PREFIX}${ns}/${restore}`);
        return;
      }
      const keys = new Set(this.#policiesSelecting(pod));
      if (old !== undefined) for (const k of this.#policiesSelecting(old)) keys.add(k);
      for (const k of keys) this.#enqueue(k);
      if (keys.size > 0 && (old === undefined || agentUrl(old) !== agentUrl(pod) || old.metadata?.deletionTimestamp !== pod.metadata?.deletionTimestamp)) this.#scheduleAgentSync();
    };
    this.pods.on({
      add: (p) => onPod(p),
      update: (a, b) => onPod(b, a),
      delete: (p) => {
        if (isJobPod(p) || isRestoreJobPod(p)) {
          const job = jobNameOfPod(p);
          const set = job === undefined ? undefined : this.#jobPods.get(`${p.metadata?.namespace ?? ''}/${job}`);
          set?.delete(keyOf(p));
          if (set?.size === 0) this.#jobPods.delete(`${p.metadata?.namespace ?? ''}/${job ?? ''}`);
        }
        onPod(p);
        this.#scheduleAgentSync();
      },
    });
    const onJob = (j: Job) => {
      if (isArchiveJob(j)) this.#enqueue(ownerPolicy(j));
    };
    this.jobs.on({
      add: onJob,
      update: (_a, b) => onJob(b),
      delete: (j) => {
        this.#reconciler.forgetJob(j.metadata?.uid ?? '');
        onJob(j);
      },
    });
    const onRestore = (r: Restore) => this.#enqueue(`${RESTORE_KEY_PREFIX}${keyOf(r)}`);
    this.restores.on({
      add: onRestore,
      // Status-only updates (ours) change neither generation nor deletion: skipping them avoids a loop.
      update: (a, b) => {
        if (a.metadata.generation !== b.metadata.generation || String(a.metadata.deletionTimestamp) !== String(b.metadata.deletionTimestamp)) onRestore(b);
      },
      delete: onRestore,
    });
    const onRestoreJob = (j: Job) => {
      const restore = j.metadata?.annotations?.[ANNOTATION.restore];
      if (restore !== undefined) this.#enqueue(`${RESTORE_KEY_PREFIX}${j.metadata?.namespace ?? ''}/${restore}`);
    };
    this.restoreJobs.on({ add: onRestoreJob, update: (_a, b) => onRestoreJob(b), delete: onRestoreJob });
  }

  /** The pods the agents of which are polled: those selected by a live policy, with an address. */
  #agentTargets(): Map<string, string> {
    const targets = new Map<string, string>();
    for (const p of this.policies.list()) {
      if (p.metadata.deletionTimestamp !== undefined) continue;
      for (const pod of this.pods.list(p.metadata.namespace)) {
        if (isJobPod(pod) || pod.metadata?.deletionTimestamp !== undefined || !matchesSelector(p.spec.source.selector, pod.metadata?.labels)) continue;
        const url = agentUrl(pod);
        if (url !== undefined) targets.set(keyOf(pod), url);
      }
    }
    return targets;
  }

  #scheduleAgentSync(): void {
    if (this.#agents === undefined || this.#agentSync !== undefined) return;
    this.#agentSync = this.#d.timers.setTimeout(() => {
      this.#agentSync = undefined;
      this.#agents?.sync(this.#agentTargets());
    }, 100);
  }

  #onAgentChange(podKey: string): void {
    const i = podKey.indexOf('/');
    const pod = this.pods.get(podKey.slice(0, i), podKey.slice(i + 1));
    if (pod !== undefined) for (const k of this.#policiesSelecting(pod)) this.#enqueue(k);
  }

  #lead(leading: AbortSignal): void {
    const { metrics, logger, timers } = this.#d;
    this.#leading = leading;
    metrics.leader.set(1);
    const queue = new WorkQueue<string>({
      timers,
      metrics: {
        adds: () => metrics.queueAdds.inc(), depth: (n) => metrics.queueDepth.set(n), retries: () => metrics.queueRetries.inc(),
        latency: (s) => metrics.queueLatency.observe(s),
      },
    });
    this.#queue = queue;
    this.#agents = new AgentWatch({ logger, metrics, timers, waitSeconds: this.#s.agentWaitSeconds, onChange: (k) => this.#onAgentChange(k) });
    this.#agents.sync(this.#agentTargets());
    const all = () => {
      for (const p of this.policies.list()) queue.add(keyOf(p));
      for (const r of this.restores.list()) queue.add(`${RESTORE_KEY_PREFIX}${keyOf(r)}`);
    };
    all();
    const resync = () => {
      all();
      this.#agents?.sync(this.#agentTargets());
      this.#resync = timers.setTimeout(resync, this.#s.resyncPeriodMs);
    };
    this.#resync = timers.setTimeout(resync, this.#s.resyncPeriodMs);
    this.#workers = Array.from({ length: this.#s.workers }, (_, i) => this.#work(queue, leading, i));
    logger.log('info', 'Started reconciling', { workers: this.#s.workers, policies: this.policies.size(), agents: this.#agents.size() });
  }

  async #stopLeading(): Promise<void> {
    const { metrics, timers, logger } = this.#d;
    metrics.leader.set(0);
    this.#queue?.shutDown();
    if (this.#resync !== undefined) timers.clearTimeout(this.#resync);
    if (this.#agentSync !== undefined) timers.clearTimeout(this.#agentSync);
    this.#resync = undefined;
    this.#agentSync = undefined;
    this.#agents?.stop();
    this.#agents = undefined;
    await Promise.all(this.#workers);
    this.#workers = [];
    this.#queue = undefined;
    await this.#events.flush();
    logger.log('info', 'Stopped reconciling');
  }

  async #work(queue: WorkQueue<string>, leading: AbortSignal, worker: number): Promise<void> {
    const { metrics, logger } = this.#d;
    for (;;) {
      const key = await queue.get();
      if (key === undefined || leading.aborted) return;
      const started = performance.now();
      try {
        const result = key.startsWith(RESTORE_KEY_PREFIX) ? await this.#restoreReconciler.reconcile(key, leading) : await this.#reconciler.reconcile(key, leading);
        queue.forget(key);
        if (result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
        metrics.reconciles.inc({ result: result.requeueAfterMs === undefined ? 'success' : 'requeue' });
      } catch (err) {
        metrics.reconciles.inc({ result: 'error' });
        const e = err as Error & { reason?: string; status?: number };
        metrics.reconcileErrors.inc({ reason: e.reason !== undefined && e.reason !== '' ? e.reason : e.name });
        logger.log('warn', 'Reconcile failed; retrying with backoff', { policy: key, worker, error: e.message, retries: queue.numRequeues(key) });
        queue.addRateLimited(key);
      } finally {
        metrics.reconcileDuration.observe((performance.now() - started) / 1000);
        queue.done(key);
      }
    }
  }

  /** Runs until `signal` aborts ('stopped') or leadership is lost ('lost'). */
  async run(signal: AbortSignal): Promise<'stopped' | 'lost'> {
    const { client, logger } = this.#d;
    const informers = [this.policies, this.pods, this.jobs, this.restores, this.restoreJobs];
    for (const i of informers) i.start();
    try {
      await Promise.race([
        Promise.all(informers.map((i) => i.waitForSync())),
        new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })),
      ]);
      if (signal.aborted) return 'stopped';
      this.#synced = true;
      logger.log('info', 'Caches synced', { policies: this.policies.size(), pods: this.pods.size(), jobs: this.jobs.size(), restores: this.restores.size() });
      const le = this.#s.leaderElection;
      if (le === undefined) {
        this.#lead(signal);
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        await this.#stopLeading();
        return 'stopped';
      }
      this.#elector = new LeaderElector({
        client, namespace: le.namespace, name: le.name, identity: this.#s.identity, leaseDurationMs: le.leaseDurationMs,
        renewDeadlineMs: le.renewDeadlineMs, retryPeriodMs: le.retryPeriodMs, logger, timers: this.#d.timers,
      });
      return await this.#elector.run(signal, {
        onStartedLeading: (leading) => this.#lead(leading),
        onStoppedLeading: () => this.#stopLeading(),
        onNewLeader: (id) => logger.log('info', 'Leader is', { leader: id, self: id === this.#s.identity }),
      });
    } finally {
      await Promise.all(informers.map((i) => i.stop()));
    }
  }
}
