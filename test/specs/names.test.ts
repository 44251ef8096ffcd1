import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { archiveJobName, labelValue, restoreJobName, sourceName } from '../../src/specs/index.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

describe('names', () => {
  const jobCases: Array<[string, string, string]> = [
    ['orders', 'mysql-0', 'seq-1'],
    ['a.b.c', 'mysql-0', 'seq-1'],
    ['x'.repeat(253), 'y'.repeat(253), 't'],
    ['p', `${'m'.repeat(51)}-`, 't'],
    ['p-', '-q', ''],
  ];
  for (const [policy, pod, trigger] of jobCases) {
    it(`archive Job name for ${policy.slice(0, 20)}/${pod.slice(0, 20)} is a DNS label of at most 63 characters`, () => {
      const name = archiveJobName(policy, pod, trigger);
      assert.ok(name.length <= 63, name);
      assert.match(name, DNS_LABEL);
      assert.equal(archiveJobName(policy, pod, trigger), name, 'deterministic');
      assert.notEqual(archiveJobName(policy, pod, `${trigger}x`), name);
    });
  }

  it('readable when short', () => {
    assert.match(archiveJobName('orders', 'mysql-0', 'seq-1'), /^orders-mysql-0-[0-9a-f]{10}$/);
    assert.match(restoreJobName('before-drop', 'uid-1'), /^before-drop-restore-[0-9a-f]{10}$/);
    assert.notEqual(restoreJobName('before-drop', 'uid-1'), restoreJobName('before-drop', 'uid-2'), 'a recreated restore gets a new Job');
  });

  const labelCases: Array<[string, string | RegExp]> = [
    ['orders', 'orders'],
    ['a.b_c-d', 'a.b_c-d'],
    ['x'.repeat(63), 'x'.repeat(63)],
    ['x'.repeat(64), /^x{54}-[0-9a-f]{8}$/],
    ['.hidden', /^hidden-[0-9a-f]{8}$/],
  ];
  for (const [input, expected] of labelCases) {
    it(`label value for ${input.slice(0, 16)}… (${input.length} chars)`, () => {
      const value = labelValue(input);
      if (typeof expected === 'string') assert.equal(value, expected);
      else assert.match(value, expected);
      assert.ok(value.length <= 63);
      assert.match(value, LABEL_VALUE);
    });
  }

  it('source name is <namespace>-<pod>, cut and hashed past 128 characters', () => {
    assert.equal(sourceName('shop', 'mysql-0'), 'shop-mysql-0');
    const long = sourceName('n'.repeat(63), 'p'.repeat(200));
    assert.ok(long.length <= 128);
    assert.match(long, /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/);
    assert.notEqual(long, sourceName('n'.repeat(63), `${'p'.repeat(199)}q`));
  });
});
