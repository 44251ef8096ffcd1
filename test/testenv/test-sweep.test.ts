import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { namesDir } from '../../scripts/test-sweep.ts';

describe('npm test sweep: whose processes a file left', () => {
  it('matches the directory or a path under it, never a directory it is a prefix of (…/1 is not …/12)', () => {
    const dir = '/tmp/bt-abc/1';
    assert.equal(namesDir(['mariadbd', '--datadir=/tmp/bt-abc/1/tmp/blarc-x/data', ''].join('\0'), dir), true);
    assert.equal(namesDir(['sh', '-c', 'x', '/tmp/bt-abc/1'].join('\0'), dir), true);
    assert.equal(namesDir(['sh', '/tmp/bt-abc/1', 'y'].join('\0'), dir), true);
    assert.equal(namesDir(['mariadbd', '--datadir=/tmp/bt-abc/12/tmp/blarc-x/data', ''].join('\0'), dir), false);
    assert.equal(namesDir(['node', '/tmp/bt-abc/10/x', '/tmp/bt-abc/1/y'].join('\0'), dir), true, 'a later mention counts');
    assert.equal(namesDir('node\0/work/main/test/a.test.ts\0', dir), false);
  });
});
