/**
 * helm install, upgrade and uninstall of the chart into the test environment's kube-apiserver. The CRDs already
 * exist there (other API tests apply crds/), so the install takes them over (`--take-ownership`), as a user moving
 * from `kubectl apply -f crds/` to the chart would. Uninstall must keep the CRDs (helm.sh/resource-policy: keep)
 * and so the custom resources. Without a node no pod runs: this proves the release's objects, not the controller
 * (test/node runs Jobs on the real node when the environment has one).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deleteNamespace, kubectl, ok, uniqueName } from '../api/kubectl.ts';
import { REPO_ROOT, need, skipUnlessIn } from '../support/testenv.ts';
import { CHART, helm, tool, valuesFile } from './helm.ts';

const CRDS = ['binlogarchivepolicies.binlog.archiver.dev', 'binlogrestores.binlog.archiver.dev'];

describe('chart: helm install, upgrade, uninstall on the real kube-apiserver', { skip: skipUnlessIn('kube') }, () => {
  const ns = uniqueName('chart-install');
  const release = uniqueName('ba');
  let kubeconfig: string;
  const h = async (args: string[]) => {
    const r = await helm([...args, '--kubeconfig', kubeconfig, '--namespace', ns]);
    assert.equal(r.code, 0, `helm ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  before(async () => {
    kubeconfig = need('kube').kubeconfig;
    await tool('helm');
    await ok(['create', 'namespace', ns]);
  });
  after(async () => {
    await helm(['uninstall', release, '--kubeconfig', kubeconfig, '--namespace', ns, '--ignore-not-found']);
    await deleteNamespace(ns, 'binlogarchivepolicies,deployments,services,serviceaccounts,roles,rolebindings,secrets');
  });

  it('installs, upgrades with a changed value, and uninstalls keeping the CRDs and the policies', async () => {
    const controller = `${release}-binlog-archiver-controller`;
    const installed = await h(['install', release, CHART, '--take-ownership', '-f', valuesFile({ replicaCount: 1 })]);
    assert.match(installed, /STATUS: deployed/);
    assert.match(installed, /The CRDs are kept when the release is uninstalled/);
    const args = async () => JSON.parse(await ok(['get', 'deployment', controller, '-n', ns, '-o', 'jsonpath={.spec.template.spec.containers[0].args}'])) as string[];
    assert.ok((await args()).includes('--log-level=info'));
    for (const crd of CRDS) {
      const annotations = JSON.parse(await ok(['get', 'crd', crd, '-o', 'jsonpath={.metadata.annotations}'])) as Record<string, string>;
      assert.equal(annotations['helm.sh/resource-policy'], 'keep', crd);
      assert.equal(annotations['meta.helm.sh/release-name'], release, crd);
    }
    // A policy, as a user would create one once the operator is installed.
    const sample = fs.readFileSync(path.join(REPO_ROOT, 'deploy', 'samples', 'policy-s3-awskms.yaml'), 'utf8');
    await ok(['apply', '-n', ns, '-f', '-'], sample);

    const upgraded = await h(['upgrade', release, CHART, '--reuse-values', '--set', 'logLevel=debug']);
    assert.match(upgraded, /REVISION: 2/);
    assert.ok((await args()).includes('--log-level=debug'));

    const removed = await h(['uninstall', release]);
    assert.match(removed, /kept due to the resource policy/);
    assert.notEqual((await kubectl(['get', 'deployment', controller, '-n', ns])).code, 0, 'the Deployment outlived the release');
    assert.notEqual((await kubectl(['get', 'clusterrole', controller])).code, 0, 'the ClusterRole outlived the release');
    for (const crd of CRDS) await ok(['get', 'crd', crd]);
    await ok(['get', 'binlogarchivepolicy', 'mysql-prod', '-n', ns]);
  });
});
