/**
 * One source for the RBAC rules: the chart renders exactly the rules of the kustomize base (deploy/base/rbac,
 * where they are written), for the controller, its leader election and the roles for people. A rule added to
 * deploy/ without `npm run gen:chart` fails here (and in generated.test.ts).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadAll } from 'js-yaml';
import { find, kustomizeBuild, type Manifest } from '../deploy/manifests.ts';
import { tool, pick, render } from './helm.ts';

type Role = Manifest & { rules: unknown[] };

/** `kubectl kustomize deploy/base` as plain objects (as written, not client-node's classes). */
async function base(): Promise<Manifest[]> {
  return loadAll((await kustomizeBuild()).yaml) as Manifest[];
}

describe('chart: RBAC rendered = deploy/ RBAC', () => {
  before(async () => {
    await tool('helm');
  });

  it('with the release named binlog-archiver, every Role and ClusterRole has the rules of deploy/base', async () => {
    const [objects, { objects: chart }] = await Promise.all([base(), render()]);
    const roles = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
    assert.deepEqual(roles.map((o) => o.metadata.name).toSorted(),
      ['binlog-archiver-controller', 'binlog-archiver-edit', 'binlog-archiver-leader-election', 'binlog-archiver-view']);
    for (const role of roles) {
      const rendered = pick(chart, role.kind, role.metadata.name) as Role;
      assert.deepEqual(rendered.rules, (role as Role).rules, `${role.kind} ${role.metadata.name}`);
      assert.equal(rendered.metadata.namespace, role.metadata.namespace);
    }
    // The bindings bind the same roles to the same ServiceAccount.
    for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
      for (const binding of objects.filter((o) => o.kind === kind)) {
        const rendered = pick(chart, kind, binding.metadata.name);
        assert.deepEqual({ roleRef: rendered.roleRef, subjects: rendered.subjects }, { roleRef: binding.roleRef, subjects: binding.subjects }, binding.metadata.name);
      }
    }
  });

  it('the Deployments run the same controller: same args (but the chart\'s explicit defaults), ports, probes, contexts', async () => {
    const [objects, { objects: chart }] = await Promise.all([base(), render()]);
    type D = Manifest & { spec: { replicas: number; template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } } } };
    const b = find(objects, 'Deployment', 'binlog-archiver-controller') as D;
    const c = pick(chart, 'Deployment', 'binlog-archiver-controller') as D;
    assert.equal(c.spec.replicas, b.spec.replicas);
    const [bc] = b.spec.template.spec.containers;
    const [cc] = c.spec.template.spec.containers;
    assert.ok(bc !== undefined && cc !== undefined);
    for (const field of ['ports', 'livenessProbe', 'readinessProbe', 'resources', 'securityContext', 'volumeMounts']) assert.deepEqual(cc[field], bc[field], field);
    for (const field of ['securityContext', 'volumes', 'serviceAccountName', 'terminationGracePeriodSeconds']) {
      assert.deepEqual(c.spec.template.spec[field], b.spec.template.spec[field], field);
    }
    const explicit = ['--lease-name=binlog-archiver-controller', '--log-level=info', '--workers=4'];
    assert.deepEqual((cc.args as string[]).filter((a) => !explicit.includes(a)), bc.args);
  });
});
