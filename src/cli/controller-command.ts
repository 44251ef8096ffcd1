/**
 * `binlog-archiver controller`: runs the operator's controller until SIGTERM or SIGINT (then releases the Lease and
 * returns 0), or until it loses leadership (returns 1, so the Deployment restarts it as a standby).
 */
import fs from 'node:fs';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { ArchiverError } from '../errors.ts';
import { createLogger, type Level } from '../logger.ts';
import { ControllerMetrics } from '../metrics/metrics.ts';
import { Controller, type ControllerSettings } from '../controller/controller.ts';
import { KubeClient, type RequestRecord } from '../controller/kube/client.ts';
import { CONTROLLER_DEFAULTS, CONTROLLER_USAGE, parseDurationMs } from '../controller/options.ts';
import { serve } from '../controller/http.ts';
import { StoreReader } from '../controller/store-view.ts';
import { integer, optional, parse } from './args.ts';
import type { Io } from './output.ts';

const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error'];
const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function usage(message: string): ArchiverError {
  return new ArchiverError('EUSAGE', `controller: ${message}`, { hint: `usage: ${CONTROLLER_USAGE}` });
}

function duration(values: Record<string, unknown>, name: string, fallback: string): number {
  const text = optional(values, name) ?? fallback;
  const ms = parseDurationMs(text);
  if (ms === undefined) throw usage(`--${name} ${JSON.stringify(text)} is not a positive duration such as 30s, 5m or 1h`);
  return ms;
}

