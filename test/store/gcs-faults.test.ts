/**
 * The GCS store through the fault-injecting proxy in front of fake-gcs-server: 503, 429, 500, reset
 * connections and a stall on the resumable upload's requests and on the read-back; the object is exact, every
 * fault costs one counted retry, and nothing is left. A session that keeps answering 308 without persisting
 * anything fails after a bounded number of attempts instead of looping.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { readAll } from '../../src/store/object-store.ts';
import { FaultProxy, gcsOperation, scripted } from '../support/fault-proxy.ts';
import { skipUnlessIn } from '../support/testenv.ts';
import { gcs, gcsNames, gcsPrefixOf, gcsTestStore, rawGcs } from './gcs-helpers.ts';
import { MiB, deterministicBody, sha256OfDeterministic } from './helpers.ts';

describe('GCS store under injected faults', { skip: skipUnlessIn('gcs') }, () => {
  let proxy: FaultProxy;
  let endpoint: string;
  before(async () => {
    proxy = new FaultProxy(gcs().endpoint, () => 'pass', gcsOperation);
    endpoint = await proxy.listen();
  });
  after(async () => {
    await proxy?.close();
  });

  const proxied = (name: string, maxAttempts = 8) => gcsTestStore({
    name, endpoint, resumableThreshold: MiB, chunkSize: 256 * 1024, requestTimeoutMs: 5000, // only the injected stall may reach it, on a loaded machine too
    retry: { baseDelayMs: 10, maxDelayMs: 200, maxAttempts },
  });

  it('completes a resumable upload and its read-back through 503, 429, 500, resets and a stall; each fault one counted retry', async (t) => {
    const store = proxied('faults');
    const size = MiB + 12_345; // 5 chunks of 256 KiB
    proxy.log.length = 0;
    proxy.schedule = scripted({
      'resumable.start': ['slowdown', 'too-many'],
      'resumable.chunk': ['too-many', 'reset', 'slowdown', 'stall', 'internal'],
      'objects.download': ['reset'],
    });
    const key = 'binlogs/src/0000000001-big.blarc';
    const res = await store.put(key, deterministicBody('gcs-faults', size), { resumable: true, resumeMeta: { run: 'a' } });
    assert.equal(res.size, size);
    assert.equal(res.sha256, sha256OfDeterministic('gcs-faults', size));
    assert.equal(createHash('sha256').update(await readAll(store, key)).digest('hex'), res.sha256);
    const injected = proxy.faults();
    t.diagnostic(`faults: ${injected.map((f) => `${f.operation}:${f.fault}`).join(', ')}; retries ${JSON.stringify(store.metrics.retries)}`);
    assert.equal(injected.length, 8);
    assert.equal(store.metrics.totalRetries(), injected.length, JSON.stringify(store.metrics.retries));
    proxy.schedule = () => 'pass';
    assert.deepEqual(await gcsNames(rawGcs(), `${gcsPrefixOf(store)}/.uploads/`), [], 'no upload state is left');
  });

  it('a session that answers 308 without persisting anything fails after maxAttempts (ESTOREUNAVAILABLE), not in a loop, and creates nothing', async () => {
    const store = proxied('stuck-308', 4);
    proxy.log.length = 0;
    proxy.schedule = ({ operation }) => (operation === 'resumable.chunk' ? 'resume-incomplete' : 'pass');
    const key = 'binlogs/src/0000000002-stuck.blarc';
    await assert.rejects(store.put(key, deterministicBody('gcs-308', 2 * MiB)), (err: unknown) => {
      assert.ok(err instanceof ArchiverError, String(err));
      assert.equal(err.code, 'ESTOREUNAVAILABLE', err.message);
      assert.match(err.message, /GCS answered 308 \(resume incomplete\) 4 times in a row without persisting more of .*stuck\.blarc \(it holds 0 of 262144 bytes\)/);
      return true;
    });
    assert.equal(proxy.log.filter((r) => r.operation === 'resumable.chunk').length, 4, 'four chunk requests met a 308 without progress, then it stopped');
    proxy.schedule = () => 'pass';
    assert.equal(await store.head(key), undefined);
  });
});
