/**
 * promtool unit-test input from the controller's real metrics registry: a scenario drives a ControllerMetrics (the
 * registry the controller serves on /metrics) minute by minute, each minute's exposition text is parsed into
 * samples, and the samples become promtool input_series, with the labels a ServiceMonitor scrape adds (honorLabels:
 * a series' own namespace label wins, the others get the controller's namespace).
 */
import { ControllerMetrics } from '../../src/metrics/metrics.ts';

export interface Target {
  namespace: string;
  pod: string;
}

/** One exposition line: `name{a="b",...} value`. HELP and TYPE lines are skipped. */
export function parseExposition(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] ?? ''] = (l[2] ?? '').replace(/\\(.)/g, '$1');
    out.push({ name: m[1] ?? '', labels, value: Number(m[3]) });
  }
  return out;
}

function seriesKey(name: string, labels: Record<string, string>): string {
  const inner = Object.keys(labels).toSorted().map((k) => `${k}="${(labels[k] ?? '').replace(/["\\]/g, '\\$&')}"`).join(',');
  return `${name}{${inner}}`;
}

/**
 * Scrapes `minutes` + 1 times (minute 0 to `minutes`), calling `drive(metrics, minute)` before each scrape, from
 * one registry per target. A series absent at a scrape is `_` there (promtool's missing sample).
 */
export async function scrapeScenario(targets: { target: Target; drive: (m: ControllerMetrics, minute: number) => void }[], minutes: number): Promise<{ series: string; values: string }[]> {
  const samples = new Map<string, (number | undefined)[]>();
  for (const { target, drive } of targets) {
    const metrics = new ControllerMetrics({ defaultMetrics: false });
    for (let minute = 0; minute <= minutes; minute += 1) {
      drive(metrics, minute);
      for (const s of parseExposition(await metrics.text())) {
        const labels = { namespace: target.namespace, ...s.labels, pod: target.pod, job: 'binlog-archiver-controller-metrics', instance: `${target.pod}:8080` };
        const key = seriesKey(s.name, labels);
        const row = samples.get(key) ?? new Array<number | undefined>(minutes + 1).fill(undefined);
        row[minute] = s.value;
        samples.set(key, row);
      }
    }
  }
  return [...samples].map(([series, row]) => ({ series, values: row.map((v) => (v === undefined ? '_' : String(v))).join(' ') }));
}
