/**
 * Retention on S3 (the test environment's VersityGW): expire through the CLI with credentials from the SDK's
 * default chain, restore inside and before the window, an interrupted run, and an object under Object Lock
 * retention kept and reported until its date.
 */
import { CreateBucketCommand, HeadObjectCommand, PutObjectRetentionCommand, type S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { type ExpireSummary, runExpire } from '../../src/lifecycle/expire-run.ts';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { runRestore } from '../../src/restore/restore-run.ts';
import { runVerify } from '../../src/restore/verify-run.ts';
import { type ManifestEntry, readEntries } from '../../src/store/manifest.ts';
import { S3Store } from '../../src/store/s3-store.ts';
import { newKeyUrl, tempDir } from '../support/archive.ts';
import { type BinlogSeries, makeBinlogSeries } from '../support/binlog-series.ts';
import { runCli } from '../support/cli.ts';
import { skipUnlessIn } from '../support/testenv.ts';
import { credentialsEnv, prefixOf, rawClient, s3, storeUrlFor, testStore } from '../store/helpers.ts';

const SOURCE = 'series';

describe('expire on S3 (VersityGW)', { skip: skipUnlessIn('s3') || skipUnlessIn('mysql') }, () => {
  let series: BinlogSeries;
  let client: S3Client;
  const stores: S3Store[] = [];
  before(async () => {
    series = await makeBinlogSeries(4);
    client = rawClient();
  }, { timeout: 120_000 });
  after(() => {
    for (const s of stores) s.destroy();
    client?.destroy();
  });

  async function archive(store: S3Store): Promise<{ key: string; work: string; entries: ManifestEntry[] }> {
    stores.push(store);
    const work = tempDir('blarc-expire-s3-');
    const key = newKeyUrl(work);
    assert.equal((await runArchive({ binlogDir: series.dir, store, keyUrl: key, source: SOURCE })).archived, series.names.length);
    return { key, work, entries: await readEntries(store, SOURCE) };
  }

  function windowAt(entries: ManifestEntry[], i: number): { now: Date; window: string; windowMs: number } {
    const now = new Date(Date.parse(entries.at(-1)!.binlog.lastEventTime!) + 1000);
    const seconds = Math.round((now.getTime() - Date.parse(entries[i]!.binlog.firstEventTime!)) / 1000);
    return { now, window: `${seconds}s`, windowMs: seconds * 1000 };
  }

  async function assertVerifies(store: S3Store, key: string): Promise<void> {
    const v = await runVerify({ store, keyUrl: key });
    assert.deepEqual(v.problems, []);
    assert.deepEqual(v.orphans, []);
  }

  it('expires through the CLI, restores inside the window exactly and refuses a point before it', async () => {
    const store = testStore({ name: 'expire' });
    const { key, work, entries } = await archive(store);
    const { now, window } = windowAt(entries, 2);
    const url = storeUrlFor(prefixOf(store));
    const env = { ...process.env, ...credentialsEnv() };
    const r = await runCli(['expire', '--store', url, '--key', key, '--recovery-window', window, '--now', now.toISOString(), '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as ExpireSummary;
    assert.deepEqual(s.sources[0]!.expiredBinlogs, series.names.slice(0, 2));
    assert.equal(s.deletedObjects, 4);
    assert.deepEqual((await readEntries(store, SOURCE)).map((e) => e.binlog.name), series.names.slice(2));
    await assertVerifies(store, key);
    const restored = await runRestore({ store, keyUrl: key, out: path.join(work, 'out'), source: SOURCE, fromGtid: series.ends[1]!, target: { kind: 'time', until: new Date(series.moments[2]!.time) } });
    assert.equal(restored.recoveredGtidSet, series.moments[2]!.gtid);
    const early = await runCli(['restore', '--store', url, '--key', key, '--out', path.join(work, 'out2'), '--until', series.moments[1]!.time], env);
    assert.equal(early.code, 1);
    assert.match(early.stderr, /EEXPIRED: --until .* before the retained range: the retained window of source series is .*mysql-bin/);
  });

  it('an expire interrupted after two deletes leaves a store that verifies, and a rerun converges', async () => {
    const store = testStore({ name: 'expire-kill' });
    const { key, entries } = await archive(store);
    const { now, window, windowMs } = windowAt(entries, 3);
    await assert.rejects(runExpire({
      store, keyUrl: key, windowMs, windowText: window, now,
      beforeDelete: (_k, deleted) => {
        if (deleted === 2) throw new ArchiverError('ESTOREUNAVAILABLE', 'injected: the store went away');
      },
    }), /injected/);
    await assertVerifies(store, key);
    const again = await runExpire({ store, keyUrl: key, windowMs, windowText: window, now });
    assert.equal(again.deletedObjects, 4, 'the rest of the six');
    assert.deepEqual((await readEntries(store, SOURCE)).map((e) => e.binlog.name), series.names.slice(3));
    await assertVerifies(store, key);
  });

  it('keeps an object under Object Lock retention and reports it until its date; the rest goes', async () => {
    const Bucket = `expire-lock-${randomBytes(4).toString('hex')}`;
    await client.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true }));
    const e = s3();
    const store = new S3Store({ bucket: Bucket, prefix: 'archive', endpoint: e.endpoint, region: e.region, forcePathStyle: true, credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey } });
    const { key, entries } = await archive(store);
    const locked = entries[0]!.object.key;
    const until = new Date(Date.now() + 86_400_000);
    await client.send(new PutObjectRetentionCommand({ Bucket, Key: `archive/${locked}`, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: until } }));
    const head = await client.send(new HeadObjectCommand({ Bucket, Key: `archive/${locked}` }));
    const { now, window, windowMs } = windowAt(entries, 2);
    const s = await runExpire({ store, keyUrl: key, windowMs, windowText: window, now });
    assert.deepEqual(s.sources[0]!.retained, [{ key: locked, until: head.ObjectLockRetainUntilDate!.toISOString(), reason: 'S3 Object Lock GOVERNANCE retention' }]);
    assert.equal(s.deletedObjects, 3);
    assert.ok((await store.head(locked)) !== undefined);
    await assertVerifies(store, key);
    const again = await runExpire({ store, keyUrl: key, windowMs, windowText: window, now });
    assert.equal(again.sources[0]!.retained.length, 1, 'a later run reports it again, and deletes it once its date passed');
  });
});
