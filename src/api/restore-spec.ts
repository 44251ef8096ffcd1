/** The spec of BinlogRestore: which archive, which source server, from where, to where, and where the binlogs go. */
import { ZONED_TIME_PATTERN } from '../time.ts';
import { DNS_LABEL, duration, objectName } from './common.ts';
import { jobShape } from './job-shape.ts';
import { boolean, integer, object, oneOf, string } from './schema.ts';
import { keyProvider, storage } from './storage.ts';

const GTID_SET_MAX = 65536;
/** How long a restore waits for something it needs, unless spec.waitTimeout says otherwise. */
export const WAIT_TIMEOUT_DEFAULT = '1h';

const position = (description: string) => object(description, {
  file: string('Binlog file name, e.g. mysql-bin.000042.', { pattern: '^[A-Za-z0-9_.-]+\\.[0-9]+$', maxLength: 255 }),
  position: integer('Byte position in that file (an event boundary, as SHOW BINARY LOG STATUS or the backup reports it).', { minimum: 4, format: 'int64' }),
}, { required: ['file', 'position'] });

export const archiveRef = object('Which archive to restore from: a BinlogArchivePolicy in this namespace, or storage and keyProvider given here.', {
  policyRef: object('The BinlogArchivePolicy whose storage and key provider to use.', {
    name: objectName('Name of the BinlogArchivePolicy, in the namespace of this BinlogRestore.'),
  }, { required: ['name'] }),
  storage,
  keyProvider,
}, {
  validations: [{
    rule: 'has(self.policyRef) ? !has(self.storage) && !has(self.keyProvider) : has(self.storage) && has(self.keyProvider)',
    message: 'give either policyRef, or both storage and keyProvider',
  }],
});

export const startingPoint = object('Where the base backup ends, so the restore starts after it. Exactly one of gtidSet or position. Unset: from the first archived binlog.', {
  gtidSet: string('GTID set of the base backup (gtid_executed / gtid_purged it reports).', { minLength: 1, maxLength: GTID_SET_MAX }),
  position: position('Binlog file and position of the base backup, for servers without GTIDs.'),
}, {
  validations: [{ rule: 'has(self.gtidSet) != has(self.position)', message: 'set exactly one of gtidSet or position' }],
});

export const target = object('Where to stop. Exactly one of time, gtid, position or latest.', {
  // The CLI's time grammar (src/time.ts) with the zone required; the restore Job's CLI parses it again.
  time: string('Replay every transaction stamped at or before this time: RFC 3339 with a zone, YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM), e.g. 2025-01-31T12:00:00Z. Binlog timestamps are whole seconds.',
    { format: 'date-time', pattern: ZONED_TIME_PATTERN }),
  gtid: string('Replay up to and including this GTID set (e.g. the last transaction before a bad DROP excluded with the one after).', { minLength: 1, maxLength: GTID_SET_MAX }),
  position: position('Stop at this binlog file and position (exclusive).'),
  latest: boolean('Replay everything archived (true; false is not allowed).'),
}, {
  validations: [
    { rule: '(has(self.time) ? 1 : 0) + (has(self.gtid) ? 1 : 0) + (has(self.position) ? 1 : 0) + (has(self.latest) ? 1 : 0) == 1', message: 'set exactly one of time, gtid, position or latest' },
    { rule: '!has(self.latest) || self.latest', message: 'latest must be true when set', fieldPath: '.latest' },
  ],
});

export const restoreOutput = object('What to do with the binlogs: write them to a volume, or apply them to a MySQL server. Exactly one.', {
  volume: object('Write the binlogs (byte-identical to the originals) and replay.sh to a PersistentVolumeClaim.', {
    claimName: objectName('Name of the PersistentVolumeClaim, in this namespace.'),
    path: string('Directory inside the volume; created if missing; must be empty or absent.', {
      default: '', maxLength: 1024,
      validations: [{ rule: "!self.startsWith('/') && !self.matches('(^|/)\\\\.\\\\.(/|$)')", message: 'path must be relative to the volume and must not contain ".."' }],
    }),
  }, { required: ['claimName'] }),
  server: object('Apply the binlogs to a MySQL or MariaDB server; afterwards its executed GTIDs must be its state before plus exactly the replayed transactions, or the restore fails (ApplyFailed).', {
    service: string('Name of the Service in front of the target server, in this namespace.', { pattern: DNS_LABEL, maxLength: 63 }),
    port: integer('TCP port of the Service.', { default: 3306, minimum: 1, maximum: 65535 }),
    applyMode: oneOf('auto (default): the server\'s own parallel replication applier where it can apply the binlogs (MariaDB), fed by the Job Pod over the replication protocol (the server must reach the Pod IP); a session otherwise, and when the replication apply cannot start (nothing applied then). replication: always the replication applier (MariaDB; MySQL 8.0.26+ when asked, not proven against a MySQL server here). session: one client session fed by mysqlbinlog/mariadb-binlog reading the verified binlogs from stdin. No mode writes binlogs to disk.', ['auto', 'session', 'replication'], { default: 'auto' }),
    allowUnverifiedApply: boolean('Session mode: apply even to a server that keeps no executed-GTID record (MariaDB with log_bin OFF, MySQL with gtid_mode OFF), so that the result cannot be checked.', { default: false }),
    credentialsSecret: object('Secret with the account that applies the binlogs (needs the privileges of the replayed statements, plus SYSTEM_VARIABLES_ADMIN or SUPER for GTIDs).', {
      name: objectName('Name of the Secret.'),
      usernameKey: string('Key holding the user name.', { default: 'username', maxLength: 253 }),
      passwordKey: string('Key holding the password.', { default: 'password', maxLength: 253 }),
    }, { required: ['name'] }),
  }, { required: ['service', 'credentialsSecret'] }),
}, {
  validations: [{ rule: 'has(self.volume) != has(self.server)', message: 'set exactly one of volume or server' }],
});

export const restoreSpec = object('Desired restore: replay archived binlogs of one source server from a base backup to a target point. Immutable once created.', {
  archive: archiveRef,
  sourceServer: string('Source server name as in the archive (<namespace>-<pod> of the archived MySQL pod), e.g. prod-mysql-0.', {
    pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$', maxLength: 128,
  }),
  from: startingPoint,
  target,
  acceptGaps: boolean('Restore even if the archived chain has a gap between the starting point and the target (transactions will be missing).', { default: false }),
  output: restoreOutput,
  waitTimeout: duration('How long the restore may wait for something it needs before it fails with WaitTimedOut: the policy, the output claim or Service, a Secret its Jobs mount, or the suspension of a policy that archives the target server. Counted from when it began waiting (status.waitingSince); time queued behind another restore on the same target does not count. E.g. 30m or 2h.', { default: WAIT_TIMEOUT_DEFAULT }),
  job: jobShape('Shape of the restore Job: resources, scheduling, security.', { backoffLimit: 0, activeDeadlineSeconds: 21600 }),
}, {
  required: ['archive', 'sourceServer', 'target', 'output'],
  validations: [{ rule: 'self == oldSelf', message: 'spec is immutable: create a new BinlogRestore' }],
});
