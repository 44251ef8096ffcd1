/**
 * One reconcile of one BinlogArchivePolicy, by state, never by event, in phases of one job each:
 * observe (policy-observe.ts) -> compute (policy-state.ts) -> write status (status-writer.ts, retrying on
 * conflict) -> report (policy-report.ts: events, metrics, each finished Job once) -> act (policy-act.ts: create
 * the archive Jobs that are due, at most one running per source pod, with deterministic names). Before them: the
 * finalizer (a deleted policy's running Jobs are stopped; archived data stays). Idempotent: running it twice on the
 * same state changes nothing the second time.
 */
import { randomUUID } from 'node:crypto';
import { applyDefaults } from '../api/defaults.ts';
import { policySpec } from '../api/policy-spec.ts';
import type { BinlogArchivePolicyStatus } from '../api/types.ts';
import type { Logger } from '../logger.ts';
import { storeUrl } from '../specs/urls.ts';
import type { Policy } from './kube/resources.ts';
import { splitKey } from './kube/resources.ts';
import { createDueJobs, Soonest, timeDrivenRequeue } from './policy-act.ts';
import { FINALIZER, type PolicyContext, type ReconcilerDeps, policyContext, policyRef } from './policy-context.ts';
import { computeStatus, jobsOf, observePolicy } from './policy-observe.ts';
import { actLifecycle, observeLifecycle, withLifecycle } from './policy-lifecycle.ts';
import { emitNotices, reportFinishedJobs, setPolicyMetrics } from './policy-report.ts';
import { writeStatus } from './status-writer.ts';

export { CONTROLLER_NAME, FINALIZER, SUMMARY_FILE, type ReconcileSettings, type ReconcilerDeps } from './policy-context.ts';
export { isJobPod, selectedPods } from './policy-observe.ts';

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export class Reconciler {
  readonly #ctx: PolicyContext;

  constructor(deps: ReconcilerDeps) {
    this.#ctx = policyContext(deps);
  }

  /** The phases' shared context (tests run phases one by one with it). */
  get context(): PolicyContext {
    return this.#ctx;
  }

  forgetJob(uid: string): void {
    this.#ctx.memory.reports.delete(uid);
  }

  async reconcile(key: string, leading: AbortSignal): Promise<ReconcileResult> {
    const ctx = this.#ctx;
    const { namespace, name } = splitKey(key);
    const log = ctx.logger.child({ policy: key, reconcileId: randomUUID().slice(0, 8) });
    let policy = ctx.policies.get(namespace, name);
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
    const obs = await observePolicy(ctx, policy, log);
    const lifecycle = await observeLifecycle(ctx, policy, obs.spec);
    if (leading.aborted) return {};
    const generation = obs.policy.metadata.generation ?? 0;
    const written = await writeStatus(ctx.kinds.policies, policy, (current) => {
      const c = computeStatus(ctx, obs, current);
      return { ...c, status: withLifecycle(c.status, obs.spec, lifecycle, current.status, { generation, clock: ctx.timers }) };
    }, log);
    if (written === undefined) return {};
    const { computed } = written;
    policy = written.object;
    emitNotices(ctx, obs, policy, written.previous as BinlogArchivePolicyStatus | undefined, computed);
    setPolicyMetrics(ctx, policy, computed);
    const reportLater = await reportFinishedJobs(ctx, policy, computed, log);
    const soon = new Soonest();
    if (!await createDueJobs(ctx, obs, policy, computed, leading, soon, log)) return {};
    if (reportLater) soon.add(2000);
    soon.add(await actLifecycle(ctx, policy, obs.spec, lifecycle, log));
    timeDrivenRequeue(ctx, obs, computed, soon);
    return soon.value === undefined ? {} : { requeueAfterMs: Math.max(1000, soon.value) };
  }

  async #setFinalizers(policy: Policy, finalizers: string[]): Promise<Policy | undefined> {
    // The resourceVersion makes it conditional: a concurrent change of the list is a conflict, not lost.
    return this.#ctx.kinds.policies.patch(policy.metadata.namespace, policy.metadata.name, { metadata: { finalizers, resourceVersion: policy.metadata.resourceVersion } });
  }

  /** A deleted policy: stop its running Jobs (archived data stays), then let it go. */
  async #finalize(policy: Policy, log: Logger): Promise<void> {
    const ctx = this.#ctx;
    if (!(policy.metadata.finalizers ?? []).includes(FINALIZER)) return;
    const running = jobsOf(ctx, policy).filter((j) => j.phase === 'Running');
    for (const j of running) {
      if (await ctx.kinds.jobs.delete(j.namespace, j.name, { propagationPolicy: 'Background' })) {
        log.log('info', 'Deleted running archive Job of a deleted policy', { job: j.name, correlationId: j.correlationId });
      }
    }
    const spec = applyDefaults(policySpec, policy.spec);
    ctx.events.emit({
      regarding: policyRef(policy), type: 'Normal', reason: 'Deleting', action: 'Finalize',
      note: `Stopped ${running.length} running archive Job${running.length === 1 ? '' : 's'}; archived binlogs are kept in ${storeUrl(spec.storage).split('?')[0] ?? ''}`,
    });
    await this.#setFinalizers(policy, (policy.metadata.finalizers ?? []).filter((f) => f !== FINALIZER));
    this.#forgetPolicy(`${policy.metadata.namespace}/${policy.metadata.name}`);
  }

  #forgetPolicy(key: string): void {
    const { namespace, name } = splitKey(key);
    for (const source of this.#ctx.memory.sourceSeries.get(key) ?? []) this.#ctx.metrics.forgetSource({ namespace, policy: name, source });
    this.#ctx.memory.sourceSeries.delete(key);
    this.#ctx.metrics.forgetPolicy(namespace, name);
  }
}
