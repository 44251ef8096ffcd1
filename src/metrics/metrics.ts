/**
 * The controller's Prometheus metrics (prefix binlog_archiver_), in a registry of their own so that several
 * controllers (tests) can live in one process. Per-source series carry namespace, policy and source; a source that
 * disappears has its series removed (forgetSource) so stale values do not linger.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const PREFIX = 'binlog_archiver_';

const SOURCE_LABELS = ['namespace', 'policy', 'source'] as const;
type SourceLabels = Record<(typeof SOURCE_LABELS)[number], string>;

export class ControllerMetrics {
  readonly registry: Registry;
  readonly binlogsArchived: Counter<'namespace' | 'policy' | 'source'>;
  readonly bytesArchived: Counter<'namespace' | 'policy' | 'source'>;
  readonly archiveFailures: Counter<'namespace' | 'policy' | 'source' | 'reason'>;
  readonly storeRetries: Counter<'namespace' | 'policy' | 'source' | 'reason'>;
  readonly lagSeconds: Gauge<'namespace' | 'policy' | 'source'>;
  readonly pendingBinlogs: Gauge<'namespace' | 'policy' | 'source'>;
  readonly secondsUntilPurge: Gauge<'namespace' | 'policy' | 'source'>;
  readonly lastSuccess: Gauge<'namespace' | 'policy' | 'source'>;
  readonly gaps: Gauge<'namespace' | 'policy' | 'source'>;
  readonly gapsDetected: Counter<'namespace' | 'policy' | 'source'>;
  readonly condition: Gauge<'namespace' | 'policy' | 'type' | 'status' | 'reason'>;
  readonly dependencyUp: Gauge<'namespace' | 'policy' | 'dependency'>;
  readonly jobsCreated: Counter<'namespace' | 'policy'>;
  readonly jobDuration: Histogram<'namespace' | 'policy' | 'result'>;
  readonly restores: Counter<'namespace' | 'result' | 'reason'>;
  readonly restoreDuration: Histogram<'namespace' | 'result'>;
  readonly binlogsRestored: Counter<'namespace'>;
  readonly bytesRestored: Counter<'namespace'>;
  readonly reconciles: Counter<'result'>;
  readonly reconcileErrors: Counter<'reason'>;
  readonly reconcileDuration: Histogram;
  readonly queueDepth: Gauge;
  readonly queueAdds: Counter;
  readonly queueRetries: Counter;
  readonly queueLatency: Histogram;
  readonly apiRequests: Counter<'verb' | 'resource' | 'code'>;
  readonly apiLatency: Histogram<'verb' | 'resource'>;
  readonly agentPolls: Counter<'result'>;
  readonly agentsReachable: Gauge;
  readonly agentsWatched: Gauge;
  readonly rotationToJob: Histogram;
  readonly leader: Gauge;
  readonly eventsEmitted: Counter<'type' | 'reason'>;
  readonly objectsVerified: Counter<'namespace' | 'policy'>;
  readonly bytesVerified: Counter<'namespace' | 'policy'>;
  readonly verifyProblems: Gauge<'namespace' | 'policy'>;
  readonly secondsSinceVerified: Gauge<'namespace' | 'policy'>;
  readonly objectsExpired: Counter<'namespace' | 'policy'>;
  readonly bytesExpired: Counter<'namespace' | 'policy'>;
  /** Unix ms of each policy's last successful verification, for secondsSinceVerified at scrape time. */
  readonly #lastVerified = new Map<string, { labels: { namespace: string; policy: string }; ms: number }>();
  readonly #conditionSeries = new Map<string, Record<string, string>>();

  constructor(options: { defaultMetrics?: boolean; nowMs?: () => number } = {}) {
    const registry = new Registry();
    this.registry = registry;
    const registers = [registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: PREFIX });
    const src = [...SOURCE_LABELS];
    this.binlogsArchived = new Counter({ name: `${PREFIX}binlogs_archived_total`, help: 'Binlogs archived (new objects written) by archive Jobs.', labelNames: src, registers });
    this.bytesArchived = new Counter({ name: `${PREFIX}bytes_archived_total`, help: 'Bytes of binlog archived by archive Jobs (before compression).', labelNames: src, registers });
    this.archiveFailures = new Counter({ name: `${PREFIX}archive_failures_total`, help: 'Archive Jobs that failed, by error code (EKEYUNAVAILABLE, ESTORE, ..., JobFailed when unknown).', labelNames: [...src, 'reason'], registers });
    this.storeRetries = new Counter({
      name: `${PREFIX}store_retries_total`, help: 'Object store requests retried by archive Jobs, by reason (SlowDown, ECONNRESET, HTTP 503, BadDigest, ...), from their run reports.',
      labelNames: [...src, 'reason'], registers,
    });
    this.lagSeconds = new Gauge({ name: `${PREFIX}lag_seconds`, help: 'Seconds since the oldest unarchived closed binlog was rotated; 0 when nothing is pending.', labelNames: src, registers });
    this.pendingBinlogs = new Gauge({ name: `${PREFIX}pending_binlogs`, help: 'Closed binlogs not yet archived.', labelNames: src, registers });
    this.secondsUntilPurge = new Gauge({ name: `${PREFIX}seconds_until_purge`, help: 'Seconds until the server may purge the oldest unarchived binlog (binlog_expire_logs_seconds); absent when unknown or nothing is pending.', labelNames: src, registers });
    this.lastSuccess = new Gauge({ name: `${PREFIX}last_success_timestamp_seconds`, help: 'Unix time the last archive Job of the source succeeded.', labelNames: src, registers });
    this.gaps = new Gauge({ name: `${PREFIX}binlog_gaps`, help: 'Gaps in the archived chain of the source (missing sequence numbers, GTID discontinuities, missing objects).', labelNames: src, registers });
    this.gapsDetected = new Counter({ name: `${PREFIX}gaps_detected_total`, help: 'Times a source went from no gap to a gap.', labelNames: src, registers });
    this.condition = new Gauge({ name: `${PREFIX}condition`, help: 'Current conditions of each policy: 1 for the (type, status, reason) in force.', labelNames: ['namespace', 'policy', 'type', 'status', 'reason'], registers });
    this.dependencyUp = new Gauge({ name: `${PREFIX}dependency_up`, help: 'Whether the last archive runs reached the dependency (storage, keyProvider): 1 yes, 0 no.', labelNames: ['namespace', 'policy', 'dependency'], registers });
    this.jobsCreated = new Counter({ name: `${PREFIX}jobs_created_total`, help: 'Archive Jobs created by this controller.', labelNames: ['namespace', 'policy'], registers });
    this.jobDuration = new Histogram({ name: `${PREFIX}job_duration_seconds`, help: 'Run time of finished archive Jobs (start to completion).', labelNames: ['namespace', 'policy', 'result'], buckets: [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600], registers });
    this.restores = new Counter({ name: `${PREFIX}restores_total`, help: 'BinlogRestores finished, by result (Succeeded, Failed) and reason.', labelNames: ['namespace', 'result', 'reason'], registers });
    this.restoreDuration = new Histogram({ name: `${PREFIX}restore_duration_seconds`, help: 'Time from the start of planning to the end of a BinlogRestore.', labelNames: ['namespace', 'result'], buckets: [5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600], registers });
    this.binlogsRestored = new Counter({ name: `${PREFIX}binlogs_restored_total`, help: 'Binlogs written (or applied) by succeeded BinlogRestores.', labelNames: ['namespace'], registers });
    this.bytesRestored = new Counter({ name: `${PREFIX}restored_bytes_total`, help: 'Bytes of the binlogs written (or applied) by succeeded BinlogRestores.', labelNames: ['namespace'], registers });
    this.reconciles = new Counter({ name: `${PREFIX}reconcile_total`, help: 'Reconciles of BinlogArchivePolicies, by result (success, requeue, error).', labelNames: ['result'], registers });
    this.reconcileErrors = new Counter({ name: `${PREFIX}reconcile_errors_total`, help: 'Reconciles that failed, by reason.', labelNames: ['reason'], registers });
    this.reconcileDuration = new Histogram({ name: `${PREFIX}reconcile_duration_seconds`, help: 'Time one reconcile took.', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers });
    this.queueDepth = new Gauge({ name: `${PREFIX}workqueue_depth`, help: 'Policies waiting in the work queue.', registers });
    this.queueAdds = new Counter({ name: `${PREFIX}workqueue_adds_total`, help: 'Adds to the work queue (merged duplicates not counted).', registers });
    this.queueRetries = new Counter({ name: `${PREFIX}workqueue_retries_total`, help: 'Rate-limited re-adds after a failed reconcile.', registers });
    this.queueLatency = new Histogram({ name: `${PREFIX}workqueue_queue_duration_seconds`, help: 'Time a policy waited in the queue before a worker took it.', buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60], registers });
    this.apiRequests = new Counter({ name: `${PREFIX}kube_api_requests_total`, help: 'Requests to the Kubernetes API server, by verb, resource and status code.', labelNames: ['verb', 'resource', 'code'], registers });
    this.apiLatency = new Histogram({ name: `${PREFIX}kube_api_request_duration_seconds`, help: 'Latency of Kubernetes API requests (watches excluded).', labelNames: ['verb', 'resource'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers });
    this.agentPolls = new Counter({ name: `${PREFIX}agent_polls_total`, help: 'Long-polls of agent sidecars, by result (changed, unchanged, error).', labelNames: ['result'], registers });
    this.agentsReachable = new Gauge({ name: `${PREFIX}agents_reachable`, help: 'Agent sidecars whose last poll succeeded.', registers });
    this.agentsWatched = new Gauge({ name: `${PREFIX}agents_watched`, help: 'Agent sidecars being long-polled.', registers });
    this.rotationToJob = new Histogram({ name: `${PREFIX}rotation_to_job_seconds`, help: 'Time from the agent reporting a new closed binlog to the archive Job being created.', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60], registers });
    this.leader = new Gauge({ name: `${PREFIX}leader`, help: '1 while this replica holds the leader Lease and reconciles, else 0.', registers });
    this.eventsEmitted = new Counter({ name: `${PREFIX}events_total`, help: 'Kubernetes Events emitted, by type and reason.', labelNames: ['type', 'reason'], registers });
    const pol = ['namespace', 'policy'] as const;
    this.objectsVerified = new Counter({ name: `${PREFIX}verified_objects_total`, help: 'Archived objects decoded and found as the manifest says by scheduled verify Jobs.', labelNames: pol, registers });
    this.bytesVerified = new Counter({ name: `${PREFIX}verified_bytes_total`, help: 'Bytes of binlog (before compression) verified by scheduled verify Jobs.', labelNames: pol, registers });
    this.verifyProblems = new Gauge({ name: `${PREFIX}verify_problems`, help: 'Problems the last scheduled verification found (failed objects, gaps, malformed entries, stray objects).', labelNames: pol, registers });
    const nowMs = options.nowMs ?? Date.now;
    const lastVerified = this.#lastVerified;
    this.secondsSinceVerified = new Gauge({
      name: `${PREFIX}seconds_since_last_verification`, help: 'Seconds since the last successful scheduled verification of the policy\'s archive (computed at scrape time).', labelNames: pol, registers,
      collect() {
        for (const { labels, ms } of lastVerified.values()) this.set(labels, Math.max(0, (nowMs() - ms) / 1000));
      },
    });
    this.objectsExpired = new Counter({ name: `${PREFIX}expired_objects_total`, help: 'Objects deleted by scheduled expire Jobs (spec.retention).', labelNames: pol, registers });
    this.bytesExpired = new Counter({ name: `${PREFIX}expired_bytes_total`, help: 'Bytes deleted by scheduled expire Jobs (spec.retention).', labelNames: pol, registers });
  }

  /** Records the time of a policy's last successful verification (secondsSinceVerified grows from it). */
  setLastVerified(namespace: string, policy: string, ms: number): void {
    this.#lastVerified.set(`${namespace}/${policy}`, { labels: { namespace, policy }, ms });
  }

  /** Sets the condition series of a policy: 1 for the current (type, status, reason), older series removed. */
  setCondition(namespace: string, policy: string, type: string, status: string, reason: string): void {
    const key = `${namespace}/${policy}/${type}`;
    const previous = this.#conditionSeries.get(key);
    const labels = { namespace, policy, type, status, reason };
    if (previous !== undefined && (previous.status !== status || previous.reason !== reason)) this.condition.remove(previous);
    this.condition.set(labels, 1);
    this.#conditionSeries.set(key, labels);
  }

  /** Drops every per-source series of a source that no longer exists. */
  forgetSource(labels: SourceLabels): void {
    for (const g of [this.lagSeconds, this.pendingBinlogs, this.secondsUntilPurge, this.lastSuccess, this.gaps]) g.remove(labels);
  }

  /** Drops the per-policy series of a deleted policy. */
  forgetPolicy(namespace: string, policy: string): void {
    for (const [key, labels] of [...this.#conditionSeries]) {
      if (labels.namespace === namespace && labels.policy === policy) {
        this.condition.remove(labels);
        this.#conditionSeries.delete(key);
      }
    }
    for (const dependency of ['storage', 'keyProvider']) this.dependencyUp.remove({ namespace, policy, dependency });
    this.#lastVerified.delete(`${namespace}/${policy}`);
    for (const g of [this.secondsSinceVerified, this.verifyProblems]) g.remove({ namespace, policy });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
