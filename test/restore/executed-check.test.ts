/**
 * The fail-closed comparison after an apply: the server's executed GTIDs must be the state before plus exactly
 * the replayed transactions, for MySQL sets and MariaDB per-domain positions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MariadbGtidList, MysqlGtidSet } from '../../src/binlog/index.ts';
import { ArchiverError } from '../../src/errors.ts';
import { checkExecuted, checkNotYetExecuted } from '../../src/restore/executed-check.ts';

const U = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
const V = '4e11fa47-71ca-11e1-9e33-c80aa9429562';
const my = (t: string): MysqlGtidSet => MysqlGtidSet.parse(t);
const ma = (t: string): MariadbGtidList => MariadbGtidList.parse(t);

function refused(fn: () => void, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof ArchiverError && err.code === 'EAPPLY' && pattern.test(err.message) && (err.hint ?? '').includes('base backup'));
}

describe('checkExecuted: MySQL gtid_executed', () => {
  const base = { server: 'db:3306', variable: 'gtid_executed', before: my(`${U}:1-10`), replayed: my(`${U}:11-20`) };
  it('accepts the state before plus exactly the replayed transactions', () => {
    checkExecuted({ ...base, after: my(`${U}:1-20`) });
  });
  it('refuses a replayed transaction the server does not show (skipped)', () => {
    refused(() => checkExecuted({ ...base, after: my(`${U}:1-14:16-20`) }), new RegExp(`lacks ${U}:15 `));
  });
  it('refuses a transaction past the target, and one of another server', () => {
    refused(() => checkExecuted({ ...base, after: my(`${U}:1-21`) }), new RegExp(`holds ${U}:21,`));
    refused(() => checkExecuted({ ...base, after: my(`${U}:1-20,${V}:1`) }), new RegExp(`holds ${V}:1,`));
  });
  it('refuses, before applying, a server that already holds part of the replay (MySQL would skip it)', () => {
    refused(() => checkNotYetExecuted({ ...base, before: my(`${U}:1-12`) }), new RegExp(`already executed ${U}:11-12`));
    checkNotYetExecuted(base);
  });
});

describe('checkExecuted: MariaDB gtid_binlog_pos', () => {
  const base = { server: 'db:3306', variable: 'gtid_binlog_pos', before: ma('0-1-10,5-7-3'), replayed: ma('0-1-20') };
  it('accepts the last replayed GTID in each replayed domain and unchanged other domains', () => {
    checkExecuted({ ...base, after: ma('0-1-20,5-7-3') });
    checkExecuted({ ...base, before: ma(''), after: ma('0-1-20') });
  });
  it('refuses a position short of the last replayed transaction, or missing', () => {
    refused(() => checkExecuted({ ...base, after: ma('0-1-19,5-7-3') }), /shows 0-1-19 in domain 0, short of the last replayed transaction 0-1-20/);
    refused(() => checkExecuted({ ...base, after: ma('5-7-3') }), /shows nothing in domain 0/);
  });
  it('refuses a position past the last replayed transaction, or written by another server id', () => {
    refused(() => checkExecuted({ ...base, after: ma('0-1-21,5-7-3') }), /past the last replayed transaction 0-1-20/);
    refused(() => checkExecuted({ ...base, after: ma('0-9-20,5-7-3') }), /shows 0-9-20 in domain 0, past/);
  });
  it('refuses, before applying, a server past the start point with the replay\'s own GTIDs (part of it applied), not one with its own writes', () => {
    const start = { ...base, from: ma('0-1-10,5-7-3') };
    refused(() => checkNotYetExecuted({ ...start, before: ma('0-1-14,5-7-3') }), /already holds 0-1-14 in domain 0 \(gtid_binlog_pos\), past the start point 0-1-10: it holds part of the replay \(up to 0-1-20\)/);
    refused(() => checkNotYetExecuted({ ...start, from: ma('5-7-3'), before: ma('0-1-20') }), /past the start point \(nothing in domain 0\)/);
    checkNotYetExecuted({ ...start, before: ma('0-1-10,5-7-3') });
    checkNotYetExecuted({ ...start, before: ma('0-1-9') });
    checkNotYetExecuted({ ...start, before: ma('0-300-12,5-7-3') }); // the target's own writes (its server id)
    refused(() => checkNotYetExecuted({ ...base, before: ma('0-1-20') }), /already holds 0-1-20 in domain 0 \(gtid_binlog_pos\): it holds part/);
    checkNotYetExecuted(base);
  });
  it('refuses a domain the replay did not touch that moved or appeared', () => {
    refused(() => checkExecuted({ ...base, after: ma('0-1-20,5-7-4') }), /moved to 5-7-4 in domain 5 \(was 5-7-3\)/);
    refused(() => checkExecuted({ ...base, after: ma('0-1-20,5-7-3,6-1-1') }), /moved to 6-1-1 in domain 6 \(was empty\)/);
  });
});
