/** Usage lines of the retention commands: main.ts prints them for --help without loading the commands. */
export const LIFECYCLE_USAGE = {
  expire: 'binlog-archiver expire --store URL --key URL --recovery-window DURATION [--source SERVER] [--now TIME] [--dry-run] [--json] [--summary-file FILE]',
  'backup-anchor': 'binlog-archiver backup-anchor --store URL --source SERVER (--gtid SET | --file F --position N) --time TIME [--json]',
};
