import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import {
  MAX_GNO,
  MariadbGtidList,
  MysqlGtidSet,
  addGtidTo,
  formatGtid,
  gtidSetContains,
  parseGtid,
  parseGtidSet,
  parseMysqlGtid,
} from '../../src/binlog/index.ts';

const A = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
const B = 'e085435a-671a-11ec-b361-0242ac110002';
const p = (t: string): MysqlGtidSet => MysqlGtidSet.parse(t);
const fmt = (t: string): string => p(t).format();

function badInput(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ArchiverError);
    assert.equal(err.code, 'EBADINPUT');
    assert.match(err.message, pattern);
    return true;
  });
}

describe('MySQL GTID set text', () => {
  test('formats as MySQL prints: lowercase, sorted, merged, single numbers bare', () => {
    assert.equal(fmt(`${B.toUpperCase()}:7,${A}:3-5:1-2:9`), `${A}:1-5:9,${B}:7`);
    assert.equal(fmt(`${A}:1-3:4-6:8-8`), `${A}:1-6:8`);
    assert.equal(fmt(`${A}:5:4:3:2:1`), `${A}:1-5`);
    assert.equal(fmt(`${A}:1-10:3-4`), `${A}:1-10`, 'contained interval disappears');
  });

  test('tags: lowercased, untagged first, tags sorted, UUID printed once', () => {
    assert.equal(fmt(`${A}:Zeta:1,${A}:alpha:2-3,${A}:1-5`), `${A}:1-5:alpha:2-3:zeta:1`);
    assert.equal(fmt(`${A}:mytag:1-3:7`), `${A}:mytag:1-3:7`);
    // MySQL's own form and the comma form expected.json uses parse to the same set.
    assert.ok(p(`${A}:1-13:mytag:1-2`).equals(p(`${A}:1-13,${A}:mytag:1-2`)));
    assert.equal(fmt(`${A}:_t9:4`), `${A}:_t9:4`);
  });

  test('tolerates whitespace, newlines (MySQL prints ",\\n") and empty items', () => {
    const text = `  ${A} : 1 - 5 : 7 ,\n${B}:1-2\n,, `;
    assert.equal(fmt(text), `${A}:1-5:7,${B}:1-2`);
    assert.equal(p(`${A}:1-5,\n${B}:1-2`).format(',\n'), `${A}:1-5,\n${B}:1-2`);
    assert.equal(fmt(''), '');
    assert.equal(fmt(' \n, ,'), '');
    assert.equal(p('').isEmpty(), true);
  });

  test('accepts UUIDs without dashes', () => {
    assert.equal(fmt(`${A.replace(/-/g, '').toUpperCase()}:1-2`), `${A}:1-2`);
  });

  test('round-trips: format(parse(x)) is a fixed point', () => {
    for (const t of [`${A}:1-5:7`, `${A}:1:3:5,${B}:1-1000000`, `${A}:1-13:mytag:1-2`, `${A}:x:1-2:y:5`, `${A}:${MAX_GNO}`]) {
      assert.equal(fmt(fmt(t)), fmt(t));
      assert.equal(fmt(t), t);
    }
  });

  test('rejects malformed text with the position', () => {
    badInput(() => p(`${A}:0`), /transaction number in 1\.\./);
    badInput(() => p(`${A}:5-3`), /interval end ≥ 5, found 3/);
    badInput(() => p(`${A}:1-`), /a transaction number at character/);
    badInput(() => p(`not-a-uuid:1`), /expected a UUID at character 0/);
    badInput(() => p(`${A}:1;${B}:2`), /expected ",", ":" or the end of the text at character 38/);
    badInput(() => p(`${A}:${'t'.repeat(33)}:1`), /tag of at most 32/);
    badInput(() => p(`${A}:${MAX_GNO + 1n}`), /transaction number in 1\.\./);
  });

  test('GNOs past 2^53 stay exact (bigint)', () => {
    const big = 2n ** 60n + 1n;
    const s = p(`${A}:${big}-${big + 2n}`);
    assert.equal(s.format(), `${A}:1152921504606846977-1152921504606846979`);
    assert.equal(s.count(), 3n);
    assert.ok(s.containsGtid(A, big + 1n));
    assert.ok(!s.containsGtid(A, big + 3n));
  });
});

