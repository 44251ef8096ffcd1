/**
 * deploy/ and the Dockerfile, without a server: the CRD copies equal the generated CRDs, the kustomize build holds
 * the expected objects, the controller's pod is locked down and its flags exist, the image is built as promised.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { V1ClusterRole, V1Deployment, V1Role, V1Service } from '@kubernetes/client-node';
import { CONTROLLER_USAGE } from '../../src/controller/options.ts';
import { REPO_ROOT } from '../support/testenv.ts';
import { BASE, NAMESPACE, find, kustomizeBuild } from './manifests.ts';

describe('deploy/base (static)', () => {
  it('holds exact copies of every generated CRD, each listed in the kustomization', () => {
    const generated = fs.readdirSync(path.join(REPO_ROOT, 'crds')).filter((f) => f.endsWith('.yaml')).sort();
    const copies = fs.readdirSync(path.join(BASE, 'crds')).sort();
    assert.deepEqual(copies, generated, 'run npm run sync:deploy-crds');
    const kustomization = fs.readFileSync(path.join(BASE, 'kustomization.yaml'), 'utf8');
    for (const name of generated) {
      assert.equal(fs.readFileSync(path.join(BASE, 'crds', name), 'utf8'), fs.readFileSync(path.join(REPO_ROOT, 'crds', name), 'utf8'),
        `deploy/base/crds/${name} differs from crds/${name}: run npm run sync:deploy-crds`);
      assert.ok(kustomization.includes(`- crds/${name}`), `kustomization.yaml does not list crds/${name}`);
    }
  });

  it('builds the namespace, CRDs, RBAC, a locked-down controller Deployment and its metrics Service', async () => {
    const { objects } = await kustomizeBuild();
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'ClusterRole/binlog-archiver-controller', 'ClusterRole/binlog-archiver-edit', 'ClusterRole/binlog-archiver-view',
      'ClusterRoleBinding/binlog-archiver-controller',
      'CustomResourceDefinition/binlogarchivepolicies.binlog.archiver.dev', 'CustomResourceDefinition/binlogrestores.binlog.archiver.dev',
      'Deployment/binlog-archiver-controller', 'Namespace/binlog-archiver-system', 'Role/binlog-archiver-leader-election',
      'RoleBinding/binlog-archiver-leader-election', 'Service/binlog-archiver-controller-metrics', 'ServiceAccount/binlog-archiver-controller',
    ]);
    for (const o of objects) {
      const namespaced = !['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind);
      assert.equal(o.metadata.namespace, namespaced ? NAMESPACE : undefined, `${o.kind}/${o.metadata.name}`);
    }
    const deployment = find(objects, 'Deployment', 'binlog-archiver-controller') as unknown as V1Deployment;
    const pod = deployment.spec?.template.spec;
    const c = pod?.containers[0];
    assert.ok(pod !== undefined && c !== undefined && pod.containers.length === 1);
    assert.equal(pod.serviceAccountName, 'binlog-archiver-controller');
    assert.deepEqual([pod.securityContext?.runAsNonRoot, pod.securityContext?.runAsUser, pod.securityContext?.seccompProfile?.type], [true, 65532, 'RuntimeDefault']);
    assert.deepEqual([c.securityContext?.readOnlyRootFilesystem, c.securityContext?.allowPrivilegeEscalation, c.securityContext?.capabilities?.drop], [true, false, ['ALL']]);
    assert.deepEqual([c.livenessProbe?.httpGet?.path, c.livenessProbe?.httpGet?.port, c.readinessProbe?.httpGet?.path], ['/healthz', 'health', '/readyz']);
    assert.ok(c.resources?.requests?.memory !== undefined && c.resources.limits?.memory !== undefined);
    assert.equal(c.image, 'ghcr.io/binlog-archiver/binlog-archiver:0.1.0');
    assert.equal(c.args?.[0], 'controller');
    assert.ok(c.args?.includes('--leader-elect'));
    // The Jobs run the controller's own image: the replacement copied it into --image.
    assert.ok(c.args?.includes(`--image=${c.image}`), JSON.stringify(c.args));
    // Every flag the Deployment passes is one the controller knows.
    for (const arg of c.args?.slice(1) ?? []) {
      const flag = arg.split('=')[0] as string;
      assert.ok(CONTROLLER_USAGE.includes(`${flag} `) || CONTROLLER_USAGE.includes(`${flag}]`), `controller has no flag ${flag}`);
    }
    const ports: Record<string, number> = Object.fromEntries((c.ports ?? []).map((p): [string, number] => [p.name ?? '', p.containerPort]));
    assert.deepEqual(ports, { metrics: 8080, health: 8081 });
    assert.ok(c.args?.includes('--metrics-addr=:8080') && c.args.includes('--health-addr=:8081'));
    const service = find(objects, 'Service', 'binlog-archiver-controller-metrics') as unknown as V1Service;
    assert.deepEqual(service.spec?.ports?.map((p) => [p.name, p.port, p.targetPort]), [['metrics', 8080, 'metrics']]);
    assert.deepEqual(service.spec?.selector, deployment.spec?.selector.matchLabels);
    // No rule anywhere of the controller's roles names Secrets or a wildcard.
    for (const [kind, name] of [['ClusterRole', 'binlog-archiver-controller'], ['Role', 'binlog-archiver-leader-election']] as const) {
      const role = find(objects, kind, name) as unknown as V1ClusterRole | V1Role;
      for (const rule of role.rules ?? []) {
        assert.ok(!rule.resources?.includes('secrets') && !rule.resources?.includes('*') && !rule.verbs.includes('*'), JSON.stringify(rule));
      }
    }
  });
});

describe('Dockerfile', () => {
  it('is multi-stage on Node 24, installs production dependencies only, runs as 65532 with the CLI as entrypoint', () => {
    const text = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const from = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    assert.ok(from.length >= 2 && from.every((f) => f?.startsWith('node:24')), JSON.stringify(from));
    assert.match(text, /^RUN npm ci --omit=dev/m);
    assert.match(text, /^USER 65532:65532$/m);
    assert.match(text, /^ENTRYPOINT \["node", "bin\/binlog-archiver\.js"\]$/m);
    // Jobs and the agent sidecar run `binlog-archiver` (src/specs): it must be on PATH.
    assert.match(text, /ln -s \/app\/bin\/binlog-archiver\.js \/usr\/local\/bin\/binlog-archiver/);
    const ignore = fs.readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8');
    assert.match(ignore, /^\*$/m);
    for (const kept of ['!package.json', '!package-lock.json', '!bin/', '!src/']) assert.ok(ignore.includes(kept), kept);
  });
});
