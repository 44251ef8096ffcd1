/**
 * Each condition a person must see, reached the way it happens in production, with its Event and its metric:
 * - a binlog purged before it was archived (skipped sequence number) -> BinlogGapDetected;
 * - an expire horizon close to the oldest unarchived binlog (its Job held back) -> AtRiskOfPurge, and back;
 * - the AWS KMS endpoint becoming unreachable -> KeyProviderUnavailable, and back once it answers again (the KMS
 *   variant of the loop: objects encrypted under a data key from moto's KMS).
 * One MariaDB; each scenario has its own policy and pod (own source in the store) and deletes its policy at the end.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { allocatePort } from '../../testenv/ports.ts';
import { kubectl, ok } from '../api/kubectl.ts';
import { FaultProxy, scripted } from '../support/fault-proxy.ts';
import { FakeKubelet } from '../support/kubelet.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';
import {
  ControllerProcess, type Mariadb, applyPolicy, awsCredentialsFile, conditionOf, createSecrets, deletePrefix, getPolicy, listEvents, listJobs, listKeys,
  metricValue, readJson, setupNamespace, startMariadb, teardownNamespace, tempDir, waitFor,
} from './helpers.ts';

const skip = skipUnlessIn('kube') || skipUnlessIn('s3') || skipUnlessIn('mysql') || skipUnlessIn('kms');

/** A TCP forwarder to moto's KMS that can be switched off (connections refused) and on again. */
class Switch {
  readonly port: number;
  #server: net.Server | undefined;
  readonly #target: URL;
  readonly #sockets = new Set<net.Socket>();

  private constructor(port: number, target: URL) {
    this.port = port;
    this.#target = target;
  }

  static async start(target: string): Promise<Switch> {
    // Below the ephemeral range: while the switch is off, a client socket of a concurrent test cannot take it.
    const s = new Switch(await allocatePort('switch'), new URL(target));
    await s.on();
    return s;
  }