describe('MySQL GTID set algebra', () => {
  test('union merges touching and overlapping intervals across UUIDs and tags', () => {
    assert.equal(p(`${A}:1-3`).union(p(`${A}:4-6,${B}:1`)).format(), `${A}:1-6,${B}:1`);
    assert.equal(p(`${A}:1-3:10-12`).union(p(`${A}:2-11`)).format(), `${A}:1-12`);
    assert.equal(p(`${A}:1`).union(p(`${A}:t:1`)).format(), `${A}:1:t:1`);
    assert.equal(p('').union(p(`${A}:1`)).format(), `${A}:1`);
  });

  test('union leaves both operands unchanged', () => {
    const a = p(`${A}:1-3`);
    const b = p(`${A}:5`);
    a.union(b);
    assert.equal(a.format(), `${A}:1-3`);
    assert.equal(b.format(), `${A}:5`);
  });

  test('subtract splits, trims and drops intervals', () => {
    assert.equal(p(`${A}:1-10`).subtract(p(`${A}:4-6`)).format(), `${A}:1-3:7-10`);
    assert.equal(p(`${A}:1-10`).subtract(p(`${A}:1-3:8-20`)).format(), `${A}:4-7`);
    assert.equal(p(`${A}:1-10,${B}:1-2`).subtract(p(`${A}:1-10`)).format(), `${B}:1-2`);
    assert.equal(p(`${A}:1-3:5-7:9-11`).subtract(p(`${A}:2-10`)).format(), `${A}:1:11`);
    assert.equal(p(`${A}:1-5`).subtract(p(`${A}:t:1-5`)).format(), `${A}:1-5`, 'a tag is a different source');
    assert.equal(p(`${A}:1-5`).subtract(p(`${A}:1-5`)).isEmpty(), true);
    assert.equal(p(`${A}:1-5`).subtract(p('')).format(), `${A}:1-5`);
  });

  test('intersect', () => {
    assert.equal(p(`${A}:1-10,${B}:1-5`).intersect(p(`${A}:5-20,${B}:7`)).format(), `${A}:5-10`);
  });

  test('contains is superset, per UUID and tag, including interval edges', () => {
    const s = p(`${A}:1-10:20-30,${B}:t:1-5`);
    assert.ok(s.contains(p(`${A}:1-10`)));
    assert.ok(s.contains(p(`${A}:20-30,${B}:t:5`)));
    assert.ok(s.contains(p('')), 'every set contains the empty set');
    assert.ok(!s.contains(p(`${A}:10-11`)), 'crosses an interval end');
    assert.ok(!s.contains(p(`${A}:15`)), 'in a gap');
    assert.ok(!s.contains(p(`${B}:1`)), 'untagged B is not tagged B');
    assert.ok(!p('').contains(s));
    assert.ok(s.containsGtid(A, 25));
    assert.ok(!s.containsGtid(A, 31));
    assert.ok(s.containsGtid(B, 3, 'T'), 'tags compare case-insensitively');
  });

  test('equals ignores how the set was written', () => {
    assert.ok(p(`${A}:1-3,${A}:4-5`).equals(p(`${A.toUpperCase()}:1-5`)));
    assert.ok(!p(`${A}:1-5`).equals(p(`${A}:1-6`)));
    assert.ok(!p(`${A}:1-5`).equals(p(`${A}:x:1-5`)));
  });

  test('adding single GTIDs (in and out of order) merges as it goes', () => {
    const s = MysqlGtidSet.empty();
    for (const n of [1, 2, 3, 7, 5, 6, 4, 10]) s.addGtid(A, n);
    assert.equal(s.format(), `${A}:1-7:10`);
    s.addGtid(A, 8).addGtid(A, 9);
    assert.equal(s.format(), `${A}:1-10`);
    s.addGtid(B, 2n, 'Tag');
    assert.equal(s.format(), `${A}:1-10,${B}:tag:2`);
    assert.equal(s.count(), 11n);
    badInput(() => s.addGtid(A, 0), /out of range/);
    badInput(() => s.addGtid('xyz', 1), /not a UUID/);
    badInput(() => s.addGtid(A, 1, '9bad'), /not a GTID tag/);
  });

  test('clone is independent', () => {
    const a = p(`${A}:1-3`);
    const b = a.clone().addGtid(A, 4);
    assert.equal(a.format(), `${A}:1-3`);
    assert.equal(b.format(), `${A}:1-4`);
  });

  test('single GTIDs parse and format', () => {
    assert.deepEqual(parseMysqlGtid(` ${A.toUpperCase()}:42 `), { uuid: A, tag: '', gno: 42n });
    assert.deepEqual(parseMysqlGtid(`${A}:MyTag:3`), { uuid: A, tag: 'mytag', gno: 3n });
    badInput(() => parseMysqlGtid(`${A}:1-3`), /malformed GTID/);
    assert.equal(formatGtid(parseGtid('mysql', `${A}:t:9`)), `${A}:t:9`);
  });
});

