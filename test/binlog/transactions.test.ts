/**
 * The per-transaction stream a restore planner uses to choose stop positions by time or GTID.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { inspectBinlog, readBinlogTransactions } from '../../src/binlog/index.ts';
import type { BinlogEvent, BinlogTransaction, PlainBinlogInfo } from '../../src/binlog/index.ts';
import { fixture, withTempDir } from './helpers.ts';

async function collect(path: string): Promise<{ txs: BinlogTransaction[]; events: BinlogEvent[]; info: PlainBinlogInfo }> {
  const txs: BinlogTransaction[] = [];
  const events: BinlogEvent[] = [];
  const info = (await inspectBinlog(path, { onTransaction: (t) => txs.push(t), onEvent: (e) => events.push(e) })) as PlainBinlogInfo;
  return { txs, events, info };
}

async function iterate(path: string): Promise<BinlogTransaction[]> {
  const out: BinlogTransaction[] = [];
  for await (const t of readBinlogTransactions(path)) out.push(t);
  return out;
}

describe('transactions', () => {
  test('MySQL 8.0.27 with GTIDs: positions chain, lengths, commit timestamps', async () => {
    const path = fixture('mysql80/lightning/binlog.000002');
    const { txs, events, info } = await collect(path);
    assert.equal(txs.length, 28);
    const firstGtidEvent = events.find((e) => e.type === 33) as BinlogEvent;
    const first = txs[0] as BinlogTransaction;
    // Values decoded by hand in the format notes (§6.2): GTID :2, commit ts, trx_len 190.
    assert.equal(first.gtid, 'e085435a-671a-11ec-b361-0242ac110002:2');
    assert.deepEqual(first.gtidValue, { flavor: 'mysql', uuid: 'e085435a-671a-11ec-b361-0242ac110002', tag: '', gno: 2n });
    assert.equal(first.startPosition, firstGtidEvent.position);
    assert.equal(first.declaredLength, 190);
    assert.equal(first.endPosition - first.startPosition, 190);
    assert.equal(first.commitTimestampUs, 1640612573883851);
    assert.equal(first.originalCommitTimestampUs, 1640612573883851);
    assert.equal(first.complete, true);
    for (let i = 1; i < txs.length; i++) {
      const prev = txs[i - 1] as BinlogTransaction;
      const t = txs[i] as BinlogTransaction;
      assert.equal(t.startPosition, prev.endPosition, `transaction ${i} starts where ${i - 1} ends`);
      assert.equal(t.endPosition - t.startPosition, t.declaredLength);
      assert.ok((t.commitTimestampUs as number) >= (prev.commitTimestampUs as number));
    }
    const last = txs[27] as BinlogTransaction;
    assert.equal(last.gtid, 'e085435a-671a-11ec-b361-0242ac110002:29');
    assert.equal(last.endPosition, info.lastEventPosition, 'the Stop event follows the last transaction');
    assert.equal(last.commitTimestampUs, info.lastCommitTimestampUs);
    assert.deepEqual(await iterate(path), txs, 'the async iterator yields the same transactions');
  });

  test('anonymous transactions (GTID_MODE=OFF) have no GTID but keep positions and lengths', async () => {
    const { txs, info } = await collect(fixture('mysql80/lightning/binlog.000002@3d335e9'));
    assert.equal(txs.length, 20);
    assert.ok(txs.every((t) => t.gtid === null && t.gtidValue === null && t.complete === true));
    assert.ok(txs.every((t) => t.declaredLength === t.endPosition - t.startPosition));
    assert.equal(info.anonymousGtidCount, 20);
  });

  test('MySQL 5.7 GTID events carry no commit timestamp or length; boundaries still come from the next GTID', async () => {
    const { txs } = await collect(fixture('other-versions/apecloud/mysql-bin.000080'));
    assert.equal(txs.length, 10);
    assert.ok(txs.every((t) => t.commitTimestampUs === null && t.declaredLength === null));
    assert.ok(txs.slice(0, -1).every((t) => t.complete === true));
    assert.equal(txs[0]?.gtid, '58cf6502-63db-11ed-8079-0242ac110002:53');
    // The file ends without Rotate/Stop; the last transaction ends with an Xid event, so it is whole.
    assert.equal(txs[9]?.complete, true);
  });

  test('compressed transactions are flagged', async () => {
    const { txs } = await collect(fixture('compressed/apecloud/mysql-bin.000057'));
    assert.deepEqual(
      txs.map((t) => [t.gtid, t.compressed, t.eventCount, t.complete]),
      [
        ['76f3e7be-6720-11ed-9cad-0242ac110002:11', false, 2, true],
        ['76f3e7be-6720-11ed-9cad-0242ac110002:12', true, 2, true],
        ['76f3e7be-6720-11ed-9cad-0242ac110002:13', true, 2, true],
      ],
    );
  });

  test('MariaDB transactions', async () => {
    const { txs } = await collect(fixture('mariadb/rust_mysql_common/mariadb-bin.000001'));
    assert.deepEqual(
      txs.map((t) => [t.gtid, t.eventCount, t.commitTimestampUs, t.complete]),
      [
        ['0-1-1', 5, null, true],
        ['0-1-2', 5, null, true],
      ],
    );
    assert.deepEqual(txs[0]?.gtidValue, { flavor: 'mariadb', domainId: 0, serverId: 1, seqNo: 1n });
  });

  test('a file cut between two events of a transaction marks that transaction incomplete', async () => {
    const src = fixture('mysql80/lightning/binlog.000002');
    const { txs, events } = await collect(src);
    const t5 = txs[5] as BinlogTransaction;
    // Cut after the GTID event and the next event of transaction 5.
    const gtidIdx = events.findIndex((e) => e.position === t5.startPosition);
    const cutAt = (events[gtidIdx + 2] as BinlogEvent).position;
    await withTempDir(async (dir) => {
      const path = join(dir, 'binlog.000002');
      await writeFile(path, (await readFile(src)).subarray(0, cutAt));
      const cut = await iterate(path);
      assert.equal(cut.length, 6);
      assert.equal(cut[5]?.complete, false);
      assert.equal(cut[5]?.endPosition, cutAt);
      assert.equal(cut[4]?.complete, true);
    });
  });

  test('planning a stop position by commit time', async () => {
    const { txs } = await collect(fixture('mysql80/lightning/binlog.000002'));
    const target = (txs[9] as BinlogTransaction).commitTimestampUs as number;
    // Replay everything committed at or before the target: stop where the first later transaction starts.
    const stop = txs.find((t) => (t.commitTimestampUs as number) > target);
    assert.equal(stop?.startPosition, (txs[10] as BinlogTransaction).startPosition);
  });

  test('an encrypted binlog has no readable transactions', async () => {
    await assert.rejects(iterate(fixture('encrypted/lightning/binlog.encrypted')), (err: unknown) => {
      assert.ok(err instanceof ArchiverError);
      assert.equal(err.code, 'EBADINPUT');
      return true;
    });
  });
});