  async on(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(this.#target.port), this.#target.hostname);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.#server = server;
  }

  async off(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('controller: conditions, events and metrics for gaps, purge risk, an unreachable KMS and a throttling S3', { skip, timeout: 420_000 }, () => {
  let ns: string;
  let db: Mariadb;
  let kubelet: FakeKubelet;
  let controller: ControllerProcess;
  let kms: Switch;
  let s3Proxy: FaultProxy;
  let s3ProxyEndpoint: string;
  const dir = tempDir();
  const prefix = `ctl-cond-${Date.now().toString(36)}`;
  const held = new Set<string>();

  const state = (policy: string) => async () => {
    const p = await getPolicy(ns, policy).catch(() => undefined);
    return `status ${JSON.stringify(p?.status)}\njobs ${JSON.stringify(await listJobs(ns).catch(() => []))}\nkubelet errors ${kubelet.errors.join('; ')}\ncontroller:\n${controller.logTail(25)}\nkubelet logs:\n${kubelet.logs(1200)}`;
  };

  async function reason(policy: string, type: string, expected: string, timeoutMs = 60_000) {
    return waitFor(`${policy}: ${type} reason ${expected}`, async () => {
      const p = await getPolicy(ns, policy);
      return conditionOf(p, type)?.reason === expected ? p : undefined;
    }, timeoutMs, state(policy));
  }

  async function archivedUpTo(policy: string, pod: string, binlog: string) {
    return waitFor(`${policy}: last archived ${pod}/${binlog}`, async () => {
      const p = await getPolicy(ns, policy);
      return p.status?.lastArchivedBinlog === `${pod}/${binlog}` && p.status.sources?.[0]?.pendingBinlogs === 0 ? p : undefined;
    }, 90_000, state(policy));
  }

  async function removePolicy(policy: string) {
    await ok(['delete', 'bap', policy, '-n', ns, '--wait=true', '--timeout=30s']);
  }

  before(async () => {
    const { kubeconfig } = need('kube');
    ns = await setupNamespace('blctl-cond');
    const creds = awsCredentialsFile(dir);
    await createSecrets(ns, creds.text);
    db = await startMariadb('ctl-cond');
    kms = await Switch.start(need('kms').endpoint);
    s3Proxy = new FaultProxy(need('s3').endpoint);
    s3ProxyEndpoint = await s3Proxy.listen();
    kubelet = new FakeKubelet({
      kubeconfig, namespace: ns,
      hold: (job) => held.has(job.metadata?.annotations?.['binlog.archiver.dev/source-pod'] ?? ''),
    }).start();
    controller = await ControllerProcess.start({
      namespace: ns, env: creds.env,
      args: ['--read-store', '--store-check-interval', '3s', '--status-refresh', '3s', '--agent-wait-seconds', '10', '--failure-backoff', '2s'],
    });
  });

  after(async () => {
    if (ns !== undefined) await teardownNamespace(ns);
    await controller?.kill('SIGTERM');
    await kubelet?.stop();
    await kms?.off();
    await s3Proxy?.close();
    await db?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    await deletePrefix(prefix);
  });

  it('a binlog purged before it was archived: BinlogGapDetected, an Event and the gap metric', async () => {
    const policy = 'gappy';
    await applyPolicy(ns, { name: policy, app: 'gappy', prefix });
    await kubelet.addMysqlPod({ name: 'mysql-g', labels: { app: 'gappy' }, binlogDir: db.binlogDir });
    const first = await db.writeAndRotate();
    await archivedUpTo(policy, 'mysql-g', first);
    // Archiving stops; the server rotates twice and purges the first of those before it was archived.
    await ok(['patch', 'bap', policy, '-n', ns, '--type=merge', '-p', '{"spec":{"suspend":true}}']);
    await reason(policy, 'Ready', 'Suspended');
    const lost = await db.writeAndRotate();
    const kept = await db.writeAndRotate();
    await db.sql(`PURGE BINARY LOGS TO '${kept}'`);
    assert.deepEqual((await db.closedBinlogs())[0], kept, `${lost} is gone from the server`);
    await ok(['patch', 'bap', policy, '-n', ns, '--type=merge', '-p', '{"spec":{"suspend":false}}']);
    const p = await reason(policy, 'Ready', 'BinlogGapDetected', 90_000);
    assert.equal(p.status?.lastArchivedBinlog, `mysql-g/${kept}`, 'what could be archived was');
    assert.equal(p.status?.sources?.[0]?.gaps, 1);
    assert.equal(conditionOf(p, 'ContinuousArchiving')?.reason, 'BinlogGapDetected');
    assert.match(conditionOf(p, 'Ready')?.message ?? '', /gaps in the archived binlog chain of .*-mysql-g \(1\): a restore across a gap misses transactions/);
    const event = await waitFor('the BinlogGapDetected event', async () => (await listEvents(ns, policy)).find((e) => e.reason === 'BinlogGapDetected'), 20_000);
    assert.equal(event.type, 'Warning');
    assert.match(event.note, new RegExp(`Binlog gap in the archive of ${ns}/mysql-g: 1 binlog between ${first.replace('.', '\\.')} and ${kept.replace('.', '\\.')} \\(sequence \\d+\\) never archived`));
    const text = await controller.metrics();
    assert.equal(metricValue(text, 'binlog_archiver_binlog_gaps', { source: `${ns}-mysql-g` }), 1);
    assert.equal(metricValue(text, 'binlog_archiver_gaps_detected_total', { source: `${ns}-mysql-g` }), 1);
    assert.equal(metricValue(text, 'binlog_archiver_condition', { policy, type: 'ContinuousArchiving', status: 'False', reason: 'BinlogGapDetected' }), 1);
    await removePolicy(policy);
  });

  it('an expire horizon close to the oldest unarchived binlog: AtRiskOfPurge with an Event and seconds_until_purge; back once archived', async () => {
    const policy = 'risky';
    held.add('mysql-r');
    // binlog_expire_logs_seconds 900 against a threshold of 3600: any pending binlog is at risk.
    await applyPolicy(ns, { name: policy, app: 'risky', prefix, purgeRisk: { expireLogsSeconds: 900, thresholdSeconds: 3600 } });
    await kubelet.addMysqlPod({ name: 'mysql-r', labels: { app: 'risky' }, binlogDir: db.binlogDir });
    const pending = await db.writeAndRotate();
    const p = await reason(policy, 'ContinuousArchiving', 'AtRiskOfPurge');
    const c = conditionOf(p, 'ContinuousArchiving');
    assert.equal(c?.status, 'False');
    const s = p.status?.sources?.[0];
    assert.ok(s !== undefined && (s.pendingBinlogs ?? 0) >= 1, JSON.stringify(s));
    assert.ok(s.secondsUntilPurge !== undefined && s.secondsUntilPurge <= 900 && s.secondsUntilPurge > 600, `secondsUntilPurge ${s.secondsUntilPurge}`);
    assert.match(c?.message ?? '', new RegExp(`the oldest unarchived binlog of ${ns}-mysql-r may be purged in \\d+s \\(threshold 3600s\\)`));
    assert.equal(p.status?.expireLogsSeconds, 900);
    const event = await waitFor('the AtRiskOfPurge event', async () => (await listEvents(ns, policy)).find((e) => e.reason === 'AtRiskOfPurge'), 20_000);
    assert.equal(event.type, 'Warning');
    assert.match(event.note, new RegExp(`^The oldest unarchived binlog of ${ns}/mysql-r \\(mysql-bin\\.\\d+\\) may be purged in \\d+s \\(binlog_expire_logs_seconds 900, threshold 3600s\\)$`));
    const text = await controller.metrics();
    const left = metricValue(text, 'binlog_archiver_seconds_until_purge', { source: `${ns}-mysql-r` });
    assert.ok(left !== undefined && left <= 900 && left > 600, `metric ${left}`);
    assert.equal(metricValue(text, 'binlog_archiver_condition', { policy, type: 'ContinuousArchiving', reason: 'AtRiskOfPurge' }), 1);
    assert.ok((metricValue(text, 'binlog_archiver_pending_binlogs', { source: `${ns}-mysql-r` }) ?? 0) >= 1);
    // The held Job runs: nothing is pending any more, the risk is gone.
    held.delete('mysql-r');
    const done = await archivedUpTo(policy, 'mysql-r', pending);
    await reason(policy, 'ContinuousArchiving', 'ArchivingSucceeded');
    assert.equal(done.status?.sources?.[0]?.secondsUntilPurge, undefined);
    assert.equal(metricValue(await controller.metrics(), 'binlog_archiver_seconds_until_purge', { source: `${ns}-mysql-r` }), undefined);
    await removePolicy(policy);
  });

  it('AWS KMS: archives under a KMS data key; an unreachable KMS gives KeyProviderUnavailable with an Event and a metric, then recovers', async () => {
    const policy = 'kms';
    const k = need('kms');
    await applyPolicy(ns, {
      name: policy, app: 'kms', prefix,
      keyProvider: { awsKms: { keyId: k.keyAlias, region: k.region, endpoint: `http://127.0.0.1:${kms.port}` } },
    });
    await kubelet.addMysqlPod({ name: 'mysql-k', labels: { app: 'kms' }, binlogDir: db.binlogDir });
    const first = await db.writeAndRotate();
    await archivedUpTo(policy, 'mysql-k', first);
    const keys = await listKeys(prefix);
    const entry = keys.find((key) => key.startsWith(`manifest/${ns}-mysql-k/`) && key.endsWith(`${first}.json`));
    assert.ok(entry !== undefined, keys.join(', '));
    const manifest = await readJson<{ key: { provider: string; keyId: string; wrappedDek: string | null; context: Record<string, string> } }>(prefix, entry);
    assert.equal(manifest.key.provider, 'awskms', 'the data key came from KMS');
    assert.ok((manifest.key.wrappedDek ?? '').length > 0);

    await kms.off();
    const second = await db.writeAndRotate();
    const p = await reason(policy, 'Ready', 'KeyProviderUnavailable', 90_000);
    assert.equal(conditionOf(p, 'Ready')?.status, 'False');
    assert.match(conditionOf(p, 'Ready')?.message ?? '', /key provider is unavailable: .*-mysql-k: EKEYUNAVAILABLE: /);
    assert.equal(conditionOf(p, 'ContinuousArchiving')?.reason, 'KeyProviderUnavailable');
    assert.equal(p.status?.recentRuns?.[0]?.result, 'Failed');
    const events = await waitFor('KeyProviderUnavailable and ArchiveFailed events', async () => {
      const e = await listEvents(ns, policy);
      return e.some((x) => x.reason === 'KeyProviderUnavailable') && e.some((x) => x.reason === 'ArchiveFailed') ? e : undefined;
    }, 20_000);
    assert.match(events.find((e) => e.reason === 'ArchiveFailed')?.note ?? '', new RegExp(`^Archive Job .* of ${ns}/mysql-k failed: EKEYUNAVAILABLE: `));
    const text = await controller.metrics();
    assert.ok((metricValue(text, 'binlog_archiver_archive_failures_total', { policy, reason: 'EKEYUNAVAILABLE' }) ?? 0) >= 1);
    assert.equal(metricValue(text, 'binlog_archiver_dependency_up', { policy, dependency: 'keyProvider' }), 0);
    assert.equal(metricValue(text, 'binlog_archiver_condition', { policy, type: 'Ready', status: 'False', reason: 'KeyProviderUnavailable' }), 1);

    // KMS answers again: the retry (a new Job name, after the backoff) archives what was pending.
    await kms.on();
    const back = await archivedUpTo(policy, 'mysql-k', second);
    await reason(policy, 'Ready', 'ArchivingSucceeded');
    assert.equal(metricValue(await controller.metrics(), 'binlog_archiver_dependency_up', { policy, dependency: 'keyProvider' }), 1);
    const jobs = (await listJobs(ns)).filter((j) => j.pod === 'mysql-k');
    assert.ok(jobs.some((j) => j.done === 'Failed') && jobs.some((j) => j.trigger.includes('~') && j.done === 'Complete'), JSON.stringify(jobs));
    assert.ok((await listEvents(ns, policy)).some((e) => e.reason === 'ArchivingRecovered'));
    assert.equal(back.status?.sources?.[0]?.gaps, 0);
    await removePolicy(policy);
    assert.notEqual((await kubectl(['get', 'bap', policy, '-n', ns])).code, 0);
  });
  it('an S3 answering SlowDown: the Job retries, succeeds, and store_retries_total counts the retries from its run report', async () => {
    const policy = 'slow-s3';
    s3Proxy.log.length = 0;
    s3Proxy.schedule = scripted({ PutObject: ['slowdown', 'slowdown'] });
    await applyPolicy(ns, { name: policy, app: 'slow-s3', prefix, storageEndpoint: s3ProxyEndpoint });
    await kubelet.addMysqlPod({ name: 'mysql-s', labels: { app: 'slow-s3' }, binlogDir: db.binlogDir });
    const first = await db.writeAndRotate();
    await archivedUpTo(policy, 'mysql-s', first);
    assert.equal(s3Proxy.log.filter((r) => r.fault === 'slowdown').length, 2);
    const retried = await waitFor('store_retries_total{reason=SlowDown}', async () => {
      const n = metricValue(await controller.metrics(), 'binlog_archiver_store_retries_total', { policy, reason: 'SlowDown' });
      return n !== undefined && n > 0 ? n : undefined;
    }, 20_000, state(policy));
    assert.equal(retried, 2);
    await removePolicy(policy);
  });
});