function version(): string {
  try {
    return (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The namespace the controller runs in: its service account's, else the watched one, else default. */
function ownNamespace(watched: string | undefined): string {
  try {
    return fs.readFileSync(SA_NAMESPACE_FILE, 'utf8').trim();
  } catch {
    return process.env.POD_NAMESPACE ?? watched ?? 'default';
  }
}

function stopSignal(): { promise: Promise<void>; dispose(): void } {
  let dispose = () => undefined as void;
  const promise = new Promise<void>((resolve) => {
    const on = () => resolve();
    process.once('SIGTERM', on);
    process.once('SIGINT', on);
    dispose = () => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
    };
  });
  return { promise, dispose };
}

export async function controllerCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('controller', argv, {
    kubeconfig: { type: 'string' }, server: { type: 'string' }, 'token-file': { type: 'string' }, 'certificate-authority': { type: 'string' }, namespace: { type: 'string' }, 'all-namespaces': { type: 'boolean' },
    'metrics-addr': { type: 'string' }, 'health-addr': { type: 'string' },
    'leader-elect': { type: 'boolean' }, 'lease-namespace': { type: 'string' }, 'lease-name': { type: 'string' }, id: { type: 'string' },
    'lease-duration': { type: 'string' }, 'renew-deadline': { type: 'string' }, 'retry-period': { type: 'string' },
    image: { type: 'string' }, workers: { type: 'string' }, 'resync-period': { type: 'string' }, 'safety-interval': { type: 'string' },
    'agent-silent-after': { type: 'string' }, 'agent-wait-seconds': { type: 'string' }, 'read-store': { type: 'boolean' },
    'store-check-interval': { type: 'string' }, 'failure-backoff': { type: 'string' }, 'failure-backoff-max': { type: 'string' },
    'status-refresh': { type: 'string' }, 'log-level': { type: 'string' },
  }, CONTROLLER_USAGE);
  if (positionals.length > 0) throw usage(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const namespace = optional(values, 'namespace');
  if (namespace !== undefined && values['all-namespaces'] === true) throw usage('give --namespace or --all-namespaces, not both');
  const level = (optional(values, 'log-level') ?? 'info') as Level;
  if (!LEVELS.includes(level)) throw usage(`--log-level must be one of ${LEVELS.join(', ')}`);
  const workers = integer('controller', values, 'workers') ?? CONTROLLER_DEFAULTS.workers;
  if (workers < 1 || workers > 64) throw usage('--workers must be 1 to 64');
  const agentWaitSeconds = integer('controller', values, 'agent-wait-seconds') ?? CONTROLLER_DEFAULTS.agentWaitSeconds;
  if (agentWaitSeconds < 1 || agentWaitSeconds > 300) throw usage('--agent-wait-seconds must be 1 to 300');
  const identity = optional(values, 'id') ?? `${os.hostname()}_${randomBytes(4).toString('hex')}`;
  const leaseDurationMs = duration(values, 'lease-duration', CONTROLLER_DEFAULTS.leaseDuration);
  const renewDeadlineMs = duration(values, 'renew-deadline', CONTROLLER_DEFAULTS.renewDeadline);
  const retryPeriodMs = duration(values, 'retry-period', CONTROLLER_DEFAULTS.retryPeriod);
  if (!(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) throw usage('need --retry-period < --renew-deadline < --lease-duration');

  const logger = createLogger({ write: io.stderr, level, fields: { component: 'controller', id: identity } });
  const metrics = new ControllerMetrics();
  const clientOptions = {
    userAgent: `binlog-archiver-controller/${version()}`,
    onRequest: (r: RequestRecord) => {
      metrics.apiRequests.inc({ verb: r.verb, resource: r.resource, code: r.code });
      if (r.verb !== 'watch') metrics.apiLatency.observe({ verb: r.verb, resource: r.resource }, r.seconds);
    },
  };
  const kubeconfig = optional(values, 'kubeconfig');
  const server = optional(values, 'server');
  const tokenFile = optional(values, 'token-file');
  const caFile = optional(values, 'certificate-authority');
  if (kubeconfig !== undefined && server !== undefined) throw usage('give --kubeconfig or --server, not both');
  if ((server === undefined) !== (tokenFile === undefined)) throw usage('--server and --token-file go together');
  // In a pod: its service-account token, without loading client-node (about 90 MiB of generated API code).
  const client = server !== undefined && tokenFile !== undefined
    ? KubeClient.fromToken({ server, tokenFile, ...(caFile === undefined ? {} : { caFile }) }, clientOptions)
    : kubeconfig === undefined && KubeClient.inCluster()
      ? KubeClient.fromInCluster(clientOptions)
      : await KubeClient.fromKubeconfig(kubeconfig, clientOptions);
  const settings: ControllerSettings = {
    ...(namespace === undefined ? {} : { namespace }),
    identity,
    image: optional(values, 'image') ?? `${CONTROLLER_DEFAULTS.imageRepository}:${version()}`,
    workers,
    resyncPeriodMs: duration(values, 'resync-period', CONTROLLER_DEFAULTS.resyncPeriod),
    safetyIntervalMs: duration(values, 'safety-interval', CONTROLLER_DEFAULTS.safetyInterval),
    agentSilentAfterMs: duration(values, 'agent-silent-after', CONTROLLER_DEFAULTS.agentSilentAfter),
    agentWaitSeconds,
    failureBackoffMs: duration(values, 'failure-backoff', CONTROLLER_DEFAULTS.failureBackoff),
    failureBackoffMaxMs: duration(values, 'failure-backoff-max', CONTROLLER_DEFAULTS.failureBackoffMax),
    statusRefreshMs: duration(values, 'status-refresh', CONTROLLER_DEFAULTS.statusRefresh),
    ...(values['leader-elect'] === true ? {
      leaderElection: {
        namespace: optional(values, 'lease-namespace') ?? ownNamespace(namespace), name: optional(values, 'lease-name') ?? CONTROLLER_DEFAULTS.leaseName,
        leaseDurationMs, renewDeadlineMs, retryPeriodMs,
      },
    } : {}),
    ...(values['read-store'] === true ? { store: new StoreReader({ checkIntervalMs: duration(values, 'store-check-interval', CONTROLLER_DEFAULTS.storeCheckInterval) }) } : {}),
  };
  const controller = new Controller(settings, { client, logger, metrics });
  const metricsServer = await serve(optional(values, 'metrics-addr') ?? CONTROLLER_DEFAULTS.metricsAddr, {
    '/metrics': async () => ({ status: 200, type: metrics.registry.contentType, body: await metrics.text() }),
  });
  const healthServer = await serve(optional(values, 'health-addr') ?? CONTROLLER_DEFAULTS.healthAddr, {
    '/healthz': () => Promise.resolve({ status: 200, body: 'ok\n' }),
    '/readyz': () => Promise.resolve(controller.ready() ? { status: 200, body: 'ok\n' } : { status: 503, body: 'caches not synced\n' }),
  });
  logger.log('info', 'Serving metrics', { address: metricsServer.address });
  logger.log('info', 'Serving health checks', { address: healthServer.address });
  logger.log('info', 'Starting controller', {
    namespace: namespace ?? '(all)', leaderElection: settings.leaderElection === undefined ? null : `${settings.leaderElection.namespace}/${settings.leaderElection.name}`,
    readStore: settings.store !== undefined, image: settings.image,
  });
  const abort = new AbortController();
  const stop = stopSignal();
  void stop.promise.then(() => {
    logger.log('info', 'Stopping (signal received)');
    abort.abort();
  });
  let outcome: 'stopped' | 'lost';
  try {
    outcome = await controller.run(abort.signal);
  } finally {
    stop.dispose();
    await Promise.all([metricsServer.close(), healthServer.close()]);
    client.close();
  }
  logger.log(outcome === 'lost' ? 'error' : 'info', outcome === 'lost' ? 'Exiting: leadership lost' : 'Stopped');
  return outcome === 'lost' ? 1 : 0;
}
