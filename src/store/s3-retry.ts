/**
 * Retries of S3 requests: exponential backoff with full jitter (delay uniform in [0, cap], cap doubling from
 * baseDelayMs up to maxDelayMs), bounded both in attempts and in elapsed time. The SDK's own retries are off,
 * so every attempt is counted here. Sleep, clock and randomness come from the Timing seam.
 */
import { ArchiverError } from '../errors.ts';
import { type Failure, type FailureContext, classify, storeFailure } from './s3-errors.ts';
import type { S3Metrics } from './s3-metrics.ts';
import type { RetryPolicy, S3StoreEvent, Timing } from './s3-options.ts';

export interface RetryDeps {
  bucket: string;
  endpoint: string | undefined;
  policy: RetryPolicy;
  timing: Timing;
  metrics: S3Metrics;
  onEvent: (event: S3StoreEvent) => void;
  /** Another service's classification and final errors (the GCS store); S3's when absent. */
  errors?: { classify(err: unknown): Failure; failure(err: unknown, failure: Failure, ctx: FailureContext): ArchiverError };
}

export interface RequestSpec {
  /** The S3 operation, for metrics: PutObject, UploadPart, ... */
  operation: string;
  /** Full key in the bucket (prefix included). */
  key: string;
  /** For messages: "uploading part 7 of s3://bucket/key". */
  what: string;
}

/** The upper bound of the delay before retry number `retry` (1-based). */
export function backoffCap(policy: RetryPolicy, retry: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
}

/** The attempts of one logical request: decides after each failure whether, and when, to try again. */
export class RetryBudget {
  readonly #deps: RetryDeps;
  readonly #spec: RequestSpec;
  readonly #started: number;
  #attempts = 0;
  #digestFailures = 0;

  constructor(deps: RetryDeps, spec: RequestSpec) {
    this.#deps = deps;
    this.#spec = spec;
    this.#started = deps.timing.now();
  }

  get attempts(): number {
    return this.#attempts;
  }

  /** Counts an attempt about to be sent. */
  begin(): void {
    this.#attempts += 1;
    this.#deps.metrics.attempt(this.#spec.operation);
  }

  /** After a failed attempt: resolves when it is time to try again, or throws the error the caller should see. */
  async afterFailure(err: unknown): Promise<void> {
    const { policy, timing, metrics } = this.#deps;
    if (err instanceof ArchiverError) {
      metrics.failure(err.code);
      throw err;
    }
    const failure = (this.#deps.errors?.classify ?? classify)(err);
    const elapsed = timing.now() - this.#started;
    const fail = (): never => {
      const final = (this.#deps.errors?.failure ?? storeFailure)(err, failure, {
        bucket: this.#deps.bucket, key: this.#spec.key, operation: this.#spec.operation, what: this.#spec.what,
        endpoint: this.#deps.endpoint, attempts: this.#attempts, elapsedMs: elapsed,
      });
      metrics.failure(final.code);
      throw final;
    };
    if (failure.kind === 'digest') {
      this.#digestFailures += 1;
      if (this.#digestFailures > policy.digestRetries) fail();
    } else if (failure.kind !== 'transient') {
      fail();
    }
    if (this.#attempts >= policy.maxAttempts) fail();
    const retry = this.#attempts;
    const capMs = backoffCap(policy, retry);
    const delayMs = Math.floor(timing.random() * capMs);
    if (elapsed + delayMs > policy.maxElapsedMs) fail();
    metrics.retry({ operation: this.#spec.operation, key: this.#spec.key, retry, capMs, delayMs, reason: failure.reason });
    this.#deps.onEvent({ type: 'retry', operation: this.#spec.operation, key: this.#spec.key, attempt: retry, delayMs, capMs, reason: failure.reason });
    await timing.sleep(delayMs);
  }
}

/** Runs `send` until it succeeds, a permanent error occurs, or the budget is spent. */
export async function withRetries<T>(deps: RetryDeps, spec: RequestSpec, send: () => Promise<T>): Promise<T> {
  const budget = new RetryBudget(deps, spec);
  for (;;) {
    budget.begin();
    try {
      return await send();
    } catch (err) {
      await budget.afterFailure(err);
    }
  }
}
