/**
 * `npm run demo -- --operator [--keep]`: the operator's whole loop on the test environment's real node, shown step
 * by step with the commands a person would type. Brings the environment up if it is not (and down again at the
 * end, unless --keep), installs the chart with helm, runs a MariaDB Pod with the agent sidecar, applies a
 * BinlogArchivePolicy, writes and rotates, shows `kubectl get bap`, then restores the state before a bad DELETE
 * into a fresh MariaDB Pod with a BinlogRestore and compares the table checksums. Exit 0 only if they are equal.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { BinlogArchivePolicy } from '../src/api/index.ts';
import { eventually, kubectl, ok } from '../test/api/kubectl.ts';
import { type MariadbPod, startMariadbPod } from '../test/support/mariadb-pod.ts';
import { need, nodeSkip } from '../test/support/node.ts';
import { POLICY, RELEASE, installOperator, serverOutput } from '../test/support/operator-namespace.ts';
import { REPO_ROOT } from '../testenv/versions.ts';

const keep = process.argv.includes('--keep');
const say = (text: string): void => { process.stdout.write(`${text}\n`); };
const title = (text: string): void => { say(`\n== ${text}`); };

function testenv(command: 'up' | 'down'): void {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'testenv', 'cli.ts'), command], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`npm run testenv -- ${command} failed (exit ${String(r.status)})`);
}

async function show(args: string[]): Promise<void> {
  say(`$ kubectl ${args.join(' ')}`);
  process.stdout.write(await ok(args));
}

const CHECKSUM = 'CHECKSUM TABLE demo.orders EXTENDED';

async function archiveSomeWork(source: MariadbPod, ns: string): Promise<{ gtid: string; sums: string }> {
  title('write to the source, rotate, and make a mistake');
  await source.query('CREATE DATABASE demo; CREATE TABLE demo.orders (id INT PRIMARY KEY AUTO_INCREMENT, customer VARCHAR(32), cents INT)');
  for (let i = 0; i < 20; i++) await source.query(`INSERT INTO demo.orders (customer, cents) VALUES ('c${i % 7}', ${100 + i * 37})`);
  await source.query('FLUSH BINARY LOGS; UPDATE demo.orders SET cents = cents + 1 WHERE id % 3 = 0');
  const good = { gtid: (await source.query('SELECT @@gtid_binlog_pos')).trim(), sums: (await source.query(CHECKSUM)).trim() };
  say(`good state: GTID ${good.gtid}, ${good.sums.replace(/\t/g, ' checksum ')}`);
  await source.query('DELETE FROM demo.orders WHERE cents > 500; FLUSH BINARY LOGS');
  say(`then: DELETE FROM demo.orders WHERE cents > 500 (the mistake); now ${(await source.query(CHECKSUM)).trim().replace(/\t/g, ' checksum ')}`);
  const newest = (await source.query('SHOW BINARY LOGS')).trim().split('\n').map((l) => l.split('\t')[0] ?? '').slice(0, -1).at(-1) ?? '';
  title(`the agent reports the rotation, the controller's archive Job archives up to ${newest}`);
  await eventually(`the policy to have archived ${newest}`, async () => {
    const p = JSON.parse(await ok(['get', 'bap', POLICY, '-n', ns, '-o', 'json'])) as BinlogArchivePolicy;
    return p.status?.sources?.some((s) => s.lastArchivedBinlog === newest) === true ? true : undefined;
  }, 240_000);
  await show(['get', 'bap', '-n', ns]);
  await show(['get', 'jobs', '-n', ns]);
  return good;
}

async function main(): Promise<boolean> {
  const started = nodeSkip() !== false;
  if (started) {
    title('bring up the test environment with its real node (npm run testenv -- up)');
    testenv('up');
  }
  const ns = `demo-${randomBytes(3).toString('hex')}`;
  const pods: MariadbPod[] = [];
  let op: Awaited<ReturnType<typeof installOperator>> | undefined;
  try {
    say(`kubectl below means: kubectl --kubeconfig ${need('node').kubeconfig}`);
    title(`install the operator: helm install ${RELEASE} charts/binlog-archiver -n ${ns} (controller image ${need('node').image})`);
    op = await installOperator(ns);
    say(`the controller ${await op.leader()} holds the leader Lease`);
    title('a MariaDB StatefulSet with the agent sidecar (binlogs on a PersistentVolume)');
    const source = await startMariadbPod({ ns, name: 'mysql', serverId: 1, agentFor: op.policySpec });
    pods.push(source);
    await show(['get', 'pods', '-n', ns]);
    title('apply a BinlogArchivePolicy: S3, data keys from AWS KMS');
    const policy = { apiVersion: 'binlog.archiver.dev/v1alpha1', kind: 'BinlogArchivePolicy', metadata: { name: POLICY, namespace: ns }, spec: op.policySpec };
    say(JSON.stringify(policy, null, 2));
    await ok(['apply', '-f', '-'], JSON.stringify(policy));
    const good = await archiveSomeWork(source, ns);
    title('a fresh MariaDB to restore into, and a BinlogRestore up to the GTID before the mistake');
    const target = await startMariadbPod({ ns, name: 'restore-target', serverId: 2 });
    pods.push(target);
    await op.restoreAccount(target);
    const restoreSpec = { target: { gtid: good.gtid }, output: serverOutput('restore-target') };
    say(JSON.stringify({ apiVersion: 'binlog.archiver.dev/v1alpha1', kind: 'BinlogRestore', metadata: { name: 'before-the-delete' }, spec: { archive: { policyRef: { name: POLICY } }, sourceServer: `${ns}-mysql-0`, ...restoreSpec } }, null, 2));
    const restore = await op.restore('before-the-delete', restoreSpec);
    await show(['get', 'blr', '-n', ns]);
    title('compare');
    const restored = (await target.query(CHECKSUM)).trim();
    const same = restore.status?.phase === 'Succeeded' && restored === good.sums;
    say(`source before the mistake: ${good.sums.replace(/\t/g, ' checksum ')}\nrestored server:           ${restored.replace(/\t/g, ' checksum ')}`);
    say(same ? `\ndemo passed: the restored server holds exactly the source's table at GTID ${good.gtid}` : `\ndemo FAILED: ${JSON.stringify(restore.status?.conditions)}`);
    return same;
  } catch (err) {
    if (op !== undefined) process.stderr.write(await op.describe());
    throw err;
  } finally {
    if (keep) say(`\nkept: namespace ${ns} (--keep)`);
    else {
      await op?.uninstall();
      for (const p of pods) await p.cleanup();
      await kubectl(['delete', 'namespace', ns, '--wait=false']);
      if (started) testenv('down');
    }
  }
}

const t = Date.now();
main().then((passed) => {
  say(`(${((Date.now() - t) / 1000).toFixed(0)} s)`);
  process.exitCode = passed ? 0 : 1;
}, (err: unknown) => {
  process.stderr.write(`demo --operator failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
