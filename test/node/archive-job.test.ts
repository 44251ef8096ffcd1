/**
 * On the real node (`npm run testenv -- up --node`): the archive Job built by the project's pure Job builder is
 * admitted in a namespace that enforces the `restricted` Pod Security level, runs the project image as non-root on
 * a read-only root filesystem, reads the binlogs through a PersistentVolumeClaim mounted read-only, writes to S3
 * through the node, and reports through its termination message.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { buildArchiveJob } from '../../src/specs/index.ts';
import type { BinlogArchivePolicy } from '../../src/api/index.ts';
import { eventually, kubectl, ok, uniqueName } from '../api/kubectl.ts';
import { tempDir } from '../support/archive.ts';
import { s3Client } from '../support/clients.ts';
import { launchSql, need, nodeSkip } from '../support/node.ts';

const yaml = (o: unknown): string => JSON.stringify(o);

/** Closed binlogs of the environment's MariaDB (rotated twice), copied where the node's hostPath PV points. */
async function binlogVolumeDir(): Promise<string> {
  const mysql = need('mysql');
  await launchSql(mysql, 'CREATE DATABASE IF NOT EXISTS nodee2e; CREATE TABLE IF NOT EXISTS nodee2e.t (id INT PRIMARY KEY AUTO_INCREMENT, v TEXT); INSERT INTO nodee2e.t (v) VALUES (REPEAT("x", 1000)); FLUSH BINARY LOGS; INSERT INTO nodee2e.t (v) VALUES ("y"); FLUSH BINARY LOGS');
  const dir = tempDir('blarc-node-pv-');
  const binlogs = path.join(dir, 'binlog');
  fs.mkdirSync(binlogs);
  for (const f of fs.readdirSync(mysql.binlogDir)) fs.copyFileSync(path.join(mysql.binlogDir, f), path.join(binlogs, f));
  // The Job runs as uid 65532: the hostPath volume gets no fsGroup, so the copies are world-readable.
  for (const p of [dir, binlogs]) fs.chmodSync(p, 0o755);
  for (const f of fs.readdirSync(binlogs)) fs.chmodSync(path.join(binlogs, f), 0o644);
  return dir;
}

describe('archive Job on the real node', { skip: nodeSkip() }, () => {
  const ns = uniqueName('node-e2e');
  const pv = `${ns}-binlogs`;
  let hostDir = '';

  before(async () => {
    hostDir = await binlogVolumeDir();
    await ok(['create', 'namespace', ns]);
    await ok(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/enforce-version=latest']);
  });

  after(async () => {
    await kubectl(['delete', 'namespace', ns, '--wait=true', '--timeout=60s']);
    await kubectl(['delete', 'pv', pv, '--wait=false']);
    fs.rmSync(hostDir, { recursive: true, force: true });
  });

  it('is admitted under enforce=restricted, runs non-root on a read-only root, archives to S3 and reports', async () => {
    const { kube, image } = need('node');
    const s3 = need('s3');
    const nodeName = kube.nodes[0] ?? '';
    const prefix = `node-e2e/${ns}`;
    await ok(['apply', '-f', '-'], yaml({
      apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: pv },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', storageClassName: 'manual',
        claimRef: { namespace: ns, name: 'data-mysql-0' }, hostPath: { path: hostDir, type: 'Directory' } },
    }));
    await ok(['apply', '-n', ns, '-f', '-'], yaml({
      apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data-mysql-0' },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'manual', volumeName: pv, resources: { requests: { storage: '1Gi' } } },
    }));
    const key = randomBytes(32).toString('hex');
    await ok(['create', 'secret', 'generic', 'master-key', '-n', ns, `--from-literal=key=${key}`]);
    await ok(['create', 'secret', 'generic', 's3-credentials', '-n', ns,
      `--from-literal=credentials=[default]\naws_access_key_id = ${s3.accessKeyId}\naws_secret_access_key = ${s3.secretAccessKey}\n`]);
    // The MySQL pod's identity and volume, as the controller would read them from the API server.
    const pod: V1Pod = {
      metadata: { name: 'mysql-0', namespace: ns, labels: { app: 'mysql' } },
      spec: { nodeName, containers: [{ name: 'mysql', image }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-mysql-0' } }] },
    };
    const policy: BinlogArchivePolicy = {
      apiVersion: 'binlog.archiver.dev/v1alpha1', kind: 'BinlogArchivePolicy',
      metadata: { name: 'orders', namespace: ns, generation: 1, uid: randomUUID() },
      spec: {
        source: { selector: { matchLabels: { app: 'mysql' } }, binlogVolume: 'data', binlogPath: 'binlog' },
        storage: { bucket: s3.bucket, prefix, region: s3.region, endpoint: s3.podEndpoint, forcePathStyle: true, credentials: { secretName: 's3-credentials' } },
        keyProvider: { local: { secretName: 'master-key', key: 'key' } },
      },
    };
    const job: V1Job = buildArchiveJob(policy, pod, { image, trigger: 'mysql-bin.000002', correlationId: 'node-e2e', summaryFile: '/dev/termination-log' });
    // The policy does not exist in the cluster: the owner reference would let the garbage collector delete the Job.
    delete job.metadata?.ownerReferences;
    await ok(['apply', '-n', ns, '-f', '-'], yaml(job));
    const jobName = job.metadata?.name ?? '';
    // The namespace really enforces `restricted`: a Pod that may run as root is refused.
    const refused = await kubectl(['run', 'root-pod', '-n', ns, `--image=${image}`, '--restart=Never', '--command', '--', 'node', '-e', '0']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /violates PodSecurity "restricted/);
    const done = await eventually(`Job ${jobName} to finish`, async () => {
      const j = JSON.parse(await ok(['get', 'job', jobName, '-n', ns, '-o', 'json'])) as V1Job;
      return (j.status?.succeeded ?? 0) > 0 || (j.status?.failed ?? 0) > 0 ? j : undefined;
    }, 180_000);
    const pods = JSON.parse(await ok(['get', 'pods', '-n', ns, '-l', `job-name=${jobName}`, '-o', 'json'])) as { items: V1Pod[] };
    const ran = pods.items[0];
    assert.ok(ran !== undefined, 'the Job made a Pod');
    const terminated = ran.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(done.status?.succeeded, 1, `Job failed: ${terminated?.message ?? ''}`);
    assert.equal(ran.spec?.nodeName, nodeName);
    assert.equal(terminated?.exitCode, 0);
    const report = JSON.parse(terminated?.message ?? '{}') as { ok?: boolean; archived?: number; source?: string; error?: unknown };
    assert.equal(report.ok, true, `run report: ${terminated?.message ?? ''}`);
    assert.equal(report.error, null);
    assert.equal(report.source, `${ns}-mysql-0`);
    assert.ok((report.archived ?? 0) >= 2, `archived ${String(report.archived)} closed binlogs`);
    const container = ran.spec?.containers[0];
    assert.equal(container?.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(ran.spec?.securityContext?.runAsUser, 65532);
    const listed = await s3Client(s3).send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
    assert.ok((listed.Contents ?? []).length >= (report.archived ?? 0), `objects under s3://${s3.bucket}/${prefix}`);
  });
});
