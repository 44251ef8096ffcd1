/**
 * deploy/ on the real kube-apiserver of the test environment: `kubectl apply -k deploy/base` creates everything
 * (really, not a dry run), the samples apply once the CRDs are Established, and the controller's service account
 * can do exactly what deploy/ grants: `kubectl auth can-i --list` minus what every authenticated user may do
 * equals the list below, in the controller's namespace and in any other, and the notable denials hold.
 *
 * Cleanup removes everything it applied except the two CRDs: they are cluster-wide and shared with
 * test/api/apiserver.test.ts, which may run at the same time, and that test leaves them installed too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import path from 'node:path';
import { deleteNamespace, kubectl, ok, uniqueName } from '../api/kubectl.ts';
import { skipUnlessIn } from '../support/testenv.ts';
import { BASE, DEPLOY, NAMESPACE, SA_USER, kustomizeBuild, parseCanIList } from './manifests.ts';

const CRS = ['binlogarchivepolicies', 'binlogrestores'].map((p) => `${p}.binlog.archiver.dev`);

/** What the controller needs in every namespace (the ClusterRole), derived from its API calls in src/controller. */
const CLUSTER_GRANTS = [
  ...CRS.flatMap((r) => ['get', 'list', 'watch', 'update', 'patch'].map((v) => `${r} ${v}`)),
  ...CRS.flatMap((r) => ['get', 'update', 'patch'].map((v) => `${r}/status ${v}`)),
  ...CRS.map((r) => `${r}/finalizers update`),
  ...['get', 'list', 'watch'].map((v) => `pods ${v}`),
  // A BinlogRestore's output claim must exist before its Job is created (read only; never Secrets).
  'persistentvolumeclaims get',
  // A BinlogRestore into a server: its Service must exist and must not select a pod an active policy archives.
  'services get',
  ...['get', 'list', 'watch', 'create', 'delete', 'patch'].map((v) => `jobs.batch ${v}`),
  // The scheduled verify and expire CronJobs of spec.verification and spec.retention.
  ...['get', 'list', 'watch', 'create', 'delete', 'patch'].map((v) => `cronjobs.batch ${v}`),
  // list: a restore Job's Pod that has not started; the kubelet's FailedMount events name a missing Secret.
  ...['create', 'patch', 'list'].map((v) => `events.events.k8s.io ${v}`),
];
/** Only in its own namespace: its one Lease. */
const LEASE_GRANTS = ['leases.coordination.k8s.io create', 'leases.coordination.k8s.io[binlog-archiver-controller] get', 'leases.coordination.k8s.io[binlog-archiver-controller] update'];

async function grants(user: string, namespace: string): Promise<Set<string>> {
  return parseCanIList(await ok(['auth', 'can-i', '--list', `--as=${user}`, '-n', namespace]));
}

