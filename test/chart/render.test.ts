/**
 * The chart renders what the values say: helm lint, the defaults (names of deploy/base, restricted security
 * contexts, leader election, CRDs equal to crds/ and kept on uninstall), every option on, and values the schema
 * or the templates refuse. helm is built from its Go module (testenv/chart-tools.ts) on first use.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { load } from 'js-yaml';
import { REPO_ROOT } from '../support/testenv.ts';
import type { Manifest } from '../deploy/manifests.ts';
import { CHART, EVERYTHING_ON, tool, helm, pick, render, template, valuesFile } from './helm.ts';

type Pod = { securityContext: Record<string, unknown>; containers: { image: string; args: string[]; securityContext: Record<string, unknown>; resources: unknown; ports: { containerPort: number }[] }[] } & Record<string, unknown>;

function podSpec(objects: Manifest[]): Pod {
  const d = pick(objects, 'Deployment') as Manifest & { spec: { replicas: number; template: { spec: Pod; metadata: { labels: Record<string, string> } } } };
  return d.spec.template.spec;
}

describe('chart: helm lint and helm template', () => {
  before(async () => {
    await tool('helm');
  });

  it('helm lint --strict passes with the defaults and with every option on', async () => {
    for (const args of [[], ['-f', valuesFile(EVERYTHING_ON)]]) {
      const r = await helm(['lint', '--strict', CHART, ...args]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('defaults: the objects and names of deploy/base, two replicas with leader election, restricted contexts', async () => {
    const { objects } = await render();
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).toSorted(), [
      'ClusterRole/binlog-archiver-controller', 'ClusterRole/binlog-archiver-edit', 'ClusterRole/binlog-archiver-view',
      'ClusterRoleBinding/binlog-archiver-controller',
      'CustomResourceDefinition/binlogarchivepolicies.binlog.archiver.dev', 'CustomResourceDefinition/binlogrestores.binlog.archiver.dev',
      'Deployment/binlog-archiver-controller', 'Role/binlog-archiver-leader-election', 'RoleBinding/binlog-archiver-leader-election',
      'Service/binlog-archiver-controller-metrics', 'ServiceAccount/binlog-archiver-controller',
    ]);
    const deployment = pick(objects, 'Deployment') as Manifest & { spec: { replicas: number } };
    assert.equal(deployment.spec.replicas, 2);
    const pod = podSpec(objects);
    const [container] = pod.containers;
    assert.ok(container !== undefined);
    assert.equal(container.image, 'ghcr.io/binlog-archiver/binlog-archiver:0.1.0');
    assert.deepEqual(container.args, ['controller', '--leader-elect', '--lease-name=binlog-archiver-controller', '--metrics-addr=:8080',
      '--health-addr=:8081', '--image=ghcr.io/binlog-archiver/binlog-archiver:0.1.0', '--log-level=info', '--workers=4']);
    assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    assert.deepEqual(container.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    assert.equal(objects.some((o) => o.kind === 'ServiceMonitor' || o.kind === 'PrometheusRule'), false);
  });

  it('the CRDs are crds/*.yaml with helm.sh/resource-policy: keep', async () => {
    const { objects } = await render();
    for (const file of fs.readdirSync(path.join(REPO_ROOT, 'crds')).filter((f) => f.endsWith('.yaml'))) {
      const source = load(fs.readFileSync(path.join(REPO_ROOT, 'crds', file), 'utf8')) as Manifest & { metadata: { annotations?: Record<string, string> } };
      const rendered = pick(objects, 'CustomResourceDefinition', source.metadata.name) as typeof source;
      assert.equal(rendered.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
      assert.deepEqual(rendered.spec, source.spec, `${file}: the rendered spec differs from crds/`);
    }
  });

  it('crds.create=false renders no CRD', async () => {
    const { objects } = await render({ crds: { create: false } });
    assert.equal(objects.filter((o) => o.kind === 'CustomResourceDefinition').length, 0);
  });

  it('every option on: image digest, one watched namespace with a RoleBinding there, scheduling, args, monitoring', async () => {
    const { objects } = await render(EVERYTHING_ON, { release: 'ops', namespace: 'ops' });
    const pod = podSpec(objects);
    const [container] = pod.containers;
    assert.ok(container !== undefined);
    const image = `registry.example.com/binlog-archiver@sha256:${'ab'.repeat(32)}`;
    assert.equal(container.image, image);
    assert.deepEqual(container.args, ['controller', '--leader-elect', '--lease-name=ops-binlog-archiver-controller', '--namespace=shop',
      '--metrics-addr=:9090', '--health-addr=:9091', `--image=${image}`, '--log-level=debug', '--workers=8', '--read-store', '--safety-interval=5m']);
    assert.deepEqual(container.resources, EVERYTHING_ON.resources);
    assert.deepEqual(container.ports.map((p) => p.containerPort), [9090, 9091]);
    assert.deepEqual(pod.nodeSelector, EVERYTHING_ON.nodeSelector);
    assert.deepEqual(pod.tolerations, EVERYTHING_ON.tolerations);
    assert.deepEqual(pod.affinity, EVERYTHING_ON.affinity);
    assert.deepEqual(pod.imagePullSecrets, EVERYTHING_ON.imagePullSecrets);
    assert.equal(pod.priorityClassName, 'system-cluster-critical');
    assert.equal((pick(objects, 'Deployment') as Manifest & { spec: { replicas: number } }).spec.replicas, 3);
    // One namespace: the controller's rights are bound there, not cluster-wide; the Lease stays in the release namespace.
    assert.equal(objects.some((o) => o.kind === 'ClusterRoleBinding'), false);
    const binding = pick(objects, 'RoleBinding', 'ops-binlog-archiver-controller') as Manifest & { roleRef: { kind: string } };
    assert.equal(binding.metadata.namespace, 'shop');
    assert.equal(binding.roleRef.kind, 'ClusterRole');
    const lease = pick(objects, 'Role', 'ops-binlog-archiver-leader-election') as Manifest & { rules: { resourceNames?: string[] }[] };
    assert.equal(lease.metadata.namespace, 'ops');
    assert.deepEqual(lease.rules.flatMap((r) => r.resourceNames ?? []), ['ops-binlog-archiver-controller']);
    const sa = pick(objects, 'ServiceAccount') as Manifest & { metadata: { annotations: Record<string, string> } };
    assert.deepEqual(sa.metadata.annotations, EVERYTHING_ON.serviceAccount.annotations);
    const monitor = pick(objects, 'ServiceMonitor') as Manifest & { spec: { endpoints: Record<string, unknown>[] } };
    assert.equal(monitor.metadata.labels?.release, 'prometheus');
    assert.deepEqual(monitor.spec.endpoints, [{ port: 'metrics', path: '/metrics', honorLabels: true, interval: '15s', scrapeTimeout: '10s' }]);
    const rule = pick(objects, 'PrometheusRule') as Manifest & { spec: { groups: { rules: { alert: string; expr: string; labels: Record<string, string> }[] }[] } };
    const alerts = rule.spec.groups.flatMap((g) => g.rules);
    assert.ok(alerts.every((a) => a.labels.team === 'dba'));
    assert.match(alerts.find((a) => a.alert === 'BinlogArchiveLagHigh')?.expr ?? '', /> 600$/);
    assert.match(alerts.find((a) => a.alert === 'BinlogArchiveNoRecentSuccess')?.expr ?? '', /> 3600$/);
  });

  it('one replica without leader election renders no Lease Role; aggregated roles and RBAC can be left out', async () => {
    const { objects } = await render({ replicaCount: 1, leaderElection: { enabled: false }, rbac: { aggregateToDefaultRoles: false } });
    const [container] = podSpec(objects).containers;
    assert.equal(container?.args.includes('--leader-elect'), false);
    assert.equal(objects.some((o) => o.kind === 'Role'), false);
    assert.equal(objects.filter((o) => o.kind === 'ClusterRole').length, 1);
    const none = await render({ rbac: { create: false, aggregateToDefaultRoles: false }, serviceAccount: { create: false, name: 'mine' } });
    assert.equal(none.objects.some((o) => /Role/.test(o.kind) || o.kind === 'ServiceAccount'), false);
    assert.equal(podSpec(none.objects).serviceAccountName, 'mine');
  });

  it('refuses unknown keys, wrong types and contradictions, naming them', async () => {
    const cases: [unknown, RegExp][] = [
      [{ replicas: 2 }, /additional properties 'replicas' not allowed/i],
      [{ image: { repo: 'x' } }, /additional properties 'repo' not allowed/i],
      [{ replicaCount: 'two' }, /replicaCount.*(integer|number)/is],
      [{ logLevel: 'verbose' }, /logLevel/],
      [{ watchNamespace: 'Not_A_Namespace' }, /watchNamespace/],
      [{ monitoring: { serviceMonitor: { enabled: 'yes' } } }, /enabled.*boolean/is],
      [{ extraArgs: ['verbose'] }, /extraArgs/],
      [{ image: { digest: 'latest' } }, /digest/],
      [{ replicaCount: 2, leaderElection: { enabled: false } }, /replicaCount above 1 needs leaderElection.enabled/],
      [{ serviceAccount: { create: false } }, /serviceAccount.name is required/],
    ];
    for (const [values, message] of cases) {
      const r = await template(values);
      assert.notEqual(r.code, 0, `accepted ${JSON.stringify(values)}`);
      assert.match(r.stderr, message, `${JSON.stringify(values)}: ${r.stderr}`);
    }
  });
});
