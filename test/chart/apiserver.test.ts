/**
 * The rendered chart on the test environment's real kube-apiserver: `kubectl apply --server-side --dry-run=server`
 * of the defaults and of every option on (the API server validates every object, the CRDs and, with the Prometheus
 * Operator's CRDs installed from its Go module, the ServiceMonitor and PrometheusRule against their schemas), and
 * the Argo CD health checks' testdata objects against the BinlogArchivePolicy and BinlogRestore CRDs.
 *
 * The Prometheus Operator CRDs are installed for real and left installed (cluster-wide, shared like the project's
 * CRDs); the namespaces are removed afterwards.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dumpYaml, loadYaml } from '@kubernetes/client-node';
import { prometheusOperatorCrds } from '../../testenv/chart-tools.ts';
import { deleteNamespace, kubectl, ok, uniqueName } from '../api/kubectl.ts';
import { REPO_ROOT, skipUnlessIn } from '../support/testenv.ts';
import { EVERYTHING_ON, tool, render } from './helm.ts';

const HEALTH = path.join(REPO_ROOT, 'deploy', 'argocd', 'resource_customizations', 'binlog.archiver.dev');

async function dryRun(yaml: string, namespace?: string): Promise<string> {
  const r = await kubectl(['apply', '--server-side', '--dry-run=server', '--force-conflicts', '--field-manager=chart-test', ...(namespace === undefined ? [] : ['-n', namespace]), '-f', '-'], yaml);
  assert.equal(r.code, 0, `server dry run refused:\n${r.stderr}`);
  return r.stdout;
}

describe('chart on the real kube-apiserver (server-side dry run)', { skip: skipUnlessIn('kube') }, () => {
  const release = uniqueName('chart');
  const watched = uniqueName('chart-shop');
  before(async () => {
    await tool('helm');
    for (const file of await prometheusOperatorCrds()) await ok(['apply', '--server-side', '--force-conflicts', '--field-manager=chart-test', '-f', file]);
    await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/servicemonitors.monitoring.coreos.com', 'crd/prometheusrules.monitoring.coreos.com']);
    for (const ns of [release, watched]) await ok(['create', 'namespace', ns]);
  });
  after(async () => {
    for (const ns of [release, watched]) await deleteNamespace(ns, 'all');
  });

  it('the defaults: every object is accepted', async () => {
    const { yaml, objects } = await render({}, { namespace: release });
    const out = await dryRun(yaml);
    for (const o of objects) assert.match(out, new RegExp(`${o.metadata.name} serverside-applied \\(server dry run\\)`), `${o.kind} ${o.metadata.name}`);
  });

  it('every option on, ServiceMonitor and PrometheusRule included: every object is accepted', async () => {
    const { yaml, objects } = await render({ ...EVERYTHING_ON, watchNamespace: watched }, { release: 'ops', namespace: release });
    assert.ok(objects.some((o) => o.kind === 'PrometheusRule') && objects.some((o) => o.kind === 'ServiceMonitor'));
    const out = await dryRun(yaml);
    for (const o of objects) assert.match(out, new RegExp(`${o.metadata.name} serverside-applied \\(server dry run\\)`), `${o.kind} ${o.metadata.name}`);
  });

  it('the monitoring CRDs are really there: a ServiceMonitor with a wrong field type is refused', async () => {
    const { objects } = await render({ monitoring: { serviceMonitor: { enabled: true } } }, { namespace: release });
    const monitor = objects.find((o) => o.kind === 'ServiceMonitor');
    assert.ok(monitor !== undefined);
    const broken = { ...monitor, spec: { ...(monitor.spec as object), endpoints: [{ port: 'metrics', honorLabels: 'yes' }] } };
    const r = await kubectl(['apply', '--server-side', '--dry-run=server', '--field-manager=chart-test', '-f', '-'], dumpYaml(broken));
    assert.notEqual(r.code, 0, 'the API server accepted a ServiceMonitor with honorLabels: "yes": its CRD is not installed');
    assert.match(r.stderr, /honorLabels/);
  });

  it('the Argo CD health checks\' testdata are valid BinlogArchivePolicies and BinlogRestores', async () => {
    const docs: string[] = [];
    for (const kind of ['BinlogArchivePolicy', 'BinlogRestore']) {
      for (const file of fs.readdirSync(path.join(HEALTH, kind, 'testdata'))) {
        const { status: _status, ...o } = loadYaml<{ metadata: Record<string, unknown>; status?: unknown }>(fs.readFileSync(path.join(HEALTH, kind, 'testdata', file), 'utf8'));
        // Only what a user writes: the API server keeps metadata.generation and status for itself.
        docs.push(dumpYaml({ ...o, metadata: { name: `${path.basename(file, '.yaml')}-${kind.toLowerCase()}`.slice(0, 63) } }));
      }
    }
    await dryRun(docs.join('---\n'), watched);
  });
});
