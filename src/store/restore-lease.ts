/**
 * Restore leases: `leases/<source>/<id>.json`, one per running restore of a source, with an expiry the restore
 * renews while it runs and deletes when it ends. `expire` deletes nothing of a source while an unexpired lease
 * is there, so a restore never loses a binlog it planned with. A crashed restore's lease simply expires.
 *
 * Ordering that makes it safe without locks: the restore writes its lease BEFORE it reads the manifest, and
 * expire writes the retained-range marker BEFORE it reads the leases. Either expire sees the lease (and deletes
 * nothing), or the restore reads the new marker (and plans only inside the retained range).
 *
 * The restore identity needs put and delete on `leases/` (S3: s3:PutObject, s3:DeleteObject, s3:GetObject on
 * <prefix>/leases/*; GCS: storage.objects.create, delete, get) besides reading the archive.
 */
import { randomBytes } from 'node:crypto';
import { type Check, integer, oneOf, record, text } from './json-check.ts';
import { assertSourceName } from './layout.ts';
import { type ObjectStore, once, readAll } from './object-store.ts';
import { isoInstant, parseStoreDocument } from './retained-range.ts';

export const LEASE_SCHEMA = 'binlog-archiver.dev/restore-lease/v1';
export const DEFAULT_LEASE_TTL_MS = 10 * 60_000;

export interface RestoreLease {
  schema: typeof LEASE_SCHEMA;
  source: string;
  id: string;
  /** Who holds it, for people: host and process, and what the restore is for. */
  holder: string;
  acquiredAt: string;
  expiresAt: string;
  /** Renewals so far. */
  renewals: number;
}

const LEASE_ID = /^lease-\d{8}T\d{6}-[0-9a-f]{8}$/;

const checkLease: Check<RestoreLease> = record({
  schema: oneOf([LEASE_SCHEMA]),
  source: text({ max: 128 }),
  id: text({ max: 64, pattern: LEASE_ID, shape: 'lease-<yyyymmddThhmmss>-<8 hex digits>' }),
  holder: text({ max: 512 }),
  acquiredAt: isoInstant,
  expiresAt: isoInstant,
  renewals: integer(),
});

export function leasePrefix(source: string): string {
  assertSourceName(source);
  return `leases/${source}/`;
}

function leaseKey(source: string, id: string): string {
  return `${leasePrefix(source)}${id}.json`;
}

/** Every lease object of a source, expired or not, validated: a malformed one is EFORMAT (expire then deletes nothing). */
export async function readLeases(store: ObjectStore, source: string): Promise<RestoreLease[]> {
  const leases: RestoreLease[] = [];
  for await (const info of store.list(leasePrefix(source))) {
    leases.push(parseStoreDocument(await readAll(store, info.key), store.describe(info.key), 'restore lease', checkLease, (doc, p) => {
      if (doc.source !== source) p.add('source', `is ${JSON.stringify(doc.source)}, but the lease is stored for source ${JSON.stringify(source)}`);
      if (info.key !== leaseKey(source, doc.id)) p.add('id', `is ${JSON.stringify(doc.id)}, but the lease is stored at ${JSON.stringify(info.key)}`);
      if (Date.parse(doc.expiresAt) < Date.parse(doc.acquiredAt)) p.add('expiresAt', 'is before acquiredAt');
    }));
  }
  return leases;
}

export interface LeaseOptions {
  ttlMs?: number;
  holder: string;
  clock?: () => Date;
  /** A renewal failed: the restore goes on (its bytes are verified anyway), but expire may no longer wait for it. */
  onRenewFailure?: (err: unknown) => void;
}

type ResolvedLeaseOptions = Required<Omit<LeaseOptions, 'onRenewFailure'>> & Pick<LeaseOptions, 'onRenewFailure'>;

/** A held lease: renewed every third of its time to live until released. */
export class HeldLease {
  readonly #store: ObjectStore;
  readonly #options: ResolvedLeaseOptions;
  #lease: RestoreLease;
  #timer: NodeJS.Timeout | undefined;

  constructor(store: ObjectStore, lease: RestoreLease, options: ResolvedLeaseOptions) {
    this.#store = store;
    this.#lease = lease;
    this.#options = options;
  }

  get lease(): RestoreLease {
    return this.#lease;
  }

  get key(): string {
    return leaseKey(this.#lease.source, this.#lease.id);
  }

  startRenewing(): void {
    this.#timer = setInterval(() => {
      this.renew().catch((err: unknown) => this.#options.onRenewFailure?.(err));
    }, Math.max(1000, Math.floor(this.#options.ttlMs / 3)));
    this.#timer.unref();
  }

  async renew(): Promise<void> {
    const now = this.#options.clock();
    this.#lease = { ...this.#lease, expiresAt: new Date(now.getTime() + this.#options.ttlMs).toISOString(), renewals: this.#lease.renewals + 1 };
    await this.#store.replace(this.key, Buffer.from(`${JSON.stringify(this.#lease, null, 2)}\n`));
  }

  async release(): Promise<void> {
    clearInterval(this.#timer);
    await this.#store.delete(this.key);
  }
}

function leaseId(now: Date): string {
  return `lease-${now.toISOString().slice(0, 19).replace(/[-:]/g, '')}-${randomBytes(4).toString('hex')}`;
}

export async function acquireLease(store: ObjectStore, source: string, options: LeaseOptions): Promise<HeldLease> {
  const clock = options.clock ?? (() => new Date());
  const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  const now = clock();
  const lease: RestoreLease = {
    schema: LEASE_SCHEMA, source, id: leaseId(now), holder: options.holder.slice(0, 512), acquiredAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + ttlMs).toISOString(), renewals: 0,
  };
  const held = new HeldLease(store, lease, { ttlMs, holder: options.holder, clock, ...(options.onRenewFailure === undefined ? {} : { onRenewFailure: options.onRenewFailure }) });
  await store.put(held.key, once(Buffer.from(`${JSON.stringify(lease, null, 2)}\n`)));
  return held;
}

/** Runs `fn` under a lease on `source`, renewed while it runs and released after, whether `fn` succeeds or not. */
export async function withLease<T>(store: ObjectStore, source: string, options: LeaseOptions, fn: () => Promise<T>): Promise<T> {
  const held = await acquireLease(store, source, options);
  held.startRenewing();
  try {
    return await fn();
  } finally {
    await held.release();
  }
}
