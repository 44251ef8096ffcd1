/**
 * One reconcile of one BinlogArchivePolicy, by state, never by event: read the policy, its pods, its Jobs and
 * what the agents and (optionally) the store say; compute the status; write it through the status subresource
 * (retrying on conflict); report each finished Job once (events, metrics, then an annotation on the Job); and
 * create the archive Jobs that are due, at most one running per source pod, with deterministic names. Idempotent:
 * running it twice on the same state changes nothing the second time.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { applyDefaults } from '../api/defaults.ts';
import { policySpec } from '../api/policy-spec.ts';
import { SOURCES_MAX } from '../api/policy-status.ts';
import type { BinlogArchivePolicyStatus } from '../api/types.ts';
import { ArchiverError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ControllerMetrics } from '../metrics/metrics.ts';
import { newCorrelationId } from '../pipeline/ids.ts';
import { buildArchiveJob } from '../specs/archive-job.ts';
import { LABEL } from '../specs/labels.ts';
import { sourceName } from '../specs/names.ts';
import { storeUrl } from '../specs/urls.ts';
import type { AgentView } from './agent-watch.ts';
import type { Timers } from './clock.ts';
import { type Decision, decide } from './decide.ts';
import type { EventRecorder, ObjectRef } from './events.ts';
import { type JobView, REPORTED_ANNOTATION, failureCode, failureMessage, jobView, ownerPolicy } from './jobs.ts';
import { PATCH, isAlreadyExists, isConflict, isNotFound, type KubeClient } from './kube/client.ts';
import type { Informer } from './kube/informer.ts';
import { JOBS, POLICIES, type Job, type Pod, type Policy, collectionPath, objectPath, splitKey } from './kube/resources.ts';
import { type PolicyComputed, type SourceInput, computePolicy, notices } from './policy-state.ts';
import type { RunReport } from './run-report.ts';
import { matchesSelector } from './selector.ts';
import type { StoreReader } from './store-view.ts';

export const FINALIZER = 'binlog.archiver.dev/stop-jobs';
/** Where the archive container writes its run report: the kubelet makes it the termination message. */
export const SUMMARY_FILE = '/dev/termination-log';
const CONTROLLER_NAME = 'binlog.archiver.dev/controller';

export interface ReconcileSettings {
  image: string;
  safetyIntervalMs: number;
  agentSilentAfterMs: number;
  failureBackoffMs: number;
  failureBackoffMaxMs: number;
  /** Refresh the status (lag, seconds until purge) this often while binlogs are pending (ms). */
  statusRefreshMs: number;
}

export interface ReconcilerDeps {
  client: KubeClient;
  policies: Informer<Policy>;
  pods: Informer<Pod>;
  jobs: Informer<Job>;
  /** Pods of each Job, by `<namespace>/<job name>`. */
  jobPods(namespace: string, job: string): Pod[];
  agents(podKey: string): AgentView | undefined;
  store?: StoreReader;
  events: EventRecorder;
  metrics: ControllerMetrics;
  logger: Logger;
  timers: Timers;
  settings: ReconcileSettings;
}

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export function isJobPod(pod: Pod): boolean {
  return pod.metadata?.labels?.[LABEL.component] === 'archive' && pod.metadata.labels[LABEL.managedBy] === 'binlog-archiver-operator';
}

