/**
 * A MariaDB server as a StatefulSet Pod on the real node of the test environment, the way users run MySQL: its data
 * and binlogs on a PersistentVolume (a hostPath PV holding a data directory initialised here with
 * mariadb-install-db), a Service in front, the `restricted` Pod Security level, and optionally the archiver's agent
 * sidecar (buildAgentSidecar, as users add it). SQL goes through `kubectl exec` into the server's container, as the
 * root account over the socket: the host cannot reach Pod IPs.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BinlogArchivePolicySpec } from '../../src/api/index.ts';
import { buildAgentSidecar } from '../../src/specs/agent-sidecar.ts';
import { containerSecurityContext, podSecurityContext } from '../../src/specs/security.ts';
import { APP_UID } from '../../testenv/image/project-image.ts';
import { eventually, kubectl, ok } from '../api/kubectl.ts';
import { tempDir } from './archive.ts';
import type { MysqlClient } from './mysql.ts';
import { hostPathClaim, need } from './node.ts';

const run = promisify(execFile);

export const MYSQL_CONTAINER = 'mysql';
const SOCKET = '/tmp/mysqld.sock';
/** Where the volume is mounted in the server's container: data/ and binlog/ inside, as the policy's binlogPath says. */
const DATA_MOUNT = '/var/lib/mysql';

export interface MariadbPodOptions {
  ns: string;
  /** StatefulSet, Service and label `app` value; the Pod is `<name>-0`, its claim `data-<name>-0`. */
  name: string;
  serverId: number;
  /** Adds the agent sidecar for this policy spec (the pod is then an archived source). */
  agentFor?: BinlogArchivePolicySpec;
}

/** The StatefulSet: pure. mariadbd runs as the project image's non-root user, which also reads the binlogs. */
export function mariadbStatefulSet(o: MariadbPodOptions & { image: string; agentImage: string }): object {
  const id = { runAsUser: APP_UID, runAsGroup: APP_UID };
  const agent = o.agentFor === undefined ? undefined : buildAgentSidecar(o.agentFor, { image: o.agentImage, ...id });
  const server = {
    name: MYSQL_CONTAINER, image: o.image, imagePullPolicy: 'IfNotPresent',
    args: ['--no-defaults', `--datadir=${DATA_MOUNT}/data`, `--log-bin=${DATA_MOUNT}/binlog/mysql-bin`, '--binlog-format=ROW',
      '--log-slave-updates=ON', '--gtid-strict-mode=ON', `--server-id=${o.serverId}`, '--max-binlog-size=1048576', '--binlog-checksum=CRC32',
      '--port=3306', '--bind-address=0.0.0.0', `--socket=${SOCKET}`, '--pid-file=/tmp/mysqld.pid', '--skip-name-resolve',
      '--innodb-buffer-pool-size=64M'],
    // Binlogs readable by the group (the archive Job and the agent run with it), not the world.
    env: [{ name: 'UMASK', value: '0640' }, { name: 'UMASK_DIR', value: '0750' }],
    ports: [{ name: 'mysql', containerPort: 3306 }],
    readinessProbe: { exec: { command: ['mariadb', '--no-defaults', `--socket=${SOCKET}`, '-uroot', '-e', 'SELECT 1'] }, periodSeconds: 2 },
    securityContext: containerSecurityContext(id),
    volumeMounts: [{ name: 'data', mountPath: DATA_MOUNT }, { name: 'tmp', mountPath: '/tmp' }],
  };
  const labels = { app: o.name };
  return {
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: o.name, namespace: o.ns, labels },
    spec: {
      serviceName: o.name, replicas: 1, selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          securityContext: podSecurityContext(id),
          terminationGracePeriodSeconds: 30,
          containers: [server, ...(agent === undefined ? [] : [agent.container])],
          volumes: [{ name: 'tmp', emptyDir: {} }, ...(agent?.volumes ?? [])],
        },
      },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'manual', resources: { requests: { storage: '1Gi' } } } }],
    },
  };
}

export interface MariadbPod extends Pick<MysqlClient, 'query'> {
  name: string;
  pod: string;
  /** The hostPath directory behind the Pod's volume. */
  hostDir: string;
  cleanup(): Promise<void>;
}

/** mariadb-install-db into `dir/data` (root with an empty password, over the socket only), owned by the Pod's user. */
async function initialise(dir: string): Promise<void> {
  fs.mkdirSync(path.join(dir, 'binlog'), { recursive: true });
  await run('mariadb-install-db', ['--no-defaults', `--datadir=${path.join(dir, 'data')}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--user=root'],
    { maxBuffer: 16 * 1024 * 1024 });
  await run('chown', ['-R', `${APP_UID}:${APP_UID}`, dir]);
  fs.chmodSync(dir, 0o750);
}

/** Starts the StatefulSet and waits for its Pod to be Ready; `query` runs SQL in it as root. */
export async function startMariadbPod(o: MariadbPodOptions): Promise<MariadbPod> {
  const { image: agentImage } = need('node');
  const image = need('node').mariadbImage;
  if (image === '') throw new Error('the test environment has no MariaDB image (it predates it): npm run testenv -- down, then up');
  const hostDir = tempDir(`blarc-${o.name}-`);
  fs.chmodSync(hostDir, 0o755);
  const dataDir = path.join(hostDir, 'volume');
  await initialise(dataDir);
  const pod = `${o.name}-0`;
  const pv = `${o.ns}-${o.name}`;
  await hostPathClaim(o.ns, `data-${pod}`, pv, dataDir);
  await ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: o.name, namespace: o.ns },
    spec: { selector: { app: o.name }, ports: [{ name: 'mysql', port: 3306, targetPort: 'mysql' }] } }));
  await ok(['apply', '-f', '-'], JSON.stringify(mariadbStatefulSet({ ...o, image, agentImage })));
  await eventually(`Pod ${o.ns}/${pod} to be Ready`, async () => {
    const r = await kubectl(['get', 'pod', pod, '-n', o.ns, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
    return r.code === 0 && r.stdout === 'True' ? true : undefined;
  }, 180_000);
  const query = async (sql: string): Promise<string> => {
    const r = await kubectl(['exec', '-i', '-n', o.ns, pod, '-c', MYSQL_CONTAINER, '--', 'mariadb', '--no-defaults', `--socket=${SOCKET}`, '-uroot', '--batch', '--skip-column-names'], sql);
    if (r.code !== 0) throw new Error(`SQL in ${o.ns}/${pod} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  };
  return {
    name: o.name, pod, hostDir, query,
    cleanup: async () => {
      await kubectl(['delete', 'statefulset', o.name, '-n', o.ns, '--wait=true', '--timeout=60s']);
      await kubectl(['delete', 'pv', pv, '--wait=false']);
      fs.rmSync(hostDir, { recursive: true, force: true });
    },
  };
}
