/**
 * A small bounded retry for key-provider calls: only errors classified retryable (EKEYUNAVAILABLE) are
 * tried again, a few times with capped, jittered backoff, so a briefly unreachable KMS or a Vault standby
 * switch does not fail an archive run, while a dead endpoint fails within seconds, not minutes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ArchiverError, isRetryable } from '../errors.ts';

export interface RetryPolicy {
  /** Total tries, including the first. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ attempts: 3, baseDelayMs: 200, maxDelayMs: 2000 });

export async function withRetry<T>(policy: RetryPolicy, operation: (attempt: number) => Promise<T>): Promise<T> {
  const attempts = Math.max(1, Math.floor(policy.attempts));
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation(attempt);
    } catch (err) {
      if (!isRetryable(err)) throw err;
      if (attempt >= attempts) {
        const e = err as ArchiverError;
        throw new ArchiverError(e.code, attempts === 1 ? e.message : `${e.message} (${attempts} attempts)`, {
          cause: e, context: { ...e.context, attempts }, ...(e.hint === undefined ? {} : { hint: e.hint }),
        });
      }
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await sleep(ceiling / 2 + Math.random() * (ceiling / 2));
    }
  }
}
