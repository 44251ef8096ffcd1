/**
 * The PrometheusRule's alerts against the controller's real metrics: `promtool check rules` on the rendered rules,
 * then `promtool test rules` with input series scraped (series.ts) from the controller's metrics registry driven
 * into each state an alert is about, and into a healthy state where none fires. Expected annotations are the
 * rendered templates with the alert's labels and value filled in, so a broken template fails too.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { type PolicyFacts, type SourceFacts, continuousArchivingCondition, migrationParityCondition, readyCondition, systemClock } from '../../src/api/conditions.ts';
import { RESTORE_REASON } from '../../src/api/restore-conditions.ts';
import type { ControllerMetrics } from '../../src/metrics/metrics.ts';
import type { Manifest } from '../deploy/manifests.ts';
import { tool, exec, pick, render } from './helm.ts';
import { scrapeScenario, type Target } from './series.ts';

const NS = 'binlog-archiver-system';
const LEADER: Target = { namespace: NS, pod: 'binlog-archiver-controller-7d9f-a' };
const STANDBY: Target = { namespace: NS, pod: 'binlog-archiver-controller-7d9f-b' };
const SOURCE = { namespace: 'shop', policy: 'mysql-prod', source: 'shop-mysql-0' };
const POLICY = { namespace: 'shop', policy: 'mysql-prod' };

interface Rule {
  alert: string;
  expr: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

const ALERTS = ['BinlogArchiveLagHigh', 'BinlogArchiveAtRiskOfPurge', 'BinlogArchiveGapDetected', 'BinlogArchiveJobsFailing',
  'BinlogArchiveKeyProviderUnavailable', 'BinlogArchiveStorageUnavailable', 'BinlogArchiveNoRecentSuccess', 'BinlogArchiveMigrationParityMismatch', 'BinlogArchiveNotVerified', 'BinlogRestoreFailed',
  'BinlogArchiverNoLeader', 'BinlogArchiverNotReconciling'];

const FACTS: PolicyFacts = {
  suspended: false, storage: { ok: true }, keyProvider: { ok: true }, purgeThresholdSeconds: 3600,
  sources: [{ server: SOURCE.source, archived: 40, pendingBinlogs: 0, lagSeconds: 4, gaps: 0 }],
};

/**
 * What the leader reports each minute for a policy in the state `facts` describe: the conditions come from the
 * controller's own condition builders (so "AtRiskOfPurge" is whatever they make of the facts), the gauges as
 * setPolicyMetrics sets them; reconciles go on and, unless `lastSuccess` says otherwise, the last success is now.
 */
function report(m: ControllerMetrics, minute: number, facts: PolicyFacts = FACTS, lastSuccess = minute * 60): void {
  m.leader.set(1);
  m.reconciles.inc({ result: 'success' });
  const ctx = { generation: 1, clock: systemClock };
  for (const c of [readyCondition(facts, ctx), continuousArchivingCondition(facts, ctx)]) m.setCondition(POLICY.namespace, POLICY.policy, c.type, c.status, c.reason);
  m.dependencyUp.set({ ...POLICY, dependency: 'storage' }, facts.storage.ok ? 1 : 0);
  m.dependencyUp.set({ ...POLICY, dependency: 'keyProvider' }, facts.keyProvider.ok ? 1 : 0);
  for (const f of facts.sources) {
    const labels = { ...POLICY, source: f.server };
    m.lagSeconds.set(labels, f.lagSeconds);
    m.pendingBinlogs.set(labels, f.pendingBinlogs);
    if (f.secondsUntilPurge === undefined) m.secondsUntilPurge.remove(labels);
    else m.secondsUntilPurge.set(labels, f.secondsUntilPurge);
    m.gaps.set(labels, f.gaps);
    m.lastSuccess.set(labels, lastSuccess);
  }
}

/** FACTS with the one source changed. */
function source(change: Partial<SourceFacts>): PolicyFacts {
  return { ...FACTS, sources: FACTS.sources.map((f) => ({ ...f, ...change })) };
}

const healthy = (m: ControllerMetrics, minute: number) => report(m, minute);

const standby = (m: ControllerMetrics) => m.leader.set(0);

interface Case {
  name: string;
  minutes: number;
  leader: (m: ControllerMetrics, minute: number) => void;
  /** The alert, when it fires, its labels (besides severity) and value as the annotations show it. */
  expect: { alert: string; evalMinute: number; labels: Record<string, string>; value?: string }[];
}

