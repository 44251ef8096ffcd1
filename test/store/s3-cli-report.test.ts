/**
 * The archive CLI against S3 through the fault proxy: the retries its store made reach `--json` and the run
 * report (`--summary-file`, the operator's termination message, from which it counts store_retries_total), on
 * success and on failure; and a store serving two runs reports each run's own.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunReport, parseTerminationMessage } from '../../src/controller/run-report.ts';
import { KINGBUS, binlogDir, newKeyUrl, tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';
import { FaultProxy, scripted } from '../support/fault-proxy.ts';
import { skipUnlessIn } from '../support/testenv.ts';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { allKeys, credentialsEnv, rawClient, s3, storeUrlFor, testStore, uniquePrefix } from './helpers.ts';

describe('archive CLI: store retries in --json and the run report', { skip: skipUnlessIn('s3') }, () => {
  let proxy: FaultProxy;
  let endpoint: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    proxy = new FaultProxy(s3().endpoint);
    endpoint = await proxy.listen();
    env = { ...process.env, ...credentialsEnv() };
  });
  after(async () => {
    await proxy?.close();
  });

  it('a run that got through SlowDown and a reset reports both by reason', async (t) => {
    const work = tempDir('blarc-cli-retries-');
    const { dir } = binlogDir(KINGBUS);
    const prefix = uniquePrefix('cli-retries');
    const report = path.join(work, 'report.json');
    proxy.schedule = scripted({ PutObject: ['slowdown', 'pass', 'reset', 'slowdown'] });
    const res = await runCli(['archive', '--binlog-dir', dir, '--store', storeUrlFor(prefix, '', endpoint), '--key', newKeyUrl(work), '--source', 'db1', '--json', '--summary-file', report], env);
    assert.equal(res.code, 0, res.stderr);
    const summary = JSON.parse(res.stdout) as { archived: number; storeRequests: { requests: number; retries: Record<string, number> } };
    assert.equal(summary.archived, KINGBUS.length);
    assert.deepEqual(summary.storeRequests.retries, { SlowDown: 2, ECONNRESET: 1 });
    assert.ok(summary.storeRequests.requests > 3);
    const parsed = parseTerminationMessage(fs.readFileSync(report, 'utf8'));
    assert.equal(parsed?.ok, true);
    assert.deepEqual(parsed?.storeRetries, { SlowDown: 2, ECONNRESET: 1 });
    t.diagnostic(`--json storeRequests ${JSON.stringify(summary.storeRequests)}`);
  });

  it('a run that gave up reports its retries with the error, and nothing is archived', async () => {
    const work = tempDir('blarc-cli-giveup-');
    const { dir } = binlogDir(KINGBUS);
    const prefix = uniquePrefix('cli-giveup');
    const report = path.join(work, 'report.json');
    proxy.schedule = ({ operation }) => (operation === 'PutObject' ? 'slowdown' : 'pass');
    const res = await runCli(['archive', '--binlog-dir', dir, '--store', storeUrlFor(prefix, '&maxAttempts=3', endpoint), '--key', newKeyUrl(work), '--source', 'db1', '--summary-file', report], env);
    proxy.schedule = () => 'pass';
    assert.equal(res.code, 1);
    assert.match(res.stderr, /error ESTOREUNAVAILABLE: .*SlowDown/);
    const parsed = parseTerminationMessage(fs.readFileSync(report, 'utf8')) as RunReport;
    assert.equal(parsed.ok, false);
    assert.equal(parsed.error?.code, 'ESTOREUNAVAILABLE');
    assert.deepEqual(parsed.storeRetries, { SlowDown: 2 });
    assert.deepEqual((await allKeys(rawClient(), `${prefix}/`)).filter((k) => !k.includes('/.uploads/')), []);
  });
  it('a store that serves two runs reports each run\'s own requests and retries', async () => {
    const work = tempDir('blarc-two-runs-');
    const { dir } = binlogDir(KINGBUS);
    const keyUrl = newKeyUrl(work);
    const store = testStore({ name: 'two-runs', endpoint, retry: { baseDelayMs: 10, maxDelayMs: 50 } });
    try {
      proxy.schedule = scripted({ PutObject: ['slowdown'] });
      const first = await runArchive({ binlogDir: dir, store, keyUrl, source: 'db1' });
      assert.deepEqual(first.storeRequests?.retries, { SlowDown: 1 });
      const second = await runArchive({ binlogDir: dir, store, keyUrl, source: 'db1' });
      assert.equal(second.skipped, KINGBUS.length);
      assert.deepEqual(second.storeRequests?.retries, {});
      assert.ok((second.storeRequests?.requests ?? 0) > 0);
      assert.equal(store.requestStats().requests, (first.storeRequests?.requests ?? 0) + (second.storeRequests?.requests ?? 0));
    } finally {
      store.destroy();
    }
  });
});