/** The MySQL pods a policy selects (never its own Job pods, never pods being deleted). */
export function selectedPods(policy: Policy, pods: readonly Pod[]): Pod[] {
  const selector = policy.spec.source.selector;
  return pods.filter((p) => !isJobPod(p) && p.metadata?.deletionTimestamp === undefined && matchesSelector(selector, p.metadata?.labels))
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

function policyRef(p: Policy): ObjectRef {
  return { apiVersion: p.apiVersion, kind: 'BinlogArchivePolicy', namespace: p.metadata.namespace, name: p.metadata.name, ...(p.metadata.uid === undefined ? {} : { uid: p.metadata.uid }) };
}

function podRef(namespace: string, name: string, uid?: string): ObjectRef {
  return { apiVersion: 'v1', kind: 'Pod', namespace, name, ...(uid === undefined ? {} : { uid }) };
}

function mib(n: number): string {
  return n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`;
}

function archivedNote(job: JobView, report: RunReport, namespace: string): string {
  const n = report.archived + report.adopted;
  const range = report.first === null || report.last === null ? '' : report.first.binlog === report.last.binlog ? ` (${report.first.binlog}` : ` (${report.first.binlog} to ${report.last.binlog}`;
  return `Archived ${n} binlog${n === 1 ? '' : 's'} of ${namespace}/${job.pod}${range}${range === '' ? ' (' : ', '}${mib(report.archivedBytes)}) in ${(report.durationMs / 1000).toFixed(1)}s`;
}

export class Reconciler {
  readonly #d: ReconcilerDeps;
  /** Run reports by Job uid: kept after the Job's pod is gone. */
  readonly #reports = new Map<string, RunReport>();
  /** Per-source metric labels last set, by policy key, to remove series of sources that went away. */
  readonly #sourceSeries = new Map<string, Set<string>>();
  /** When a pod without an agent address was first seen (ms): its agent is silent since then. */
  readonly #noAgentSince = new Map<string, number>();
  /**
   * Jobs created but not yet seen in the informer, by pod key (client-go's "expectations"): until the watch
   * delivers a Job, the next reconcile must still count it as running, or a rotation in between could start a
   * second Job for the same pod.
   */
  readonly #expected = new Map<string, { job: string; at: number }>();

  constructor(deps: ReconcilerDeps) {
    this.#d = deps;
  }

  forgetJob(uid: string): void {
    this.#reports.delete(uid);
  }

  async reconcile(key: string, leading: AbortSignal): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const d = this.#d;
    let policy = d.policies.get(namespace, name);
    const log = d.logger.child({ policy: key, reconcileId: randomUUID().slice(0, 8) });
    if (policy === undefined) {
      this.#forgetPolicy(key);
      return {};
    }
    if (policy.metadata.deletionTimestamp !== undefined) {
      await this.#finalize(policy, log);
      return {};
    }
    if (!(policy.metadata.finalizers ?? []).includes(FINALIZER)) {
      const added = await this.#setFinalizers(policy, [...(policy.metadata.finalizers ?? []), FINALIZER]);
      if (added === undefined) return {};
      policy = added;
    }
    const spec = applyDefaults(policySpec, policy.spec);
    const pods = selectedPods(policy, d.pods.list(namespace));
    if (pods.length > SOURCES_MAX) log.log('warn', 'More pods match than a policy reports; the first ones by name are archived', { matching: pods.length, max: SOURCES_MAX });
    const sourcePods = pods.slice(0, SOURCES_MAX);
    const jobs = this.#jobsOf(policy);
    const url = storeUrl(spec.storage);
    const current = policy;

    // Store views: refreshed for sources whose Job finished since it was last reported.
    const inputs: SourceInput[] = await Promise.all(sourcePods.map(async (pod): Promise<SourceInput> => {
      const podName = pod.metadata?.name ?? '';
      const server = sourceName(namespace, podName);
      const podJobs = jobs.filter((j) => j.pod === podName);
      if (d.store !== undefined && podJobs.some((j) => j.phase !== 'Running' && !j.reported)) d.store.invalidate(url, server);
      const index = d.store === undefined ? undefined : await d.store.read(url, server);
      let unarchivable: string | undefined;
      try {
        buildArchiveJob(current, pod, { image: d.settings.image, trigger: 'check', correlationId: 'check' });
      } catch (err) {
        if (err instanceof ArchiverError && err.code === 'EBADINPUT') unarchivable = err.message;
        else throw err;
      }
      const agent = this.#agentOf(`${namespace}/${podName}`);
      return {
        pod: podName, server, jobs: podJobs,
        ...(agent === undefined ? {} : { agent }),
        ...(index === undefined ? {} : { index }),
        ...(unarchivable === undefined ? {} : { unarchivable }),
      };
    }));

    // The status of a fresher object read after a conflict still describes the spec used here: its generation.
    const compute = (p: Policy): PolicyComputed => computePolicy({
      generation: current.metadata.generation ?? 0,
      suspended: spec.suspend,
      ...(spec.purgeRisk.expireLogsSeconds === undefined ? {} : { expireLogsSeconds: spec.purgeRisk.expireLogsSeconds }),
      purgeThresholdSeconds: spec.purgeRisk.thresholdSeconds,
      sources: inputs.map((i) => {
        const previous = p.status?.sources?.find((s) => s.pod === i.pod);
        return previous === undefined ? i : { ...i, previous };
      }),
      ...(p.status === undefined ? {} : { previous: p.status }),
      clock: d.timers,
    });

    if (leading.aborted) return {};
    const written = await this.#writeStatus(policy, compute, log);
    if (written === undefined) return {};
    const { computed, previous } = written;
    policy = written.policy;

    for (const n of notices(namespace, previous, computed, spec.purgeRisk.thresholdSeconds)) {
      if (n.reason === 'BinlogGapDetected') d.metrics.gapsDetected.inc({ namespace, policy: name, source: sourceName(namespace, n.pod ?? '') });
      const pod = n.pod === undefined ? undefined : sourcePods.find((p) => p.metadata?.name === n.pod);
      d.events.emit({ regarding: policyRef(policy), ...(pod === undefined ? {} : { related: podRef(namespace, n.pod ?? '', pod.metadata?.uid) }), type: n.type, reason: n.reason, action: n.action, note: n.note });
    }
    this.#setMetrics(key, policy, computed);
    const reportLater = await this.#reportFinished(policy, computed, log);

    let requeue: number | undefined;
    const soon = (ms: number | undefined) => {
      if (ms !== undefined && ms >= 0) requeue = requeue === undefined ? ms : Math.min(requeue, ms);
    };
    const now = d.timers.nowMs();
    for (const s of computed.sources) {
      const decision: Decision = decide(s, {
        now, suspended: spec.suspend, safetyIntervalMs: d.settings.safetyIntervalMs, agentSilentAfterMs: d.settings.agentSilentAfterMs,
        failureBackoffMs: d.settings.failureBackoffMs, failureBackoffMaxMs: d.settings.failureBackoffMaxMs,
      });
      if (!decision.create) {
        soon(decision.retryInMs);
        continue;
      }
      if (leading.aborted) return {};
      const podKey = `${namespace}/${s.input.pod}`;
      const expected = this.#expected.get(podKey);
      if (expected !== undefined) {
        if (!s.input.jobs.some((j) => j.name === expected.job) && now - expected.at < 30_000) {
          soon(1000);
          continue;
        }
        this.#expected.delete(podKey);
        if (s.input.jobs.some((j) => j.name === expected.job && j.phase === 'Running')) continue;
      }
      const pod = sourcePods.find((p) => p.metadata?.name === s.input.pod);
      if (pod !== undefined) {
        const name = await this.#createJob(policy, pod, decision.trigger, decision.why, s.input.agent, log);
        this.#expected.set(podKey, { job: name, at: now });
      }
    }
    if (reportLater) soon(2000);
    if (computed.sources.some((s) => s.pending.length > 0)) soon(d.settings.statusRefreshMs);
    for (const s of computed.sources) {
      const left = s.status.secondsUntilPurge;
      if (left !== undefined && left > spec.purgeRisk.thresholdSeconds) soon((left - spec.purgeRisk.thresholdSeconds) * 1000 + 1000);
      if (d.store !== undefined) soon(d.store.staleInMs(url, s.input.server));
    }
    return requeue === undefined ? {} : { requeueAfterMs: Math.max(1000, requeue) };
  }

  #agentOf(podKey: string): AgentView | undefined {
    const view = this.#d.agents(podKey);
    if (view !== undefined) {
      this.#noAgentSince.delete(podKey);
      return view;
    }
    // No address (no IP yet, not Running): silent since the controller first saw it so.
    let since = this.#noAgentSince.get(podKey);
    if (since === undefined) {
      since = this.#d.timers.nowMs();
      this.#noAgentSince.set(podKey, since);
    }
    return { url: '', watchedSince: since, errorSince: since, error: 'the pod has no IP address or is not Running' };
  }

  #jobsOf(policy: Policy): JobView[] {
    const key = `${policy.metadata.namespace}/${policy.metadata.name}`;
    const uid = policy.metadata.uid;
    return this.#d.jobs.list(policy.metadata.namespace)
      .filter((j) => ownerPolicy(j) === key && (uid === undefined || j.metadata?.ownerReferences?.some((r) => r.uid === uid) === true))
      .map((j) => {
        const jobUid = j.metadata?.uid ?? '';
        const view = jobView(j, this.#d.jobPods(policy.metadata.namespace, j.metadata?.name ?? ''), this.#reports.get(jobUid));
        if (view.report !== undefined && view.phase !== 'Running') this.#reports.set(jobUid, view.report);
        return view;
      })
      .sort((a, b) => a.created - b.created || a.name.localeCompare(b.name));
  }

  /** Writes the status computed from the freshest policy; on a conflict reads it again and recomputes (5 tries). */
  async #writeStatus(policy: Policy, compute: (p: Policy) => PolicyComputed, log: Logger):
    Promise<{ policy: Policy; computed: PolicyComputed; previous: BinlogArchivePolicyStatus | undefined } | undefined> {
    const d = this.#d;
    let current = policy;
    for (let attempt = 1; ; attempt++) {
      const computed = compute(current);
      const previous = current.status;
      if (isDeepStrictEqual(previous ?? {}, computed.status)) return { policy: current, computed, previous };
      try {
        const updated = await d.client.request<Policy>('PUT', objectPath(POLICIES, current.metadata.namespace, current.metadata.name, 'status'), {
          body: { ...current, status: computed.status },
        });
        return { policy: updated, computed, previous };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        if (!isConflict(err) || attempt >= 5) throw err;
        log.log('debug', 'Status write conflict; reading the policy again', { attempt });
        current = await d.client.request<Policy>('GET', objectPath(POLICIES, current.metadata.namespace, current.metadata.name));
      }
    }
  }

  async #setFinalizers(policy: Policy, finalizers: string[]): Promise<Policy | undefined> {
    try {
      return await this.#d.client.request<Policy>('PATCH', objectPath(POLICIES, policy.metadata.namespace, policy.metadata.name), {
        contentType: PATCH.merge,
        // The resourceVersion makes it conditional: a concurrent change of the list is a conflict, not lost.
        body: { metadata: { finalizers, resourceVersion: policy.metadata.resourceVersion } },
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** A deleted policy: stop its running Jobs (archived data stays), then let it go. */
  async #finalize(policy: Policy, log: Logger): Promise<void> {
    const d = this.#d;
    if (!(policy.metadata.finalizers ?? []).includes(FINALIZER)) return;
    const running = this.#jobsOf(policy).filter((j) => j.phase === 'Running');
    for (const j of running) {
      try {
        await d.client.request('DELETE', objectPath(JOBS, j.namespace, j.name), { query: { propagationPolicy: 'Background' }, body: { propagationPolicy: 'Background' } });
        log.log('info', 'Deleted running archive Job of a deleted policy', { job: j.name, correlationId: j.correlationId });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    const spec = applyDefaults(policySpec, policy.spec);
    d.events.emit({
      regarding: policyRef(policy), type: 'Normal', reason: 'Deleting', action: 'Finalize',
      note: `Stopped ${running.length} running archive Job${running.length === 1 ? '' : 's'}; archived binlogs are kept in ${storeUrl(spec.storage).split('?')[0] ?? ''}`,
    });
    await this.#setFinalizers(policy, (policy.metadata.finalizers ?? []).filter((f) => f !== FINALIZER));
    this.#forgetPolicy(`${policy.metadata.namespace}/${policy.metadata.name}`);
  }

  #forgetPolicy(key: string): void {
    const { namespace, name } = splitKey(key);
    for (const source of this.#sourceSeries.get(key) ?? []) this.#d.metrics.forgetSource({ namespace, policy: name, source });
    this.#sourceSeries.delete(key);
    this.#d.metrics.forgetPolicy(namespace, name);
  }

  #setMetrics(key: string, policy: Policy, computed: PolicyComputed): void {
    const m = this.#d.metrics;
    const { namespace, name } = policy.metadata;
    const now = new Set<string>();
    for (const s of computed.sources) {
      const labels = { namespace, policy: name, source: s.input.server };
      now.add(s.input.server);
      m.lagSeconds.set(labels, s.status.lagSeconds ?? 0);
      m.pendingBinlogs.set(labels, s.status.pendingBinlogs ?? 0);
      if (s.status.secondsUntilPurge === undefined) m.secondsUntilPurge.remove(labels);
      else m.secondsUntilPurge.set(labels, s.status.secondsUntilPurge);
      m.gaps.set(labels, s.archived.gaps);
      const ok = s.lastSuccess?.completionTime;
      if (ok !== undefined) m.lastSuccess.set(labels, Date.parse(ok) / 1000);
    }
    for (const old of this.#sourceSeries.get(key) ?? []) if (!now.has(old)) m.forgetSource({ namespace, policy: name, source: old });
    this.#sourceSeries.set(key, now);
    for (const c of computed.status.conditions ?? []) m.setCondition(namespace, name, c.type, c.status, c.reason);
    m.dependencyUp.set({ namespace, policy: name, dependency: 'storage' }, computed.facts.storage.ok ? 1 : 0);
    m.dependencyUp.set({ namespace, policy: name, dependency: 'keyProvider' }, computed.facts.keyProvider.ok ? 1 : 0);
  }

  /**
   * Events and metrics for each Job that finished and was not reported yet; then the Job is marked reported.
   * Returns true when a finished Job waits for its pod's termination message (the pod watch may lag the Job's).
   */
  async #reportFinished(policy: Policy, computed: PolicyComputed, log: Logger): Promise<boolean> {
    const d = this.#d;
    const { namespace, name } = policy.metadata;
    let later = false;
    for (const s of computed.sources) {
      for (const job of s.input.jobs) {
        if (job.phase === 'Running' || job.reported) continue;
        const finishedMs = Date.parse(job.completionTime ?? '') || job.created;
        if (job.report === undefined && job.pods > 0 && d.timers.nowMs() - finishedMs < 60_000) {
          later = true;
          continue;
        }
        const labels = { namespace, policy: name, source: s.input.server };
        const jlog = log.child({ job: job.name, correlationId: job.correlationId, source: s.input.server });
        const seconds = job.startTime !== undefined && job.completionTime !== undefined ? (Date.parse(job.completionTime) - Date.parse(job.startTime)) / 1000 : undefined;
        if (seconds !== undefined && seconds >= 0) d.metrics.jobDuration.observe({ namespace, policy: name, result: job.phase }, seconds);
        const related = podRef(namespace, job.pod);
        for (const [reason, n] of Object.entries(job.report?.storeRetries ?? {})) {
          if (Number.isSafeInteger(n) && n > 0) d.metrics.storeRetries.inc({ ...labels, reason }, n);
        }
        if (job.phase === 'Succeeded') {
          const r = job.report;
          if (r !== undefined && r.archived + r.adopted > 0) {
            d.metrics.binlogsArchived.inc(labels, r.archived + r.adopted);
            d.metrics.bytesArchived.inc(labels, r.archivedBytes);
            d.events.emit({ regarding: policyRef(policy), related, type: 'Normal', reason: 'Archived', action: 'Archive', note: archivedNote(job, r, namespace) });
          }
          jlog.log('info', 'Archive Job succeeded', { archived: r?.archived, adopted: r?.adopted, skipped: r?.skipped, bytes: r?.archivedBytes, last: r?.newest?.binlog, gaps: r?.gaps });
        } else {
          const code = failureCode(job);
          d.metrics.archiveFailures.inc({ ...labels, reason: code });
          d.events.emit({
            regarding: policyRef(policy), related, type: 'Warning', reason: 'ArchiveFailed', action: 'Archive',
            note: `Archive Job ${job.name} of ${namespace}/${job.pod} failed: ${failureMessage(job)}`,
          });
          jlog.log('warn', 'Archive Job failed', { code, error: failureMessage(job) });
        }
        try {
          await d.client.request('PATCH', objectPath(JOBS, namespace, job.name), {
            contentType: PATCH.merge, body: { metadata: { annotations: { [REPORTED_ANNOTATION]: job.phase } } },
          });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
    }
    return later;
  }

  /** Creates the Job (or finds it already created under its deterministic name); returns its name. */
  async #createJob(policy: Policy, pod: Pod, trigger: string, why: string, agent: AgentView | undefined, log: Logger): Promise<string> {
    const d = this.#d;
    const { namespace, name } = policy.metadata;
    const correlationId = newCorrelationId();
    const job = buildArchiveJob(policy, pod, { image: d.settings.image, trigger, correlationId, summaryFile: SUMMARY_FILE });
    const jobName = job.metadata?.name ?? '';
    const jlog = log.child({ job: jobName, correlationId, pod: pod.metadata?.name, trigger });
    try {
      await d.client.request('POST', collectionPath(JOBS, namespace), { body: job });
    } catch (err) {
      if (isAlreadyExists(err)) {
        jlog.log('info', 'Archive Job already exists (created before a restart); not creating another', {});
        return jobName;
      }
      throw err;
    }
    d.metrics.jobsCreated.inc({ namespace, policy: name });
    if (agent?.newestClosedSeenAt !== undefined && !trigger.startsWith('schedule-')) d.metrics.rotationToJob.observe((d.timers.nowMs() - agent.newestClosedSeenAt) / 1000);
    jlog.log('info', 'Created archive Job', { why });
    d.events.emit({
      regarding: policyRef(policy), related: podRef(namespace, pod.metadata?.name ?? '', pod.metadata?.uid), type: 'Normal', reason: 'ArchiveJobCreated', action: 'Archive',
      note: `Created archive Job ${jobName} for ${namespace}/${pod.metadata?.name ?? ''}: ${why}`,
    });
    return jobName;
  }
}

export { CONTROLLER_NAME };
