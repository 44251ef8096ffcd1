/**
 * Fail closed after an apply: the server's executed GTIDs must show every transaction the replay applied and
 * nothing past the target, whatever the commands' exit codes said. This catches the restores other tools report
 * as successful although the server skipped part of them (MySQL's GTID auto-skip of transactions it already
 * holds, a replica that stopped early) or went further than asked.
 */
import { type GtidSet, MariadbGtidList, MysqlGtidSet, formatMariadbGtid } from '../binlog/index.ts';
import { ArchiverError } from '../errors.ts';

export interface ExecutedCheck {
  /** host:port, for messages. */
  server: string;
  /** The server variable read: gtid_executed, gtid_binlog_pos or gtid_slave_pos. */
  variable: string;
  /** Its value before the apply, and after it. */
  before: GtidSet;
  after: GtidSet;
  /** The GTIDs of the transactions the replay applied. */
  replayed: GtidSet;
}

const HINT = 'the server does not hold exactly the planned transactions: do not use it; restore its base backup again and retry the restore';

function fail(c: ExecutedCheck, what: string): ArchiverError {
  return new ArchiverError('EAPPLY', `after applying to ${c.server}, its ${c.variable} ${what}`, { hint: HINT, context: { server: c.server, variable: c.variable } });
}

/** MySQL: every replayed GTID executed, and nothing added that the replay did not apply. */
function checkMysql(c: ExecutedCheck, before: MysqlGtidSet, after: MysqlGtidSet, replayed: MysqlGtidSet): void {
  const missing = replayed.subtract(after);
  if (!missing.isEmpty()) throw fail(c, `lacks ${missing.format()} of the replayed transactions (the server skipped or lost them)`);
  const extra = after.subtract(before.union(replayed));
  if (!extra.isEmpty()) throw fail(c, `holds ${extra.format()}, which the replay did not apply (transactions past the target, or written by someone else during the restore)`);
}

/**
 * MariaDB keeps the last GTID per domain: in every domain the replay touched it must be the last replayed
 * transaction exactly; in every other domain it must not have moved.
 */
function checkMariadb(c: ExecutedCheck, before: MariadbGtidList, after: MariadbGtidList, replayed: MariadbGtidList): void {
  for (const last of replayed.entries()) {
    const have = after.get(last.domainId);
    if (have === undefined || have.seqNo < last.seqNo) {
      throw fail(c, `shows ${have === undefined ? 'nothing' : formatMariadbGtid(have)} in domain ${last.domainId}, short of the last replayed transaction ${formatMariadbGtid(last)}`);
    }
    if (have.seqNo > last.seqNo || have.serverId !== last.serverId) {
      throw fail(c, `shows ${formatMariadbGtid(have)} in domain ${last.domainId}, past the last replayed transaction ${formatMariadbGtid(last)}`);
    }
  }
  for (const have of after.entries()) {
    if (replayed.get(have.domainId) !== undefined) continue;
    const was = before.get(have.domainId);
    if (was === undefined || was.seqNo !== have.seqNo || was.serverId !== have.serverId) {
      throw fail(c, `moved to ${formatMariadbGtid(have)} in domain ${have.domainId} (was ${was === undefined ? 'empty' : formatMariadbGtid(was)}), where the replay applied nothing`);
    }
  }
}

/** Throws EAPPLY unless the server's state after the apply is exactly its state before plus the replayed transactions. */
export function checkExecuted(c: ExecutedCheck): void {
  const { before, after, replayed } = c;
  if (before instanceof MysqlGtidSet && after instanceof MysqlGtidSet && replayed instanceof MysqlGtidSet) checkMysql(c, before, after, replayed);
  else if (before instanceof MariadbGtidList && after instanceof MariadbGtidList && replayed instanceof MariadbGtidList) checkMariadb(c, before, after, replayed);
  else throw new TypeError('checkExecuted: the GTID sets are of different flavours');
}

/**
 * Refused before anything is applied: a server that already holds part of the replay. MySQL would skip those
 * transactions silently. MariaDB keeps only the last GTID per domain, so that is known against the start point
 * (--from-gtid, `from`): a server past it, with a GTID of the replay's server, in a domain the replay writes holds
 * some of the replay (a rerun onto the server an interrupted apply left) and would apply it a second time. Without
 * a start point a MariaDB server is refused only when it is at or past the replay's last transaction.
 */
export function checkNotYetExecuted(c: Omit<ExecutedCheck, 'after'> & { from?: GtidSet | null }): void {
  if (c.before instanceof MariadbGtidList && c.replayed instanceof MariadbGtidList) {
    mariadbNotYet(c, c.before, c.replayed, c.from instanceof MariadbGtidList ? c.from : null);
    return;
  }
  if (!(c.before instanceof MysqlGtidSet) || !(c.replayed instanceof MysqlGtidSet)) return;
  const already = c.before.intersect(c.replayed);
  if (already.isEmpty()) return;
  throw new ArchiverError('EAPPLY', `${c.server} already executed ${already.format()} of the transactions to replay: MySQL would skip them silently`, {
    hint: 'apply to the base backup the restore starts from (its gtid_executed must not hold the replayed transactions), or start later with --from-gtid set to what the server holds',
  });
}

function mariadbNotYet(c: { server: string; variable: string }, before: MariadbGtidList, replayed: MariadbGtidList, from: MariadbGtidList | null): void {
  for (const last of replayed.entries()) {
    const have = before.get(last.domainId);
    if (have === undefined) continue;
    const start = from === null ? last.seqNo - 1n : (from.get(last.domainId)?.seqNo ?? 0n);
    // The server's own writes (its server_id, e.g. creating the restore account) are not the replay's.
    if (have.seqNo <= start || have.serverId !== last.serverId) continue;
    const startText = from === null ? '' : `, past the start point ${from.get(last.domainId) === undefined ? `(nothing in domain ${last.domainId})` : formatMariadbGtid(from.get(last.domainId)!)}`;
    throw new ArchiverError('EAPPLY', `${c.server} already holds ${formatMariadbGtid(have)} in domain ${last.domainId} (${c.variable})${startText}: it holds part of the replay (up to ${formatMariadbGtid(last)}) and would apply it again`, {
      hint: 'apply to the base backup the restore starts from (a fresh server), or continue with --from-gtid set to the position the server holds',
    });
  }
}
