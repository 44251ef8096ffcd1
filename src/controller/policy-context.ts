/**
 * What the phases of a policy reconcile share: the dependencies (API access, caches, agents, store, events,
 * metrics, clock, settings) and the controller's memory between reconciles (run reports of Jobs whose pods are
 * gone, metric series per source, silent agents, Jobs created but not yet seen).
 */
import type { RunReport } from '../contracts/run-report.ts';
import type { Logger } from '../logger.ts';
import type { ControllerMetrics } from '../metrics/metrics.ts';
import type { AgentView } from './agent-watch.ts';
import type { Timers } from './clock.ts';
import type { EventRecorder, ObjectRef } from './events.ts';
import { Expectations } from './expectations.ts';
import type { KubeClient } from './kube/client.ts';
import type { Informer } from './kube/informer.ts';
import { type Kinds, kinds } from './kube/kinds.ts';
import type { Job, Pod, Policy } from './kube/resources.ts';
import type { StoreReader } from './store-view.ts';

export const FINALIZER = 'binlog.archiver.dev/stop-jobs';
/** Where a Job's container writes its report: the kubelet makes it the termination message. */
export const SUMMARY_FILE = '/dev/termination-log';
export const CONTROLLER_NAME = 'binlog.archiver.dev/controller';

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

export interface PolicyMemory {
  /** Run reports by Job uid: kept after the Job's pod is gone. */
  reports: Map<string, RunReport>;
  /** Per-source metric labels last set, by policy key, to remove series of sources that went away. */
  sourceSeries: Map<string, Set<string>>;
  /** When a pod without an agent address was first seen (ms): its agent is silent since then. */
  noAgentSince: Map<string, number>;
  /** Archive Jobs created but not yet in the informer, by pod key. */
  expected: Expectations;
  /**
   * Uids of Jobs this process reported whose `reported` annotation the informer has not shown yet: under load the
   * cache lags the patch, and a second reconcile would report (count, announce) the same Job again.
   */
  reported: Set<string>;
  /**
   * Policy uid -> the generation whose lifecycle CronJobs (verify, expire) were last found absent and not asked
   * for: the controller looks them up again only when the spec changes (or after a restart).
   */
  noLifecycle: Map<string, number>;
}

export interface PolicyContext extends ReconcilerDeps {
  kinds: Kinds;
  memory: PolicyMemory;
}

export function policyContext(deps: ReconcilerDeps): PolicyContext {
  return {
    ...deps, kinds: kinds(deps.client),
    memory: { reports: new Map(), sourceSeries: new Map(), noAgentSince: new Map(), expected: new Expectations(), reported: new Set(), noLifecycle: new Map() },
  };
}

export function policyRef(p: Policy): ObjectRef {
  return { apiVersion: p.apiVersion, kind: 'BinlogArchivePolicy', namespace: p.metadata.namespace, name: p.metadata.name, uid: p.metadata.uid };
}

export function podRef(namespace: string, name: string, uid?: string): ObjectRef {
  return { apiVersion: 'v1', kind: 'Pod', namespace, name, uid };
}
