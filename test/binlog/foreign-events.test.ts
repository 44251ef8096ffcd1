/**
 * An event only the other flavour writes (a MariaDB GTID in a MySQL binlog, a MySQL GTID in a MariaDB one) is damage
 * or a forgery: the reader refuses it as EBINLOGCORRUPT at its offset. It used to escape as a TypeError
 * ("cannot add a mariadb GTID to a mysql GTID set") with a stack trace; found by `npm run fuzz -- --target reader`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspectStream } from '../../src/binlog/index.ts';
import { buildBinlog, gtidBody } from './helpers.ts';

function mariadbGtidBody(seqNo: number, domainId: number): Buffer {
  const body = Buffer.alloc(19);
  body.writeBigUInt64LE(BigInt(seqNo), 0);
  body.writeUInt32LE(domainId, 8);
  body[12] = 1; // FL_STANDALONE
  return body;
}

describe('events of the other flavour', () => {
  it('a MariaDB GTID event in a MySQL binlog is EBINLOGCORRUPT at its offset', async () => {
    const bytes = buildBinlog([{ type: 162, body: mariadbGtidBody(5, 0) }], { serverVersion: '8.0.36' });
    await assert.rejects(inspectStream([bytes]), (err: Error & { code?: string }) =>
      err.code === 'EBINLOGCORRUPT' && /offset \d+: MARIA_GTID_EVENT event in a binlog whose Format_description_event says mysql/.test(err.message));
  });

  it('a MySQL GTID event in a MariaDB binlog is EBINLOGCORRUPT too', async () => {
    const bytes = buildBinlog([{ type: 33, body: gtidBody('3e11fa47-71ca-11e1-9e33-c80aa9429562', 7, 1_700_000_000_000_000, 100) }], { serverVersion: '10.11.6-MariaDB-log' });
    await assert.rejects(inspectStream([bytes]), (err: Error & { code?: string }) =>
      err.code === 'EBINLOGCORRUPT' && /GTID_LOG_EVENT event in a binlog whose Format_description_event says mariadb/.test(err.message));
  });

  it('the same events in their own flavour are read', async () => {
    const info = await inspectStream([buildBinlog([{ type: 162, body: mariadbGtidBody(5, 0) }], { serverVersion: '10.11.6-MariaDB-log' })]);
    assert.equal(info.magic === 'plain' ? info.lastGtid : null, '0-7-5');
  });
});
