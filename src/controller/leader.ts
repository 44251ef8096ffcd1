/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it:
 * - a candidate takes the Lease when it is free or when its holder has not renewed it for leaseDuration, measured
 *   on the candidate's own clock from when it last saw the record change (so clock skew between replicas does not
 *   matter); every write carries the resourceVersion read, so two candidates never both win;
 * - the leader renews every retryPeriod; when it has not renewed for renewDeadline (< leaseDuration) it stops
 *   acting, before anyone else can take the Lease;
 * - on shutdown the leader releases the Lease (empty holder, 1 s duration) so a standby takes over at once.
 */
import type { Logger } from '../logger.ts';
import { systemTimers, type Timers } from './clock.ts';
import { isAlreadyExists, isConflict, isNotFound, type KubeClient } from './kube/client.ts';
import { LEASES, collectionPath, objectPath } from './kube/resources.ts';
import { microTime } from './events.ts';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: Logger;
  timers?: Timers;
}

export interface LeaderCallbacks {
  /** This replica leads; `leading` aborts when it stops leading. */
  onStartedLeading(leading: AbortSignal): void;
  /** Awaited before the Lease is released, so no work overlaps the next leader's. */
  onStoppedLeading(): void | Promise<void>;
  onNewLeader?(identity: string): void;
}

export class LeaderElector {
  readonly #o: Required<Omit<LeaderElectionOptions, 'timers'>> & { timers: Timers };
  #observed: string | undefined;
  #observedAt = 0;
  #leading = false;
  #lastRenew = 0;
  #knownLeader = '';

  constructor(options: LeaderElectionOptions) {
    this.#o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, timers: systemTimers, ...options };
    if (this.#o.renewDeadlineMs >= this.#o.leaseDurationMs) throw new Error('leader election: renew deadline must be shorter than the lease duration');
    if (this.#o.retryPeriodMs >= this.#o.renewDeadlineMs) throw new Error('leader election: retry period must be shorter than the renew deadline');
  }

  isLeader(): boolean {
    return this.#leading;
  }

  get identity(): string {
    return this.#o.identity;
  }

  /**
   * Campaigns until elected, leads until the Lease is lost or `signal` aborts (then releases it), and returns:
   * 'lost' when leadership was lost (the caller should exit), 'stopped' when asked to stop.
   */
  async run(signal: AbortSignal, callbacks: LeaderCallbacks): Promise<'lost' | 'stopped'> {
    const { timers, logger } = this.#o;
    const log = logger.child({ lease: `${this.#o.namespace}/${this.#o.name}`, identity: this.#o.identity });
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew(log, callbacks)) break;
      await timers.sleep(this.#o.retryPeriodMs * (1 + Math.random() * 0.2), signal);
    }
    if (signal.aborted) return 'stopped';
    this.#leading = true;
    this.#lastRenew = timers.nowMs();
    log.log('info', 'Became leader');
    const leading = new AbortController();
    callbacks.onStartedLeading(leading.signal);
    let outcome: 'lost' | 'stopped' = 'stopped';
    while (!signal.aborted) {
      await timers.sleep(this.#o.retryPeriodMs, signal);
      if (signal.aborted) break;
      if (await this.#tryAcquireOrRenew(log, callbacks)) {
        this.#lastRenew = timers.nowMs();
        continue;
      }
      if (timers.nowMs() - this.#lastRenew >= this.#o.renewDeadlineMs) {
        log.log('error', 'Lost leadership: the Lease was not renewed within the renew deadline', { renewDeadlineMs: this.#o.renewDeadlineMs });
        outcome = 'lost';
        break;
      }
    }
    this.#leading = false;
    leading.abort();
    await callbacks.onStoppedLeading();
    if (outcome === 'stopped') await this.#release(log);
    return outcome;
  }

  async #get(): Promise<Lease | undefined> {
    try {
      return await this.#o.client.request<Lease>('GET', objectPath(LEASES, this.#o.namespace, this.#o.name), { timeoutMs: this.#o.retryPeriodMs * 2 });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async #tryAcquireOrRenew(log: Logger, callbacks: LeaderCallbacks): Promise<boolean> {
    const { client, identity, timers } = this.#o;
    const now = timers.nowMs();
    const durationSeconds = Math.ceil(this.#o.leaseDurationMs / 1000);
    try {
      const lease = await this.#get();
      if (lease === undefined) {
        const spec: LeaseSpec = { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 };
        await client.request('POST', collectionPath(LEASES, this.#o.namespace), {
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.#o.name, namespace: this.#o.namespace }, spec },
          timeoutMs: this.#o.retryPeriodMs * 2,
        });
        this.#observe(JSON.stringify(spec), now, identity, callbacks);
        return true;
      }
      const record = lease.spec ?? {};
      const holder = record.holderIdentity ?? '';
      this.#observe(JSON.stringify([holder, record.renewTime, record.leaseTransitions, record.leaseDurationSeconds]), now, holder, callbacks);
      const held = (record.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (holder !== '' && holder !== identity && this.#observedAt + held > now) return false;
      const mine = holder === identity;
      const spec: LeaseSpec = {
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: mine && record.acquireTime !== undefined ? record.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: mine ? (record.leaseTransitions ?? 0) : (record.leaseTransitions ?? 0) + 1,
      };
      await client.request('PUT', objectPath(LEASES, this.#o.namespace, this.#o.name), {
        body: { ...lease, spec }, timeoutMs: this.#o.retryPeriodMs * 2,
      });
      if (!mine) log.log('info', 'Acquired the Lease', { previousHolder: holder === '' ? null : holder, transitions: spec.leaseTransitions });
      this.#observe(JSON.stringify([identity, spec.renewTime, spec.leaseTransitions, spec.leaseDurationSeconds]), now, identity, callbacks);
      return true;
    } catch (err) {
      if (!isConflict(err) && !isAlreadyExists(err)) log.log('warn', 'Lease request failed', { error: (err as Error).message });
      return false;
    }
  }

  #observe(record: string, now: number, holder: string, callbacks: LeaderCallbacks): void {
    if (record !== this.#observed) {
      this.#observed = record;
      this.#observedAt = now;
    }
    if (holder !== this.#knownLeader) {
      this.#knownLeader = holder;
      if (holder !== '') callbacks.onNewLeader?.(holder);
    }
  }

  async #release(log: Logger): Promise<void> {
    try {
      const lease = await this.#get();
      if (lease?.spec?.holderIdentity !== this.#o.identity) return;
      const now = microTime(this.#o.timers.nowMs());
      await this.#o.client.request('PUT', objectPath(LEASES, this.#o.namespace, this.#o.name), {
        body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now } },
        timeoutMs: 5000,
      });
      log.log('info', 'Released the Lease');
    } catch (err) {
      log.log('warn', 'Could not release the Lease', { error: (err as Error).message });
    }
  }
}