describe('MariaDB GTID lists', () => {
  const m = (t: string): MariadbGtidList => MariadbGtidList.parse(t);

  test('parse/format: sorted by domain, whitespace tolerated', () => {
    assert.equal(m(' 1-2-5 ,\n0-1-100 ').format(), '0-1-100,1-2-5');
    assert.equal(m('').format(), '');
    assert.equal(m('0-1-18446744073709551615').format(), '0-1-18446744073709551615');
  });

  test('rejects malformed text and duplicate domains', () => {
    badInput(() => m('0-1'), /malformed MariaDB GTID/);
    badInput(() => m('0-1-5,0-2-6'), /domain 0 more than once/);
    badInput(() => m('4294967296-1-1'), /out of range/);
  });

  test('union keeps the highest sequence number per domain', () => {
    assert.equal(m('0-1-100,1-2-5').union(m('0-3-90,1-2-7,2-1-1')).format(), '0-1-100,1-2-7,2-1-1');
  });

  test('add keeps the higher sequence number', () => {
    const l = MariadbGtidList.empty();
    l.add({ domainId: 0, serverId: 1, seqNo: 5n }).add({ domainId: 0, serverId: 2, seqNo: 3n });
    assert.equal(l.format(), '0-1-5');
    addGtidTo(l, parseGtid('mariadb', '0-2-6'));
    assert.equal(l.format(), '0-2-6');
  });

  test('contains and per-domain compare', () => {
    const pos = m('0-1-100,1-2-5');
    assert.ok(pos.contains(m('0-1-99')));
    assert.ok(pos.contains(m('0-1-100,1-2-5')));
    assert.ok(!pos.contains(m('1-2-6')));
    assert.ok(!pos.contains(m('2-1-1')), 'unknown domain');
    assert.equal(pos.compareDomain(0, m('0-9-101')), -1);
    assert.equal(pos.compareDomain(1, m('1-2-4')), 1);
    assert.equal(pos.compareDomain(1, m('1-2-5')), 0);
    assert.equal(pos.compareDomain(3, m('1-2-5')), null);
    assert.ok(pos.equals(m('1-2-5,0-1-100')));
    assert.ok(!pos.equals(m('1-3-5,0-1-100')), 'same seq, other server');
  });
});

describe('flavour-neutral helpers', () => {
  test('parseGtidSet picks the flavour; mixing flavours is refused', () => {
    const my = parseGtidSet('mysql', `${A}:1-3`);
    const ma = parseGtidSet('mariadb', '0-1-3');
    assert.equal(my.flavor, 'mysql');
    assert.equal(ma.flavor, 'mariadb');
    assert.ok(gtidSetContains(my, parseGtidSet('mysql', `${A}:2`)));
    assert.throws(() => gtidSetContains(my, ma), TypeError);
    assert.throws(() => addGtidTo(my, parseGtid('mariadb', '0-1-1')), TypeError);
  });
});
