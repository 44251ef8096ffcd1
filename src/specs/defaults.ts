/** Every fixed choice of the built objects in one place: paths inside the Job containers, names, sizes. */

export const SPEC_DEFAULTS = {
  /** The binlog volume is mounted here; --binlog-dir is this joined with spec.source.binlogPath. */
  binlogMountPath: '/binlogs',
  /** The restore output volume. */
  restoreMountPath: '/restore',
  /** Session apply to a server: the decoded binlogs mysqlbinlog reads, on an emptyDir removed with the Pod. */
  /** The Pod's IP (downward API), where a replication-mode apply listens for the target's replica. */
  podIpEnv: 'POD_IP',
  /** Secret and token files: one directory each, read-only. */
  keyDir: '/var/run/binlog-archiver/key',
  keyFile: 'master.key',
  awsCredentialsDir: '/var/run/binlog-archiver/aws',
  vaultTokenDir: '/var/run/binlog-archiver/vault-token',
  vaultCaDir: '/var/run/binlog-archiver/vault-ca',
  mysqlCredentialsDir: '/var/run/binlog-archiver/mysql',
  /** The only writable path of the read-only root filesystem. */
  tmpDir: '/tmp',
  tmpSizeLimit: '256Mi',
  /** Secret files are readable by the pod's fsGroup only. */
  secretFileMode: 0o440,
  /** Names of the containers this project builds. */
  archiveContainer: 'archive',
  restoreContainer: 'restore',
  agentContainer: 'binlog-archiver-agent',
  /** The agent's HTTP port (status for the operator, /metrics). */
  agentPort: 9471,
  agentResources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
  /** Exit code of a usage error: retrying cannot help, so the Job fails at once. */
  usageExitCode: 2,
  imagePullPolicy: 'IfNotPresent',
} as const;
