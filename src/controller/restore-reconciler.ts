/**
 * One reconcile of one BinlogRestore, in phases: observe (its Jobs and their termination messages, the policy,
 * the claim, other restores on the same target) -> compute (restore-state.ts) -> write status -> report (events
 * and metrics on each transition, once: the status write is what makes a transition happen) -> act (create the
 * plan Job, then the restore Job, from the pure builders). The controller reads no Secret and holds no store or
 * key credentials: the Jobs do the reading, with what they mount. A Secret that does not exist shows in their
 * Pod: its status, or the kubelet's FailedMount events on it (listed, read only, while a Pod has not started).
 */
import { randomUUID } from 'node:crypto';
import { applyDefaults } from '../api/defaults.ts';
import { RESTORE_REASON } from '../api/restore-conditions.ts';
import { restoreSpec } from '../api/restore-spec.ts';
import type { BinlogRestoreStatus, ResolvedRestoreSpec } from '../api/types.ts';
import { newCorrelationId } from '../contracts/ids.ts';
import type { Logger } from '../logger.ts';
import type { ControllerMetrics } from '../metrics/metrics.ts';
import { SPEC_DEFAULTS } from '../specs/defaults.ts';
import { ANNOTATION } from '../specs/labels.ts';
import { buildPlanJob, buildRestoreJob, type RestoreStep } from '../specs/restore-job.ts';
import type { Timers } from './clock.ts';
import type { EventRecorder, ObjectRef } from './events.ts';
import { Expectations } from './expectations.ts';
import { terminatedContainer } from './job-result.ts';
import { jobPhase } from './jobs.ts';
import { isAlreadyExists, type KubeClient } from './kube/client.ts';
import type { Informer } from './kube/informer.ts';
import { type KubeEvent, type Kinds, kinds } from './kube/kinds.ts';
import { type Job, type Pod, type Policy, type Restore, splitKey } from './kube/resources.ts';
import { SUMMARY_FILE } from './policy-context.ts';
import { notStarted, secretWait } from './pod-wait.ts';
import { type RestoreDecision, type RestoreObservation, type RestoreWait, type StepJob, decideRestore, planNote, restoreStatus } from './restore-state.ts';
import { archivedTarget } from './restore-safety.ts';
import { writeStatus } from './status-writer.ts';

export const RESTORE_KEY_PREFIX = 'restore:';

export interface RestoreDeps {
  client: KubeClient;
  restores: Informer<Restore>;
  /** Jobs labelled component=restore. */
  jobs: Informer<Job>;
  policies: Informer<Policy>;
  /** Every pod of the watched namespaces (a server output's Service must not select an archived one). */
  pods: Informer<Pod>;
  jobPods(namespace: string, job: string): Pod[];
  events: EventRecorder;
  metrics: ControllerMetrics;
  logger: Logger;
  timers: Timers;
  image: string;
}