const CASES: Case[] = [
  { name: 'healthy: nothing fires', minutes: 180, leader: healthy, expect: [] },
  {
    name: 'lag over the threshold for 5 minutes', minutes: 12,
    leader: (m, t) => report(m, t, source({ lagSeconds: 1200, pendingBinlogs: 3 })),
    expect: [{ alert: 'BinlogArchiveLagHigh', evalMinute: 10, labels: SOURCE, value: '20m 0s' }],
  },
  {
    name: 'AtRiskOfPurge', minutes: 3,
    leader: (m, t) => report(m, t, source({ pendingBinlogs: 3, lagSeconds: 600, secondsUntilPurge: 240 })),
    expect: [{ alert: 'BinlogArchiveAtRiskOfPurge', evalMinute: 2, labels: POLICY }],
  },
  {
    name: 'a gap', minutes: 3,
    leader: (m, t) => {
      report(m, t, source({ gaps: 2 }));
      if (t === 0) m.gapsDetected.inc(SOURCE);
    },
    expect: [{ alert: 'BinlogArchiveGapDetected', evalMinute: 2, labels: SOURCE, value: '2' }],
  },
  {
    name: 'the legacy pipeline differs for 30 minutes (spec.migration)', minutes: 35,
    leader: (m, t) => {
      report(m, t);
      const c = migrationParityCondition([{ server: SOURCE.source, ok: false, consecutiveMatchingCycles: 0, detail: 'differs: mysql-bin.000042', error: null }], 1, 3, { generation: 1, clock: systemClock });
      m.setCondition(POLICY.namespace, POLICY.policy, c.type, c.status, c.reason);
    },
    expect: [{ alert: 'BinlogArchiveMigrationParityMismatch', evalMinute: 32, labels: POLICY }],
  },
  {
    name: 'no successful verification for 50 hours (spec.verification)', minutes: 15,
    leader: (m, t) => {
      report(m, t);
      // The gauge counts from this time at each scrape.
      m.setLastVerified(POLICY.namespace, POLICY.policy, Date.now() - 50 * 3600_000);
    },
    expect: [{ alert: 'BinlogArchiveNotVerified', evalMinute: 12, labels: POLICY }],
  },
  {
    name: 'archive Jobs failing for 15 minutes', minutes: 20,
    leader: (m, t) => {
      report(m, t, source({ lastRunFailure: 'EBINLOGACTIVE: mysql-bin.000043 is still being written' }), 0);
      m.archiveFailures.inc({ ...SOURCE, reason: 'EBINLOGACTIVE' });
    },
    expect: [{ alert: 'BinlogArchiveJobsFailing', evalMinute: 17, labels: POLICY }],
  },
  {
    name: 'key provider unavailable', minutes: 8,
    leader: (m, t) => report(m, t, { ...FACTS, keyProvider: { ok: false, message: 'KMS GenerateDataKey: AccessDeniedException' } }, 0),
    expect: [{ alert: 'BinlogArchiveKeyProviderUnavailable', evalMinute: 7, labels: POLICY }],
  },
  {
    name: 'storage unavailable', minutes: 8,
    leader: (m, t) => report(m, t, { ...FACTS, storage: { ok: false, message: 'PutObject: NoSuchBucket' } }, 0),
    expect: [{ alert: 'BinlogArchiveStorageUnavailable', evalMinute: 7, labels: POLICY }],
  },
  {
    name: 'no successful archive for over 120 minutes', minutes: 125,
    leader: (m, t) => report(m, t, FACTS, 60),
    expect: [{ alert: 'BinlogArchiveNoRecentSuccess', evalMinute: 125, labels: SOURCE, value: '2h 4m 0s' }],
  },
  {
    name: 'a restore failed (the first failure the controller counts)', minutes: 10,
    leader: (m, t) => {
      healthy(m, t);
      if (t === 2) m.restores.inc({ namespace: 'shop', result: 'Succeeded', reason: RESTORE_REASON.RestoreSucceeded });
      if (t === 5) m.restores.inc({ namespace: 'shop', result: 'Failed', reason: RESTORE_REASON.BinlogGapDetected });
    },
    expect: [{ alert: 'BinlogRestoreFailed', evalMinute: 6, labels: { namespace: 'shop', reason: RESTORE_REASON.BinlogGapDetected } }],
  },
  {
    name: 'no replica leads', minutes: 8,
    leader: (m, t) => {
      report(m, t);
      m.leader.set(0);
    },
    expect: [{ alert: 'BinlogArchiverNoLeader', evalMinute: 7, labels: {} }],
  },
  {
    name: 'the leader stopped reconciling', minutes: 40,
    leader: (m, t) => { if (t < 10) healthy(m, t); },
    expect: [{ alert: 'BinlogArchiverNotReconciling', evalMinute: 40, labels: {} }],
  },
];

