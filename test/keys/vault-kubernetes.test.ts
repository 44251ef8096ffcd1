/**
 * Vault's Kubernetes auth method, for real: the test OpenBao gets an auth mount pointing at the test
 * kube-apiserver (its URL and CA from the kubeconfig, a token reviewer bound to system:auth-delegator), a
 * role bound to a ServiceAccount, and the provider logs in with that ServiceAccount's token from a file.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { openKeyProvider } from '../../src/keys/open-key-provider.ts';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { runRestore } from '../../src/restore/restore-run.ts';
import { readEntries } from '../../src/store/manifest.ts';
import { openStore } from '../../src/store/open-store.ts';
import { binlogDir, listFiles, sha256, tempDir } from '../support/archive.ts';
import { excludedBySubset, need } from '../support/testenv.ts';
import { KINGBUS, code, treeDigest, vaultAdmin } from './helpers.ts';

const run = promisify(execFile);
const skip = excludedBySubset('vault') || excludedBySubset('kube') ? `TESTENV_SERVERS=${process.env.TESTENV_SERVERS ?? ''} excludes vault or kube` : false;

describe('vault key provider with the Kubernetes auth method (OpenBao + kube-apiserver)', { skip }, () => {
  const suffix = randomBytes(4).toString('hex');
  const reviewer = `blarc-vault-reviewer-${suffix}`;
  const app = `blarc-archiver-${suffix}`;
  const other = `blarc-other-${suffix}`;
  const authMount = `blarc-k8s-${suffix}`;
  const role = `blarc-role-${suffix}`;
  const policy = `blarc-k8s-policy-${suffix}`;
  let vault: ReturnType<typeof need<'vault'>>;
  let kubeconfig: string;
  let admin: ReturnType<typeof vaultAdmin>;
  let jwtFile: string;
  let otherJwtFile: string;
  let url: string;

  const kubectl = async (...args: string[]): Promise<string> => (await run('kubectl', ['--kubeconfig', kubeconfig, ...args])).stdout;

  before(async () => {
    vault = need('vault');
    kubeconfig = need('kube').kubeconfig;
    admin = vaultAdmin(vault);
    const view = JSON.parse(await kubectl('config', 'view', '--raw', '--minify', '-o', 'json')) as { clusters: { cluster: { server: string; 'certificate-authority-data': string } }[] };
    const cluster = view.clusters[0]!.cluster;
    for (const sa of [reviewer, app, other]) await kubectl('create', 'serviceaccount', '-n', 'default', sa);
    await kubectl('create', 'clusterrolebinding', reviewer, '--clusterrole=system:auth-delegator', `--serviceaccount=default:${reviewer}`);
    const reviewerJwt = (await kubectl('create', 'token', '-n', 'default', reviewer, '--duration=1h')).trim();
    const dir = tempDir('blarc-k8s-');
    jwtFile = path.join(dir, 'token');
    fs.writeFileSync(jwtFile, (await kubectl('create', 'token', '-n', 'default', app, '--duration=10m')).trim(), { mode: 0o600 });
    otherJwtFile = path.join(dir, 'other-token');
    fs.writeFileSync(otherJwtFile, (await kubectl('create', 'token', '-n', 'default', other, '--duration=10m')).trim(), { mode: 0o600 });

    await admin('POST', `sys/auth/${authMount}`, { type: 'kubernetes' });
    await admin('POST', `auth/${authMount}/config`, {
      kubernetes_host: cluster.server,
      kubernetes_ca_cert: Buffer.from(cluster['certificate-authority-data'], 'base64').toString(),
      token_reviewer_jwt: reviewerJwt,
    });
    const { mount, transitKey } = vault;
    await admin('POST', `sys/policies/acl/${policy}`, {
      policy: `path "${mount}/datakey/wrapped/${transitKey}" { capabilities = ["update"] }\npath "${mount}/decrypt/${transitKey}" { capabilities = ["update"] }`,
    });
    await admin('POST', `auth/${authMount}/role/${role}`, {
      bound_service_account_names: [app], bound_service_account_namespaces: ['default'], token_policies: [policy], token_ttl: '10m',
    });
    url = `vault://${transitKey}?addr=${encodeURIComponent(vault.addr)}&mount=${mount}&role=${role}&jwtFile=${jwtFile}&authMount=${authMount}`;
  });

  after(async () => {
    // Best effort: a failed setup leaves less to remove.
    await admin?.('DELETE', `sys/auth/${authMount}`).catch(() => undefined);
    await admin?.('DELETE', `sys/policies/acl/${policy}`).catch(() => undefined);
    await kubectl('delete', 'clusterrolebinding', reviewer, '--ignore-not-found').catch(() => undefined);
    await kubectl('delete', 'serviceaccount', '-n', 'default', reviewer, app, other, '--ignore-not-found').catch(() => undefined);
  });

  it('logs in with the service-account token and round-trips an archive through the pipeline', async () => {
    const { dir, names } = binlogDir(KINGBUS, 'mysql-bin');
    const work = tempDir();
    const store = openStore(`file://${path.join(work, 'store')}`);
    const summary = await runArchive({ binlogDir: dir, store, keyUrl: url, source: 'db1', context: { namespace: 'default', policy: 'orders' } });
    assert.equal(summary.archived, 3);
    const entries = await readEntries(store, 'db1');
    assert.match(entries[0]!.key.keyId, new RegExp(`^${vault.mount}/${vault.transitKey}:v\\d+$`));
    const out = path.join(work, 'out');
    await runRestore({ store, keyUrl: url, out, target: { kind: 'latest' } });
    for (const [i, name] of names.entries()) assert.equal(sha256(path.join(out, name)), sha256(KINGBUS[i]!));
  });

  it('logs in again when its cached token was revoked', async () => {
    const provider = openKeyProvider(url);
    const context = { source: 'db1', batch: 'b1' };
    const dk = await provider.generateDataKey(context);
    await admin('POST', `sys/leases/revoke-prefix/auth/${authMount}/login`, {});
    assert.deepEqual(await provider.decryptDataKey(dk.wrapped, context, dk.keyId), dk.plaintext);
  });

  it('a service account the role does not bind, an unknown role, or an unreadable token file: EKEY, nothing archived', async () => {
    const cases: [string, RegExp][] = [
      [url.replace(jwtFile, otherJwtFile), /Kubernetes login \(auth\/blarc-k8s-[0-9a-f]+\/login, role blarc-role-[0-9a-f]+\) failed: permission denied: the service account is not bound to this role \(HTTP 403: service account name not authorized\)/],
      [url.replace(`role=${role}`, 'role=blarc-no-such-role'), /Kubernetes login \(auth\/blarc-k8s-[0-9a-f]+\/login, role blarc-no-such-role\) failed: the Kubernetes auth role does not exist \(HTTP 400: invalid role name "blarc-no-such-role"\)/],
      [url.replace(jwtFile, `${jwtFile}.absent`), /cannot read jwtFile .*token\.absent: ENOENT/],
    ];
    for (const [keyUrl, pattern] of cases) {
      const { dir } = binlogDir(KINGBUS, 'mysql-bin');
      const before = treeDigest(dir);
      const storeDir = path.join(tempDir(), 'store');
      await assert.rejects(runArchive({ binlogDir: dir, store: openStore(`file://${storeDir}`), keyUrl, source: 'db1' }), code('EKEY', pattern));
      assert.deepEqual(listFiles(storeDir), []);
      assert.deepEqual(treeDigest(dir), before);
    }
  });
});
