/** The controller command's options: usage text, defaults, and parsing of durations and flags. Light: no I/O. */

export const CONTROLLER_USAGE = 'binlog-archiver controller [--kubeconfig FILE | --server URL --token-file FILE [--certificate-authority FILE]] [--namespace NS | --all-namespaces] ' +
  '[--metrics-addr :8080] [--health-addr :8081] [--leader-elect [--lease-namespace NS] [--lease-name NAME]] [--id ID] ' +
  '[--image IMAGE] [--workers N] [--read-store] [--store-check-interval 5m] [--safety-interval 10m] [--resync-period 5m] ' +
  '[--agent-wait-seconds 30] [--log-level debug|info|warn|error]';

export const CONTROLLER_DEFAULTS = {
  metricsAddr: ':8080',
  healthAddr: ':8081',
  leaseName: 'binlog-archiver-controller',
  leaseDuration: '15s',
  renewDeadline: '10s',
  retryPeriod: '2s',
  workers: 4,
  resyncPeriod: '5m',
  safetyInterval: '10m',
  agentSilentAfter: '2m',
  agentWaitSeconds: 30,
  storeCheckInterval: '5m',
  failureBackoff: '30s',
  failureBackoffMax: '10m',
  statusRefresh: '60s',
  imageRepository: 'ghcr.io/binlog-archiver/binlog-archiver',
} as const;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go-style duration ("1m30s", "500ms", "2h") in milliseconds; undefined when malformed or not positive. */
export function parseDurationMs(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = 0;
  let matched = 0;
  while (re.lastIndex < text.length) {
    const start = re.lastIndex;
    const m = re.exec(text);
    if (m === null || m.index !== start) return undefined;
    total += Number(m[1]) * (UNITS[m[2] ?? ''] ?? 0);
    matched += 1;
  }
  return matched > 0 && total > 0 ? Math.round(total) : undefined;
}
