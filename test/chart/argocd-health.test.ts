/**
 * The Argo CD health checks in deploy/argocd/resource_customizations, run as Argo CD runs them (gopher-lua, Lua
 * 5.1, the object as `obj`) on every case of their health_test.yaml (Argo CD's own test format), and on objects
 * that lack what a script might index without a check (a status without conditions, conditions without reasons).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { loadYaml } from '@kubernetes/client-node';
import { REPO_ROOT } from '../support/testenv.ts';
import { tool, exec } from './helm.ts';

const ROOT = path.join(REPO_ROOT, 'deploy', 'argocd', 'resource_customizations', 'binlog.archiver.dev');

interface Health {
  status: string;
  message: string;
}

interface HealthTests {
  tests: { healthStatus: Health; inputPath: string }[];
}

async function healthOf(kind: string, objects: unknown[]): Promise<Health[]> {
  const script = fs.readFileSync(path.join(ROOT, kind, 'health.lua'), 'utf8');
  const r = await exec(await tool('luaHealth'), [], JSON.stringify({ script, objects }));
  if (r.code !== 0) throw new Error(`lua-health failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Health[];
}

describe('Argo CD health checks (gopher-lua)', () => {
  before(async () => {
    await tool('luaHealth');
  });

  for (const kind of ['BinlogArchivePolicy', 'BinlogRestore']) {
    it(`${kind}: every case of health_test.yaml`, async () => {
      const { tests } = loadYaml<HealthTests>(fs.readFileSync(path.join(ROOT, kind, 'health_test.yaml'), 'utf8'));
      assert.ok(tests.length >= 8, `only ${tests.length} cases`);
      // Every testdata file is a case, and every case's object is of the kind.
      assert.deepEqual(tests.map((t) => t.inputPath).toSorted(), fs.readdirSync(path.join(ROOT, kind, 'testdata')).map((f) => `testdata/${f}`).toSorted());
      const objects = tests.map((t) => loadYaml<{ kind: string }>(fs.readFileSync(path.join(ROOT, kind, t.inputPath), 'utf8')));
      for (const o of objects) assert.equal(o.kind, kind);
      const got = await healthOf(kind, objects);
      tests.forEach((t, i) => assert.deepEqual(got[i], t.healthStatus, t.inputPath));
      const statuses = new Set(tests.map((t) => t.healthStatus.status));
      for (const s of ['Healthy', 'Progressing', 'Degraded']) assert.ok(statuses.has(s), `no ${s} case`);
    });

    it(`${kind}: sparse objects give Progressing, never a Lua error`, async () => {
      const meta = { name: 'x', namespace: 'y', generation: 1 };
      const got = await healthOf(kind, [
        { kind, metadata: meta },
        { kind, metadata: meta, status: {} },
        { kind, metadata: meta, status: { observedGeneration: 1, conditions: [] } },
        { kind, metadata: { name: 'x' }, status: { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'Pending' }] } },
        { kind, metadata: { name: 'x' }, status: { conditions: [{ type: 'Ready', status: 'Unknown', message: 'no reason given' }] } },
      ]);
      for (const h of got) assert.equal(h.status, 'Progressing', JSON.stringify(h));
    });
  }

  it('a gap, a purge risk and a provider outage degrade a policy even while Ready is True or Reconciling', async () => {
    const c = (type: string, status: string, reason: string) => ({ type, status, reason, message: `${reason} here` });
    const policy = (conditions: unknown[]) => ({ kind: 'BinlogArchivePolicy', metadata: { name: 'p', generation: 4 }, status: { observedGeneration: 4, conditions } });
    const got = await healthOf('BinlogArchivePolicy', [
      policy([c('Ready', 'True', 'ArchivingSucceeded'), c('Reconciling', 'True', 'Archiving'), c('ContinuousArchiving', 'False', 'AtRiskOfPurge')]),
      policy([c('Ready', 'True', 'ArchivingSucceeded'), c('ContinuousArchiving', 'False', 'BinlogGapDetected')]),
      policy([c('Reconciling', 'True', 'Archiving'), c('Ready', 'False', 'KeyProviderUnavailable')]),
    ]);
    assert.deepEqual(got.map((h) => h.status), ['Degraded', 'Degraded', 'Degraded']);
    assert.deepEqual(got.map((h) => h.message), ['AtRiskOfPurge: AtRiskOfPurge here', 'BinlogGapDetected: BinlogGapDetected here', 'KeyProviderUnavailable: KeyProviderUnavailable here']);
  });
});