async function canI(args: string[]): Promise<boolean> {
  const r = await kubectl(['auth', 'can-i', ...args, `--as=${SA_USER}`]);
  assert.match(r.stdout.trim(), /^(yes|no)$/, `kubectl auth can-i ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim() === 'yes';
}

/** Everything the build holds except the shared CRDs, and the namespace (removed with deleteNamespace). */
async function removeDeployment(): Promise<void> {
  const { objects } = await kustomizeBuild();
  for (const o of objects) {
    if (o.kind === 'CustomResourceDefinition' || o.kind === 'Namespace') continue;
    await kubectl(['delete', o.kind.toLowerCase(), o.metadata.name, ...(o.metadata.namespace === undefined ? [] : ['-n', o.metadata.namespace]), '--ignore-not-found', '--wait=false']);
  }
  await deleteNamespace(NAMESPACE, 'deployments,services,serviceaccounts,roles,rolebindings,leases');
  const deadline = Date.now() + 30_000;
  while ((await kubectl(['get', 'namespace', NAMESPACE])).code === 0) {
    if (Date.now() > deadline) throw new Error(`namespace ${NAMESPACE} was not removed within 30 s`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe('deploy/ on the real kube-apiserver', { skip: skipUnlessIn('kube') }, () => {
  const samplesNs = uniqueName('deploy-samples');
  before(async () => {
    // A previous run that died before its cleanup would make "created" read "configured"; start from nothing.
    if ((await kubectl(['get', 'namespace', NAMESPACE])).code === 0) await removeDeployment();
    await ok(['create', 'namespace', samplesNs]);
  });
  after(async () => {
    await deleteNamespace(samplesNs, 'binlogarchivepolicies,binlogrestores');
    await removeDeployment();
  });

  it('kubectl apply -k deploy/base creates every object, and the samples apply once the CRDs are Established', async () => {
    const applied = await kubectl(['apply', '-k', BASE]);
    assert.equal(applied.code, 0, applied.stderr);
    const out = applied.stdout;
    for (const line of [
      `namespace/${NAMESPACE} created`, 'serviceaccount/binlog-archiver-controller created', 'role.rbac.authorization.k8s.io/binlog-archiver-leader-election created',
      'clusterrole.rbac.authorization.k8s.io/binlog-archiver-controller created', 'clusterrolebinding.rbac.authorization.k8s.io/binlog-archiver-controller created',
      'rolebinding.rbac.authorization.k8s.io/binlog-archiver-leader-election created', 'service/binlog-archiver-controller-metrics created',
      'deployment.apps/binlog-archiver-controller created',
    ]) assert.ok(out.includes(line), `missing "${line}" in:\n${out}`);
    await ok(['wait', '--for=condition=Established', '--timeout=60s', ...CRS.map((c) => `crd/${c}`)]);
    const deployment = JSON.parse(await ok(['get', 'deployment', 'binlog-archiver-controller', '-n', NAMESPACE, '-o', 'json'])) as {
      spec: { template: { spec: { serviceAccountName: string; containers: { image: string }[] } } };
    };
    assert.equal(deployment.spec.template.spec.serviceAccountName, 'binlog-archiver-controller');
    assert.equal(deployment.spec.template.spec.containers[0]?.image, 'ghcr.io/binlog-archiver/binlog-archiver:0.1.0');
    // The namespace enforces and warns on Pod Security "restricted": the Deployment's pod template passes it.
    assert.doesNotMatch(applied.stderr, /PodSecurity|violate/, applied.stderr);
    const labels = await ok(['get', 'namespace', NAMESPACE, '-o', 'jsonpath={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}']);
    assert.equal(labels, 'restricted');

    const samples = await ok(['apply', '-n', samplesNs, '-f', path.join(DEPLOY, 'samples')]);
    assert.match(samples, /binlogarchivepolicy\.binlog\.archiver\.dev\/mysql-prod created/);
    assert.match(samples, /binlogarchivepolicy\.binlog\.archiver\.dev\/mysql-staging created/);
    assert.match(samples, /binlogarchivepolicy\.binlog\.archiver\.dev\/mysql-gke created/);
    const names = (await ok(['get', 'bap', '-n', samplesNs, '-o', 'jsonpath={.items[*].metadata.name}'])).split(' ').sort();
    assert.deepEqual(names, ['mysql-gke', 'mysql-prod', 'mysql-staging']);
  });

  it('the controller\'s service account can do exactly what deploy/ grants, and no more', async () => {
    await ok(['wait', '--for=condition=Established', '--timeout=60s', ...CRS.map((c) => `crd/${c}`)]);
    // Rules every authenticated identity has (discovery, self reviews): an unbound service account's list.
    const baseline = await grants('system:serviceaccount:nowhere:nobody', samplesNs);
    const own = await grants(SA_USER, NAMESPACE);
    const elsewhere = await grants(SA_USER, samplesNs);
    const extra = (s: Set<string>): string[] => [...s].filter((g) => !baseline.has(g)).sort();
    assert.deepEqual(extra(elsewhere), [...CLUSTER_GRANTS].sort());
    assert.deepEqual(extra(own), [...CLUSTER_GRANTS, ...LEASE_GRANTS].sort());

    // Allowed, spot-checked one by one.
    assert.equal(await canI(['create', 'jobs.batch', '-n', samplesNs]), true);
    assert.equal(await canI(['patch', 'jobs.batch', '-n', samplesNs]), true);
    assert.equal(await canI(['update', 'binlogarchivepolicies.binlog.archiver.dev', '--subresource=status', '-n', samplesNs]), true);
    assert.equal(await canI(['create', 'events.events.k8s.io', '-n', samplesNs]), true);
    assert.equal(await canI(['update', 'leases.coordination.k8s.io/binlog-archiver-controller', '-n', NAMESPACE]), true);
    assert.equal(await canI(['list', 'pods', '--all-namespaces']), true);
    // Denied: what the controller never needs.
    const denied: string[][] = [
      ['get', 'secrets', '-n', samplesNs],
      ['list', 'secrets', '--all-namespaces'],
      ['delete', 'pods', '-n', samplesNs],
      ['create', 'pods', '--subresource=exec', '-n', samplesNs],
      ['update', 'jobs.batch', '-n', samplesNs],
      ['update', 'cronjobs.batch', '-n', samplesNs],
      ['delete', 'binlogarchivepolicies.binlog.archiver.dev', '-n', samplesNs],
      ['create', 'binlogarchivepolicies.binlog.archiver.dev', '-n', samplesNs],
      ['get', 'leases.coordination.k8s.io', '--all-namespaces'],
      ['create', 'leases.coordination.k8s.io', '-n', samplesNs],
      ['list', 'leases.coordination.k8s.io', '-n', NAMESPACE],
      ['update', 'leases.coordination.k8s.io/some-other-lease', '-n', NAMESPACE],
      ['create', 'events', '-n', samplesNs],
      ['get', 'configmaps', '-n', NAMESPACE],
      ['create', 'serviceaccounts/token', '-n', samplesNs],
      ['update', 'customresourcedefinitions.apiextensions.k8s.io'],
    ];
    for (const args of denied) assert.equal(await canI(args), false, `the controller may ${args.join(' ')}`);
  });
});
