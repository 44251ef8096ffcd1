// test-resources: env-mariadb, kube-node:shared, node-heavy
/**
 * BinlogRestore end to end on the real node: the controller (a child process on the host, as it runs in its Pod)
 * plans each restore in a plan Job and restores it in a restore Job, both real Pods of the project image under the
 * `restricted` Pod Security level, reading the archive from S3 and writing the binlogs and replay.sh into a claim.
 * For random moments of a random workload (times, GTIDs and positions), the files the Pod wrote, replayed into a
 * MariaDB, give exactly the tables the source had at that moment; a target past the archive fails in Planning.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { BinlogRestore, BinlogRestoreSpec } from '../../src/api/index.ts';
import { stopProcess } from '../../testenv/proc.ts';
import { launchMariadb, type Launched, type MariadbTools } from '../../testenv/servers/mariadb.ts';
import { allocatePort } from '../../testenv/ports.ts';
import { ensureTools } from '../../testenv/tools.ts';
import { createRestrictedNamespace, eventually, installCrds, kubectl, ok, uniqueName } from '../api/kubectl.ts';
import { tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';
import { mysqlClient, type MysqlClient } from '../support/mysql.ts';
import { hostPathClaim, need, nodeSkip } from '../support/node.ts';
import { WORKLOAD_SCHEMA, checksums, workloadRound } from '../support/workload.ts';
import { ControllerProcess } from '../controller/helpers.ts';

const run = promisify(execFile);

interface Moment { until: string; gtid: string; file: string; position: number; sums: string }

describe('BinlogRestore through the controller on the real node', { skip: nodeSkip(), timeout: 900_000 }, () => {
  const ns = uniqueName('node-restore');
  const source = `node-restore-${randomBytes(3).toString('hex')}`;
  const db = `nr_${randomBytes(3).toString('hex')}`;
  const work = tempDir('blarc-node-restore-');
  const outDir = path.join(work, 'out');
  let client: MysqlClient;
  let base = '';
  const moments: Moment[] = [];
  let controller: ControllerProcess | undefined;
  let replica: Launched | undefined;

  before(async () => {
    const { image } = need('node');
    const s3 = need('s3');
    const mysql = need('mysql');
    client = mysqlClient(mysql);
    await client.query('FLUSH BINARY LOGS');
    base = (await client.query('SELECT @@gtid_binlog_pos')).trim();
    await client.query(WORKLOAD_SCHEMA(db));
    for (let round = 0; round < 6; round++) {
      await workloadRound(client, db, round, 30);
      if (round % 2 === 1) await client.query('FLUSH BINARY LOGS');
      const [file = '', position = ''] = (await client.query('SHOW MASTER STATUS')).trim().split('\t');
      moments.push({ until: new Date().toISOString(), gtid: (await client.query('SELECT @@gtid_binlog_pos')).trim(), file, position: Number(position), sums: await checksums((sql) => client.query(sql), db) });
      // Binlog timestamps have one-second resolution: the next round's events fall in a later second.
      await sleep(1100);
    }
    await workloadRound(client, db, 99, 30);
    await client.query('FLUSH BINARY LOGS');
    // The archive, written from the host with a local key that the namespace's Secret holds too.
    const keyHex = randomBytes(32).toString('hex');
    fs.writeFileSync(path.join(work, 'master.key'), `${keyHex}\n`, { mode: 0o600 });
    const prefix = `node-restore/${ns}`;
    const store = `s3://${s3.bucket}/${prefix}?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&forcePathStyle=true`;
    const archived = await runCli(['archive', '--binlog-dir', mysql.binlogDir, '--store', store, '--key', `file://${path.join(work, 'master.key')}`, '--source', source, '--json'],
      { ...process.env, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey });
    assert.equal(archived.code, 0, archived.stderr);
    await installCrds();
    await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/binlogrestores.binlog.archiver.dev']);
    await createRestrictedNamespace(ns);
    await ok(['create', 'secret', 'generic', 'master-key', '-n', ns, `--from-literal=key=${keyHex}`]);
    await ok(['create', 'secret', 'generic', 's3-credentials', '-n', ns,
      `--from-literal=credentials=[default]\naws_access_key_id = ${s3.accessKeyId}\naws_secret_access_key = ${s3.secretAccessKey}\n`]);
    // The output claim: a hostPath volume the Job's non-root user may write.
    fs.mkdirSync(outDir, { mode: 0o777 });
    fs.chmodSync(outDir, 0o777);
    fs.chmodSync(work, 0o755);
    await hostPathClaim(ns, 'restore-out', `${ns}-out`, outDir);
    controller = await ControllerProcess.start({ namespace: ns, args: ['--image', image] });
    replica = await launchMariadb({
      name: 'node-restore-replica', dir: tempDir('blarc-replica-'), port: await allocatePort('replica'), binlog: false, serverId: 500,
      tools: (await ensureTools(new Set(['mysql']))) as MariadbTools,
    });
  });

  after(async () => {
    await controller?.kill('SIGTERM');
    if (replica !== undefined) await stopProcess(replica.proc.pid, replica.proc.exe);
    await kubectl(['delete', 'namespace', ns, '--wait=true', '--timeout=60s']);
    await kubectl(['delete', 'pv', `${ns}-out`, '--wait=false']);
    fs.rmSync(work, { recursive: true, force: true });
  });

  function spec(target: BinlogRestoreSpec['target'], dir: string): BinlogRestoreSpec {
    const s3 = need('s3');
    return {
      archive: {
        storage: { bucket: s3.bucket, prefix: `node-restore/${ns}`, endpoint: s3.podEndpoint ?? s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { secretName: 's3-credentials' } },
        keyProvider: { local: { secretName: 'master-key', key: 'key' } },
      },
      sourceServer: source, from: { gtidSet: base }, target, output: { volume: { claimName: 'restore-out', path: dir } },
    };
  }

  async function restore(name: string, s: BinlogRestoreSpec): Promise<BinlogRestore> {
    await ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'binlog.archiver.dev/v1alpha1', kind: 'BinlogRestore', metadata: { name, namespace: ns }, spec: s }));
    return eventually(`BinlogRestore ${name} to finish`, async () => {
      const r = JSON.parse(await ok(['get', 'blr', name, '-n', ns, '-o', 'json'])) as BinlogRestore;
      return r.status?.phase === 'Succeeded' || r.status?.phase === 'Failed' ? r : undefined;
    }, 240_000);
  }

  it('restores 10 random targets (times, GTIDs, positions), each exactly the source\'s tables at that moment', async () => {
    const kinds = ['time', 'gtid', 'position'] as const;
    const osUser = os.userInfo().username;
    for (let i = 0; i < 10; i++) {
      const m = moments[randomInt(moments.length)]!;
      const kind = kinds[i % kinds.length]!;
      const target: BinlogRestoreSpec['target'] = kind === 'time' ? { time: m.until } : kind === 'gtid' ? { gtid: m.gtid } : { position: { file: m.file, position: m.position } };
      const name = `t${i}-${kind}`;
      const r = await restore(name, spec(target, name));
      assert.equal(r.status?.phase, 'Succeeded', `${name}: ${JSON.stringify(r.status?.conditions)}`);
      assert.ok((r.status?.binlogsRestored ?? 0) > 0, name);
      if (kind === 'gtid') assert.equal(r.status?.recoveredGtidSet, m.gtid, name);
      // What the Pod wrote, replayed on the host into the replica: exactly the source at that moment.
      await replica!.sql(`DROP DATABASE IF EXISTS ${db}`);
      await run(path.join(outDir, name, 'replay.sh'), [], { env: { ...process.env, MYSQL_CLIENT: `mariadb --no-defaults --socket=${replica!.socket} --user=${osUser}` }, maxBuffer: 64 * 1024 * 1024 });
      assert.equal(await checksums((sql) => replica!.sql(sql), db), m.sums, `${name} (${JSON.stringify(target)})`);
    }
  });

  it('deleting a running BinlogRestore stops its Job and its Pod, and deletes nothing archived', async () => {
    const s3 = need('s3');
    const objects = async (): Promise<unknown> => {
      const r = await runCli(['verify', '--store', `s3://${s3.bucket}/node-restore/${ns}?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&forcePathStyle=true`,
      '--key', `file://${path.join(work, 'master.key')}`, '--json'], { ...process.env, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey });
      const v = JSON.parse(r.stdout) as { verified: number; bytes: number; problems: unknown[] };
      return { code: r.code, verified: v.verified, bytes: v.bytes, problems: v.problems };
    };
    const before = await objects();
    assert.ok((before as { verified: number }).verified > 0);
    // A store address of the Pod network where nothing answers: the plan Job's Pod runs until it is stopped.
    const hung = spec({ latest: true }, 'hung');
    const name = 'deleted-mid-run';
    await ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'binlog.archiver.dev/v1alpha1', kind: 'BinlogRestore', metadata: { name, namespace: ns },
      spec: { ...hung, archive: { ...hung.archive, storage: { ...hung.archive.storage!, endpoint: 'http://10.244.0.254:80' } } } }));
    const pods = async (): Promise<{ metadata: { name: string }; status?: { phase?: string } }[]> =>
      (JSON.parse(await ok(['get', 'pods', '-n', ns, '-o', 'json'])) as { items: { metadata: { name: string }; status?: { phase?: string } }[] }).items.filter((p) => p.metadata.name.startsWith(`${name}-`));
    await eventually(`the plan Pod of ${name} to run`, async () => ((await pods()).some((p) => p.status?.phase === 'Running') ? true : undefined), 120_000);
    await ok(['delete', 'blr', name, '-n', ns, '--wait=false']);
    await eventually(`the Jobs and Pods of ${name} to be gone`, async () => {
      const jobs = (JSON.parse(await ok(['get', 'jobs', '-n', ns, '-o', 'json'])) as { items: { metadata: { name: string } }[] }).items.filter((j) => j.metadata.name.startsWith(`${name}-`));
      return jobs.length === 0 && (await pods()).length === 0 ? true : undefined;
    }, 120_000);
    assert.deepEqual(await objects(), before, 'the archive is as it was');
  });

  it('a target past the archive fails in Planning with the window, and no restore Job', async () => {
    const r = await restore('past', spec({ time: '2099-01-01T00:00:00Z' }, 'past'));
    assert.equal(r.status?.phase, 'Failed');
    const stalled = r.status?.conditions?.find((c) => c.type === 'Stalled');
    assert.deepEqual([stalled?.status, stalled?.reason], ['True', 'TargetNotInArchive']);
    assert.match(stalled?.message ?? '', /after the last archived event/);
    const jobs = JSON.parse(await ok(['get', 'jobs', '-n', ns, '-o', 'json'])) as { items: { metadata: { name: string } }[] };
    assert.deepEqual(jobs.items.map((j) => j.metadata.name).filter((n) => n.startsWith('past-restore-')), []);
  });
});