/** The rendered annotation with the alert's labels and value in place of the template actions. */
function expand(template: string, labels: Record<string, string>, value: string | undefined): string {
  const out = template
    .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, k: string) => labels[k] ?? '')
    .replace(/\{\{ \$value( \| humanizeDuration)? \}\}/g, () => value ?? '');
  assert.doesNotMatch(out, /\{\{/, `template action left in ${template}`);
  return out;
}

describe('chart: PrometheusRule alerts on the controller\'s real metrics (promtool)', () => {
  let dir: string;
  let rules: Rule[];
  before(async () => {
    await tool('helm');
    const { objects } = await render({ monitoring: { prometheusRule: { enabled: true } } }, { namespace: NS });
    const rule = pick(objects, 'PrometheusRule') as Manifest & { spec: { groups: { name: string; rules: Rule[] }[] } };
    rules = rule.spec.groups.flatMap((g) => g.rules);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chart-alerts-'));
    fs.writeFileSync(path.join(dir, 'rules.yaml'), JSON.stringify({ groups: rule.spec.groups }));
  });

  it('promtool check rules accepts every rule; each alert has a summary, a description and a runbook in docs/RUNBOOKS.md', async () => {
    const r = await exec(await tool('promtool'), ['check', 'rules', path.join(dir, 'rules.yaml')]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${ALERTS.length} rules found`));
    assert.deepEqual(rules.map((x) => x.alert), ALERTS);
    const runbooks = fs.readFileSync(path.join(import.meta.dirname, '..', '..', 'docs', 'RUNBOOKS.md'), 'utf8');
    for (const x of rules) {
      assert.ok((x.annotations.summary ?? '') !== '' && (x.annotations.description ?? '').length > 80, x.alert);
      assert.equal(x.annotations.runbook_url, `https://github.com/binlog-archiver/binlog-archiver/blob/main/docs/RUNBOOKS.md#${x.alert.toLowerCase()}`);
      assert.ok(runbooks.includes(`\n## ${x.alert}\n`), `docs/RUNBOOKS.md has no section ## ${x.alert}`);
    }
  });

  it('promtool test rules: each alert fires in its state, with its labels and annotations, and no other alert does', async () => {
    const tests = [];
    for (const c of CASES) {
      const input = await scrapeScenario([{ target: LEADER, drive: c.leader }, { target: STANDBY, drive: standby }], c.minutes);
      const checks = ALERTS.map((alert) => {
        const hit = c.expect.find((e) => e.alert === alert);
        const rule = rules.find((x) => x.alert === alert);
        assert.ok(rule !== undefined);
        if (hit === undefined) return { eval_time: `${c.minutes}m`, alertname: alert, exp_alerts: [] };
        const annotations = Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k, expand(v, hit.labels, hit.value)]));
        return { eval_time: `${hit.evalMinute}m`, alertname: alert, exp_alerts: [{ exp_labels: { ...hit.labels, ...rule.labels }, exp_annotations: annotations }] };
      });
      tests.push({ name: c.name, interval: '1m', input_series: input, alert_rule_test: checks });
    }
    const file = path.join(dir, 'tests.yaml');
    fs.writeFileSync(file, JSON.stringify({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests }));
    const r = await exec(await tool('promtool'), ['test', 'rules', file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS/);
  });

  it('the inputs are the registry\'s real series: every metric an alert reads is one the controller exports', async () => {
    const input = await scrapeScenario([{ target: LEADER, drive: (m, t) => {
      healthy(m, t);
      m.secondsUntilPurge.set(SOURCE, 1);
      m.setLastVerified(POLICY.namespace, POLICY.policy, Date.now());
      m.restores.inc({ namespace: 'shop', result: 'Failed', reason: RESTORE_REASON.JobFailed });
    } }], 0);
    const exported = new Set(input.map((s) => s.series.replace(/\{.*$/, '')));
    for (const x of rules) {
      for (const name of x.expr.match(/binlog_archiver_\w+/g) ?? []) assert.ok(exported.has(name), `${x.alert} reads ${name}, which the registry does not export`);
    }
  });
});
