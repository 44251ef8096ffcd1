/** Retry policy and error classification of the S3 store, through the clock/sleep/random seam (no server). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArchiverError, isRetryable } from '../../src/errors.ts';
import { classify } from '../../src/store/s3-errors.ts';
import { S3Metrics } from '../../src/store/s3-metrics.ts';
import { type RetryPolicy, S3_DEFAULTS } from '../../src/store/s3-options.ts';
import { type RetryDeps, backoffCap, withRetries } from '../../src/store/s3-retry.ts';

function sdkError(name: string, status?: number, code?: string): Error {
  return Object.assign(new Error(`${name} from the test`), { name, ...(code === undefined ? {} : { code }), $metadata: { httpStatusCode: status, requestId: 'req-1' } });
}

function fakeDeps(policy: Partial<RetryPolicy>, randoms: number[]): RetryDeps & { slept: number[]; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  const slept: number[] = [];
  let i = 0;
  return {
    bucket: 'bkt', endpoint: 'http://127.0.0.1:1', policy: { ...S3_DEFAULTS.retry, ...policy }, metrics: new S3Metrics(), onEvent: () => undefined,
    timing: {
      now: () => clock.now,
      sleep: (ms) => {
        slept.push(ms);
        clock.now += ms;
        return Promise.resolve();
      },
      random: () => randoms[i++ % randoms.length] ?? 0.5,
    },
    slept, clock,
  };
}

const spec = { operation: 'UploadPart', key: 'p/binlogs/x', what: 'uploading part 7 of s3://bkt/p/binlogs/x' };

describe('S3 retries', () => {
  it('caps double from baseDelayMs up to maxDelayMs', () => {
    const policy = { ...S3_DEFAULTS.retry, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffCap(policy, n)), [100, 200, 400, 800, 1000, 1000]);
  });

  it('sleeps a uniformly jittered fraction of the cap before each retry, and succeeds when the fault passes', async () => {
    const deps = fakeDeps({ baseDelayMs: 100, maxDelayMs: 1000, maxAttempts: 8 }, [0.5, 0.25, 0.9, 0.1]);
    let calls = 0;
    const result = await withRetries(deps, spec, () => {
      calls += 1;
      if (calls <= 4) return Promise.reject(sdkError(['SlowDown', 'InternalError', 'TimeoutError', 'Error'][calls - 1] ?? 'x', calls === 4 ? undefined : 503, calls === 4 ? 'ECONNRESET' : undefined));
      return Promise.resolve('ok');
    });
    assert.equal(result, 'ok');
    assert.deepEqual(deps.slept, [50, 50, 360, 80]);
    assert.deepEqual(deps.metrics.backoffs.map((b) => [b.retry, b.capMs, b.delayMs, b.reason]), [
      [1, 100, 50, 'SlowDown'], [2, 200, 50, 'InternalError'], [3, 400, 360, 'timeout'], [4, 800, 80, 'ECONNRESET'],
    ]);
    assert.deepEqual(deps.metrics.attempts, { UploadPart: 5 });
    assert.deepEqual(deps.metrics.retries, { SlowDown: 1, InternalError: 1, timeout: 1, ECONNRESET: 1 });
  });

  it('gives up after maxAttempts with ESTOREUNAVAILABLE naming bucket, key, operation and cause', async () => {
    const deps = fakeDeps({ baseDelayMs: 10, maxDelayMs: 100, maxAttempts: 4 }, [1]);
    await assert.rejects(withRetries(deps, spec, () => Promise.reject(sdkError('SlowDown', 503))), (err: unknown) => {
      assert.ok(err instanceof ArchiverError);
      assert.equal(err.code, 'ESTOREUNAVAILABLE');
      assert.ok(isRetryable(err));
      assert.match(err.message, /S3 UploadPart kept failing: SlowDown \(HTTP 503\) after 4 attempts/);
      assert.match(err.message, /while uploading part 7 of s3:\/\/bkt\/p\/binlogs\/x/);
      assert.deepEqual({ ...err.context }, { bucket: 'bkt', key: 'p/binlogs/x', operation: 'UploadPart', reason: 'SlowDown', status: 503, requestId: 'req-1', attempts: 4 });
      return true;
    });
    assert.deepEqual(deps.slept, [10, 20, 40]);
    assert.deepEqual(deps.metrics.failures, { ESTOREUNAVAILABLE: 1 });
  });

  it('gives up when the next backoff would pass maxElapsedMs, however many attempts are left', async () => {
    const deps = fakeDeps({ baseDelayMs: 1000, maxDelayMs: 4000, maxAttempts: 50, maxElapsedMs: 6000 }, [1]);
    await assert.rejects(withRetries(deps, spec, () => Promise.reject(sdkError('ServiceUnavailable', 503))), { code: 'ESTOREUNAVAILABLE' });
    // 1000 + 2000 = 3000 ms slept; the next delay (4000) would end at 7000 > 6000.
    assert.deepEqual(deps.slept, [1000, 2000]);
    assert.equal(deps.metrics.attempts.UploadPart, 3);
  });

  it('fails fast on permanent errors: no retry, no sleep', async () => {
    for (const [name, status, reason, hint] of [
      ['AccessDenied', 403, 'AccessDenied', /default chain/], ['NoSuchBucket', 404, 'NoSuchBucket', /bucket bkt does not exist at http:\/\/127\.0\.0\.1:1/],
      ['Unknown', 403, 'AccessDenied', /credentials/], ['InvalidArgument', 400, 'InvalidArgument', undefined],
    ] as const) {
      const deps = fakeDeps({}, [0.5]);
      await assert.rejects(withRetries(deps, spec, () => Promise.reject(sdkError(name, status))), (err: unknown) => {
        assert.ok(err instanceof ArchiverError);
        assert.equal(err.code, 'ESTORE', name);
        assert.match(err.message, new RegExp(`S3 UploadPart failed: ${reason} \\(HTTP ${status}\\)`));
        if (hint !== undefined) assert.match(err.hint ?? '', hint);
        assert.equal(isRetryable(err), false);
        return true;
      });
      assert.deepEqual(deps.slept, [], name);
    }
  });

  it('retries BadDigest digestRetries times, then it is permanent', async () => {
    const deps = fakeDeps({ digestRetries: 1 }, [0.5]);
    await assert.rejects(withRetries(deps, spec, () => Promise.reject(sdkError('BadDigest', 400))), (err: unknown) => {
      assert.ok(err instanceof ArchiverError);
      assert.equal(err.code, 'ESTORE');
      assert.match(err.message, /rejected the body 2 times: BadDigest/);
      return true;
    });
    assert.equal(deps.slept.length, 1);
  });

  it('classifies what S3 and the network throw', () => {
    const table: [unknown, string, string][] = [
      [sdkError('SlowDown', 503), 'transient', 'SlowDown'],
      [sdkError('Unknown', 503), 'transient', 'HTTP 503'],
      [sdkError('Throttling', 400), 'transient', 'Throttling'],
      [sdkError('TimeoutError'), 'transient', 'timeout'],
      [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'transient', 'ECONNRESET'],
      [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'transient', 'ECONNREFUSED'],
      [sdkError('PreconditionFailed', 412), 'conflict', 'PreconditionFailed'],
      [sdkError('NoSuchKey', 404), 'notfound', 'NoSuchKey'],
      [sdkError('NotFound', 404), 'notfound', 'NotFound'],
      [sdkError('NoSuchBucket', 404), 'permanent', 'NoSuchBucket'],
      [sdkError('NoSuchUpload', 404), 'permanent', 'NoSuchUpload'],
      [sdkError('BadDigest', 400), 'digest', 'BadDigest'],
      [sdkError('SignatureDoesNotMatch', 403), 'permanent', 'SignatureDoesNotMatch'],
    ];
    for (const [err, kind, reason] of table) {
      const got = classify(err);
      assert.deepEqual([got.kind, got.reason], [kind, reason], (err as Error).message);
    }
  });
});
