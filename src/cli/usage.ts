/** Usage lines of the commands: main.ts prints them for --help without loading the commands. */
export const USAGE = {
  inspect: 'binlog-archiver inspect FILE... [--json]',
  archive: 'binlog-archiver archive --binlog-dir DIR --store URL --key URL [--format gcm|openssl-aes-256-cbc] [--level N] [--segment-size BYTES] [--source NAME] [--binlog-basename NAME] [--namespace NS --policy NAME] [--legacy URL [--legacy-format F] [--legacy-key URL]] [--json] [--summary-file FILE]',
  restore: 'binlog-archiver restore --store URL --key URL (--out DIR | --plan-only | --apply-host ...) [--source SERVER] [--from-gtid SET | --from-file F --from-position N] [--until TIME | --until-gtid SET | --until-file F --until-position N] [--accept-gaps] [--apply-host H --apply-port P --apply-user-file F --apply-password-file F [--apply-mode auto|session|replication] [--apply-listen ADDR] [--apply-parallel N] [--allow-unverified-apply]] [--json] [--summary-file FILE]',
  verify: 'binlog-archiver verify --store URL --key URL [--source SERVER] [--since TIME] [--json] [--summary-file FILE]',
};

export const PARITY_USAGE = 'binlog-archiver parity --store URL --key URL --legacy URL [--legacy-format openssl-aes-256-cbc|zstd|gzip|plain] [--legacy-key URL] [--source SERVER] [--recent-cycles N] [--json]';
