/**
 * spec.migration.legacy on the whole loop, every piece real but the kubelet (as test/controller/full-loop.test.ts):
 * MariaDB rotates its binlog, a legacy pipeline (this test, with the real `zstd -3 | openssl enc`) uploads each
 * closed binlog to its own S3 prefix, the controller's archive Jobs archive it and compare the newest rotation
 * cycles with the legacy objects, and the policy's MigrationParity condition counts the verified cycles up to
 * True (ReadyToSwitch) after three; a legacy object with other content then turns it to ParityMismatch.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ok } from '../api/kubectl.ts';
import type { FakeKubelet } from '../support/kubelet.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';
import { rawClient } from '../store/helpers.ts';
import {
  type ControllerProcess, type Mariadb, conditionOf, deletePrefix, getPolicy, listJobs, policyObject, startLoop, stopLoop, tempDir, waitFor,
} from '../controller/helpers.ts';

const skip = skipUnlessIn('kube') || skipUnlessIn('s3') || skipUnlessIn('mysql');

describe('MigrationParity on the real API server, S3 and MariaDB', { skip, timeout: 400_000 }, () => {
  let ns: string;
  let db: Mariadb;
  let kubelet: FakeKubelet;
  let controller: ControllerProcess;
  const dir = tempDir();
  const stamp = Date.now().toString(36);
  const prefix = `mig-loop-${stamp}`;
  const legacyPrefix = `mig-legacy-${stamp}`;
  const policy = 'orders';
  const passphrase = path.join(dir, 'legacy.pass');

  const describeState = async () => {
    const p = await getPolicy(ns, policy).catch(() => undefined);
    return `status ${JSON.stringify(p?.status)}\njobs ${JSON.stringify(await listJobs(ns).catch(() => []))}\nkubelet errors ${kubelet.errors.join('; ')}\ncontroller:\n${controller.logTail(30)}\nkubelet logs:\n${kubelet.logs(1500)}`;
  };

  /** What the legacy pipeline does with a closed binlog. */
  const legacyUpload = async (file: string, name: string): Promise<void> => {
    const object = path.join(dir, `${name}.zst.enc`);
    execFileSync('sh', ['-c', 'zstd -3 -q -c "$1" | openssl enc -aes-256-cbc -salt -pbkdf2 -iter 100000 -pass "file:$2" -out "$3"', 'sh', file, passphrase, object]);
    await rawClient().send(new PutObjectCommand({ Bucket: need('s3').bucket, Key: `${legacyPrefix}/${name}.zst.enc`, Body: fs.readFileSync(object) }));
  };

  const rotateBoth = async (): Promise<string> => {
    const name = await db.writeAndRotate();
    await legacyUpload(path.join(db.binlogDir, name), name);
    return name;
  };

  const archived = (name: string) => waitFor(`status.lastArchivedBinlog to be mysql-0/${name}`, async () => {
    const p = await getPolicy(ns, policy);
    return p.status?.lastArchivedBinlog === `mysql-0/${name}` ? p : undefined;
  }, 90_000, describeState);

  before(async () => {
    ({ ns, db, kubelet, controller } = await startLoop('mig-loop', dir));
    fs.writeFileSync(passphrase, 'the legacy pipeline passphrase\n', { mode: 0o600 });
    await ok(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'legacy-pass', namespace: ns }, type: 'Opaque',
      data: { passphrase: fs.readFileSync(passphrase).toString('base64') },
    }));
  });

  after(async () => {
    await stopLoop({ ns, controller, kubelet, db });
    fs.rmSync(dir, { recursive: true, force: true });
    await deletePrefix(prefix);
    await deletePrefix(legacyPrefix);
  });

  it('counts the verified rotation cycles to ReadyToSwitch, then reports a differing legacy object', async () => {
    const s3 = need('s3');
    const object = policyObject(ns, { name: policy, app: 'mysql-mig', prefix });
    object.spec.migration = {
      legacy: { location: `s3://${s3.bucket}/${legacyPrefix}?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&forcePathStyle=true`, keySecret: { name: 'legacy-pass' } },
    };
    await ok(['apply', '-f', '-'], JSON.stringify(object));
    await kubelet.addMysqlPod({ name: 'mysql-0', labels: { app: 'mysql-mig' }, binlogDir: db.binlogDir });

    const first = await rotateBoth();
    await archived(first);
    const one = await waitFor('MigrationParity with 1 verified cycle', async () => {
      const p = await getPolicy(ns, policy);
      return p.status?.migrationVerifiedCycles === 1 ? p : undefined;
    }, 60_000, describeState);
    assert.deepEqual([conditionOf(one, 'MigrationParity')?.status, conditionOf(one, 'MigrationParity')?.reason], ['False', 'VerifyingParity']);

    for (let i = 0; i < 2; i++) await archived(await rotateBoth());
    const ready = await waitFor('MigrationParity ReadyToSwitch', async () => {
      const p = await getPolicy(ns, policy);
      return conditionOf(p, 'MigrationParity')?.reason === 'ReadyToSwitch' ? p : undefined;
    }, 60_000, describeState);
    assert.equal(conditionOf(ready, 'MigrationParity')?.status, 'True');
    assert.match(conditionOf(ready, 'MigrationParity')?.message ?? '', /^3 consecutive verified rotation cycle\(s\) of 3: switch the restore runbook/);
    assert.equal(ready.status?.migrationVerifiedCycles, 3);
    // The passphrase reached the Job as a mounted file, never as an argument.
    for (const r of kubelet.runs) {
      // (The test kubelet maps the Secret volume to a local directory.)
      assert.match(r.args[r.args.indexOf('--legacy-key') + 1] ?? '', /^file:\/\/\/.*\/secret\/legacy-key\/passphrase$/);
      assert.ok(!r.args.join(' ').includes('legacy pipeline passphrase'));
    }

    // The legacy pipeline stores other bytes for the next binlog: the count drops, the name is given.
    const next = await db.writeAndRotate();
    await legacyUpload(path.join(db.binlogDir, first), next);
    await archived(next);
    const bad = await waitFor('MigrationParity ParityMismatch', async () => {
      const p = await getPolicy(ns, policy);
      return conditionOf(p, 'MigrationParity')?.reason === 'ParityMismatch' ? p : undefined;
    }, 60_000, describeState);
    assert.equal(conditionOf(bad, 'MigrationParity')?.status, 'False');
    assert.match(conditionOf(bad, 'MigrationParity')?.message ?? '', new RegExp(`^0 consecutive verified rotation cycle\\(s\\) of 3; the legacy pipeline differs: ${ns}-mysql-0: differs: ${next.replace('.', '\\.')}`));
  });
});