function time(t: string | Date | undefined): string | undefined {
  return t === undefined ? undefined : typeof t === 'string' ? t : t.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** What a restore writes to: two restores with the same target must not run at once. */
export function targetOf(spec: ResolvedRestoreSpec): string {
  return spec.output.server !== undefined ? `server ${spec.output.server.service}:${spec.output.server.port}` : `claim ${spec.output.volume?.claimName ?? ''}`;
}

function refOf(r: Restore): ObjectRef {
  return { apiVersion: r.apiVersion, kind: 'BinlogRestore', namespace: r.metadata.namespace, name: r.metadata.name, uid: r.metadata.uid };
}

function createdMs(r: Restore): number {
  return Date.parse(time(r.metadata.creationTimestamp) ?? '') || 0;
}

/** A restore that has a Job (even one whose Pod waits for a Secret, phase Pending) or is planning or restoring. */
function holdsTarget(r: Restore): boolean {
  return r.status?.phase === 'Planning' || r.status?.phase === 'Restoring' || r.status?.planJobName !== undefined;
}

export class RestoreReconciler {
  readonly #d: RestoreDeps;
  readonly #kinds: Kinds;
  readonly #expected = new Expectations();

  constructor(deps: RestoreDeps) {
    this.#d = deps;
    this.#kinds = kinds(deps.client);
  }

  async #stepJob(ns: string, job: Job, step: RestoreStep, log: Logger): Promise<StepJob> {
    const failed = job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
    const name = job.metadata?.name ?? '';
    const pods = this.#d.jobPods(ns, name);
    const phase = jobPhase(job);
    const waitingFor = phase === 'Running' ? await this.#podWait(ns, name, step, pods, log) : undefined;
    return {
      name, phase, pods: pods.length,
      startTime: time(job.status?.startTime), completionTime: time(job.status?.completionTime) ?? time(failed?.lastTransitionTime),
      message: phase === 'Running' ? undefined : terminatedContainer(pods, SPEC_DEFAULTS.restoreContainer)?.message,
      failure: failed === undefined ? undefined : `${failed.reason ?? 'Failed'}: ${failed.message ?? ''}`.trim(),
      ...(waitingFor === undefined ? {} : { waitingFor }),
      ...(pods.some(notStarted) ? { starting: true } : {}),
    };
  }

  /** The Secret a Pod of the Job waits for: from the Pods' status, else from the kubelet's events on them. */
  async #podWait(ns: string, job: string, step: RestoreStep, pods: Pod[], log: Logger): Promise<RestoreWait | undefined> {
    const waiting = pods.filter(notStarted);
    if (waiting.length === 0) return undefined;
    let found = secretWait(waiting, () => []);
    if (found === undefined) {
      const events = new Map<string, KubeEvent[]>();
      for (const pod of waiting) {
        const name = pod.metadata?.name ?? '';
        try {
          events.set(name, await this.#kinds.events.list(ns, undefined, `regarding.name=${name}`));
        } catch (err) {
          // Without the events (an RBAC from before this rule): the restore shows as planning or restoring.
          log.log('warn', 'Could not list the events of a restore Job Pod', { pod: name, error: (err as Error).message });
        }
      }
      found = secretWait(waiting, (p) => events.get(p.metadata?.name ?? '') ?? []);
    }
    if (found === undefined) return undefined;
    const what = found.key === undefined ? `Secret ${found.secret}` : `key ${found.key} of Secret ${found.secret}`;
    return {
      reason: RESTORE_REASON.SecretNotFound, what: `${what} in namespace ${ns}`,
      message: `waiting for ${what} in namespace ${ns}: the ${step} Job ${job} cannot start its Pod ${found.pod} (kubelet: ${found.report}); the kubelet retries by itself once it exists`,
      detail: `the ${step} Job ${job} could not start its Pod ${found.pod}; kubelet: ${found.report}`,
    };
  }

  /** The restore's own Jobs by step (controller reference with its uid). */
  #jobsOf(r: Restore): Partial<Record<RestoreStep, Job>> {
    const out: Partial<Record<RestoreStep, Job>> = {};
    for (const j of this.#d.jobs.list(r.metadata.namespace)) {
      if (j.metadata?.ownerReferences?.some((o) => o.controller === true && o.uid === r.metadata.uid) !== true) continue;
      const step = j.metadata?.annotations?.[ANNOTATION.step];
      if (step === 'plan' || step === 'restore') out[step] = j;
    }
    return out;
  }

  /** Why it must wait: a missing policy, claim or Service, a target an active policy archives, or an earlier restore on the same target. */
  async #waiting(r: Restore, spec: ResolvedRestoreSpec): Promise<RestoreWait | undefined> {
    const ns = r.metadata.namespace;
    const ref = spec.archive.policyRef;
    if (ref !== undefined && this.#d.policies.get(ns, ref.name) === undefined) {
      return { reason: RESTORE_REASON.PolicyNotFound, what: `BinlogArchivePolicy ${ref.name} in namespace ${ns}`, detail: 'spec.archive.policyRef names a policy of this namespace only', message: `waiting for BinlogArchivePolicy ${ref.name} in namespace ${ns} (spec.archive.policyRef names a policy of this namespace only)` };
    }
    const claim = spec.output.volume?.claimName;
    if (claim !== undefined && await this.#kinds.pvcs.get(ns, claim) === undefined) {
      return { reason: RESTORE_REASON.ClaimNotFound, what: `PersistentVolumeClaim ${claim} in namespace ${ns}`, message: `waiting for PersistentVolumeClaim ${claim} in namespace ${ns}` };
    }
    const server = spec.output.server;
    if (server !== undefined) {
      const service = await this.#kinds.services.get(ns, server.service);
      if (service === undefined) return { reason: RESTORE_REASON.ServiceNotFound, what: `Service ${server.service} in namespace ${ns}`, message: `waiting for Service ${server.service} in namespace ${ns}` };
      const archived = archivedTarget(service, this.#d.pods.list(ns), this.#d.policies.list(ns));
      if (archived !== undefined) {
        return { reason: RESTORE_REASON.TargetIsArchived, what: `BinlogArchivePolicy ${archived.policy} to be suspended`, detail: `Service ${server.service} selects pod ${archived.pod}, which it archives`, message: `Service ${server.service} selects pod ${archived.pod}, which BinlogArchivePolicy ${archived.policy} archives: replayed transactions would be archived as a new chain; set spec.suspend: true on the policy (or point the Service elsewhere) and the restore starts` };
      }
    }
    const target = targetOf(spec);
    const ahead = this.#d.restores.list(ns).filter((o) => o.metadata.uid !== r.metadata.uid
      && o.status?.phase !== 'Succeeded' && o.status?.phase !== 'Failed' && o.metadata.deletionTimestamp === undefined
      && targetOf(applyDefaults(restoreSpec, o.spec)) === target
      && (holdsTarget(o) || createdMs(o) < createdMs(r) || (createdMs(o) === createdMs(r) && o.metadata.name < r.metadata.name)));
    if (ahead.length > 0) return { reason: RESTORE_REASON.WaitingForActiveRestore, what: `BinlogRestore ${ahead.map((o) => o.metadata.name).join(', ')}`, message: `waiting for BinlogRestore ${ahead.map((o) => o.metadata.name).join(', ')} on the same target (${target}) to finish` };
    return undefined;
  }

  async reconcile(key: string, leading: AbortSignal): Promise<{ requeueAfterMs?: number }> {
    const { namespace, name } = splitKey(key.slice(RESTORE_KEY_PREFIX.length));
    const d = this.#d;
    const r = d.restores.get(namespace, name);
    if (r === undefined || r.metadata.deletionTimestamp !== undefined) return {};
    const log = d.logger.child({ restore: `${namespace}/${name}`, correlationId: r.status?.correlationId, reconcileId: randomUUID().slice(0, 8) });
    // Observe.
    const spec = applyDefaults(restoreSpec, r.spec);
    const jobs = this.#jobsOf(r);
    const terminal = r.status?.phase === 'Succeeded' || r.status?.phase === 'Failed';
    const obs: RestoreObservation = {
      spec, generation: r.metadata.generation ?? 0, previous: r.status,
      planJob: jobs.plan === undefined || terminal ? undefined : await this.#stepJob(namespace, jobs.plan, 'plan', log),
      runJob: jobs.restore === undefined || terminal ? undefined : await this.#stepJob(namespace, jobs.restore, 'restore', log),
      waiting: terminal || jobs.plan !== undefined ? undefined : await this.#waiting(r, spec),
    };
    // Compute.
    const decision = decideRestore(obs, d.timers.nowMs());
    // A Job created by the last reconcile and not yet in the cache: do not decide on a stale view.
    if (decision.create !== undefined && this.#expected.check(key, [jobs.plan, jobs.restore].flatMap((j) => j?.metadata?.name ?? []), d.timers.nowMs()).state === 'waiting') {
      return { requeueAfterMs: 1000 };
    }
    const correlationId = r.status?.correlationId ?? newCorrelationId();
    const built = decision.create === undefined ? undefined : this.#build(r, decision.create, correlationId, log);
    if (built === 'waiting') return { requeueAfterMs: 5000 };
    if (leading.aborted) return {};
    // Write status.
    const written = await writeStatus(this.#kinds.restores, r, (current) => ({
      status: restoreStatus({ ...obs, previous: current.status }, decision, {
        correlationId, clock: d.timers,
        planJobName: decision.create === 'plan' ? built?.metadata?.name : jobs.plan?.metadata?.name,
        jobName: decision.create === 'restore' ? built?.metadata?.name : jobs.restore?.metadata?.name,
      }),
    }), log);
    if (written === undefined) return {};
    // Report, then act.
    if (written.changed) this.#report(written.object, written.previous as BinlogRestoreStatus | undefined, decision, log);
    if (built !== undefined && decision.create !== undefined) {
      if (leading.aborted) return {};
      await this.#create(built, namespace, log);
      this.#expected.expect(key, built.metadata?.name ?? '', d.timers.nowMs());
    }
    // Terminal: no Job of it may still start (a Job whose Pod waited for a Secret when the wait timed out). Also on
    // later reconciles, in case the controller stopped between the status write and the delete.
    if (decision.stopJobs === true || terminal) await this.#stopUnfinished(Object.values(jobs), namespace, log);
    if (decision.awaitingMessage) return { requeueAfterMs: 2000 };
    if (decision.phase === 'Pending') return { requeueAfterMs: decision.recheckAfterMs ?? 5000 };
    // A Pod that has not started: the kubelet's events (a missing Secret) do not change the Pod, so look again.
    if (obs.planJob?.starting === true || obs.runJob?.starting === true) return { requeueAfterMs: 5000 };
    return {};
  }

  async #stopUnfinished(jobs: Job[], namespace: string, log: Logger): Promise<void> {
    for (const job of jobs) {
      if (jobPhase(job) !== 'Running' || job.metadata?.deletionTimestamp !== undefined) continue;
      const name = job.metadata?.name ?? '';
      // Background: the garbage collector deletes its Pods too (a Pod must not start once its Secret appears).
      if (await this.#kinds.jobs.delete(namespace, name, { propagationPolicy: 'Background' })) log.log('info', 'Deleted an unfinished Job of a finished restore', { job: name });
    }
  }

  /** The Job of `step`, or 'waiting' when the policy it needs is not in the cache (any more). */
  #build(r: Restore, step: RestoreStep, correlationId: string, log: Logger): Job | 'waiting' {
    const ref = r.spec.archive.policyRef;
    const policy = ref === undefined ? undefined : this.#d.policies.get(r.metadata.namespace, ref.name);
    if (ref !== undefined && policy === undefined) {
      log.log('info', 'The policy went away between observing and building; waiting', { policy: ref.name });
      return 'waiting';
    }
    const options = { image: this.#d.image, correlationId, summaryFile: SUMMARY_FILE, ...(policy === undefined ? {} : { policy }) };
    return step === 'plan' ? buildPlanJob(r, options) : buildRestoreJob(r, options);
  }

  async #create(job: Job, namespace: string, log: Logger): Promise<void> {
    try {
      await this.#kinds.jobs.create(job, namespace);
      log.log('info', 'Created restore Job', { job: job.metadata?.name, step: job.metadata?.annotations?.[ANNOTATION.step] });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      log.log('info', 'Restore Job already exists (created before a restart)', { job: job.metadata?.name });
    }
  }

  /** Events and metrics for the transition just written (previous phase -> decision's phase). */
  #report(r: Restore, previous: BinlogRestoreStatus | undefined, decision: RestoreDecision, log: Logger): void {
    const { events, metrics } = this.#d;
    const ns = r.metadata.namespace;
    const from = previous?.phase;
    if (from === decision.phase) return;
    const regarding = refOf(r);
    if (decision.plan !== undefined && decision.phase === 'Restoring') {
      events.emit({ regarding, type: 'Normal', reason: 'Planned', action: 'Plan', note: `Planned ${planNote(decision.plan)}` });
      events.emit({ regarding, type: 'Normal', reason: 'Started', action: 'Restore', note: `Started restore Job ${r.status?.jobName ?? ''} into ${targetOf(applyDefaults(restoreSpec, r.spec))}` });
    }
    if (decision.phase !== 'Succeeded' && decision.phase !== 'Failed') {
      log.log('info', 'Restore phase', { phase: decision.phase, message: decision.facts.message });
      return;
    }
    const reason = decision.facts.state === 'failed' ? decision.facts.reason : 'RestoreSucceeded';
    const started = Date.parse(r.status?.startTime ?? '');
    if (!Number.isNaN(started)) metrics.restoreDuration.observe({ namespace: ns, result: decision.phase }, Math.max(0, (this.#d.timers.nowMs() - started) / 1000));
    metrics.restores.inc({ namespace: ns, result: decision.phase, reason });
    if (decision.phase === 'Succeeded') {
      metrics.binlogsRestored.inc({ namespace: ns }, decision.result?.files ?? 0);
      metrics.bytesRestored.inc({ namespace: ns }, decision.result?.bytes ?? 0);
      events.emit({ regarding, type: 'Normal', reason: 'Succeeded', action: 'Restore', note: decision.facts.message });
    } else {
      events.emit({ regarding, type: 'Warning', reason: 'Failed', action: from === 'Restoring' ? 'Restore' : 'Plan', note: `${reason}: ${decision.facts.message}` });
    }
    log.log(decision.phase === 'Failed' ? 'warn' : 'info', `Restore ${decision.phase}`, { reason, message: decision.facts.message });
  }
}
