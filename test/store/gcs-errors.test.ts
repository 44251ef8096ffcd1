/** How GCS failures are classified (src/store/gcs-errors.ts), for the shapes our fetches and the client library throw. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GcsHttpError, classifyGcs } from '../../src/store/gcs-errors.ts';

describe('classifyGcs', () => {
  it('a timed-out or aborted fetch is a transient timeout, not "HTTP 23" (a DOMException\'s legacy code)', () => {
    // What fetch rejects with when its AbortSignal.timeout fires.
    const timedOut = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    assert.equal(timedOut.code, 23);
    assert.deepEqual(classifyGcs(timedOut), { kind: 'transient', reason: 'timeout', status: undefined, requestId: undefined });
    assert.equal(classifyGcs(new DOMException('aborted', 'AbortError')).kind, 'transient');
  });

  it('HTTP statuses as Google documents them: 408, 429 and 5xx retried; 412 conflict; 404 not found; other 4xx permanent', () => {
    const kind = (status: number, reason = '') => classifyGcs(new GcsHttpError(status, reason, `HTTP ${status}`)).kind;
    assert.deepEqual([408, 429, 500, 503].map((s) => kind(s)), ['transient', 'transient', 'transient', 'transient']);
    assert.deepEqual([kind(412), kind(404), kind(403), kind(400)], ['conflict', 'notfound', 'permanent', 'permanent']);
    assert.equal(classifyGcs(Object.assign(new Error('x'), { code: 403, errors: [{ reason: 'rateLimitExceeded' }] })).kind, 'transient');
  });
});
