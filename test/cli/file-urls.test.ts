/**
 * `file:` URLs for --store and --key are read strictly: absolute local paths only. `file:rel` once wrote to `/rel`
 * at the filesystem root, and `file://host/x` ended in EINTERNAL with a stack trace.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { localFilePath } from '../../src/file-url.ts';
import { newKeyUrl, tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';

const ACCEPTED: [string, string][] = [
  ['file:///var/lib/store', '/var/lib/store'],
  ['file://localhost/var/lib/store', '/var/lib/store'],
  ['file://LOCALHOST/k', '/k'],
  ['file:/var/lib/store', '/var/lib/store'],
  ['file:///dir%20with%20space/k', '/dir with space/k'],
  ['FILE:///k', '/k'],
];

const REFUSED: [string, RegExp][] = [
  ['file:rel', /is a relative file URL/],
  ['file:rel/dir', /is a relative file URL/],
  ['file:', /is a relative file URL/],
  ['file://host/x', /names the host "host"; only local files are supported/],
  ['file://tmp/store', /names the host "tmp"/],
  ['file://', /names no file or directory/],
  ['file:///', /names no file or directory/],
  ['file:///k?x=1', /has a \?query or #fragment/],
  ['file:///k#frag', /has a \?query or #fragment/],
  ['file:///a%2Fb', /must not include encoded \/ characters/],
  ['s3://bucket', /is not a file: URL/],
];

describe('file: URLs', () => {
  for (const [url, file] of ACCEPTED) {
    it(`${url} is ${file}`, () => assert.equal(localFilePath(url, '--store'), file));
  }
  for (const [url, why] of REFUSED) {
    it(`${url} is refused`, () => {
      assert.throws(() => localFilePath(url, '--key'), (err: unknown) => err instanceof ArchiverError && err.code === 'EUSAGE' && why.test(err.message) && err.message.startsWith('--key '));
    });
  }

  it('the hints show the URL meant', () => {
    const hint = (url: string): string => {
      try {
        localFilePath(url, '--store');
      } catch (err) {
        return (err as ArchiverError).hint ?? '';
      }
      return '';
    };
    assert.equal(hint('file://tmp/store'), 'three slashes for an absolute path: file:///tmp/store');
    assert.equal(hint('file:rel'), `write the absolute path: file://${path.resolve('rel')}`);
  });

  it('archive --store file:rel exits 2 and writes nothing, anywhere', async () => {
    const work = tempDir();
    fs.mkdirSync(path.join(work, 'binlogs'));
    const name = `blarc-rel-${path.basename(work)}`;
    const r = await runCli(['archive', '--binlog-dir', path.join(work, 'binlogs'), '--store', `file:${name}`, '--key', newKeyUrl(work), '--json']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /error EUSAGE: --store "file:blarc-rel-.*": is a relative file URL/);
    assert.equal(fs.existsSync(`/${name}`), false);
    assert.equal(fs.existsSync(path.join(process.cwd(), name)), false);
  });

  it('--key file://host/x exits 2 with a usage error, not EINTERNAL and a stack trace', async () => {
    const work = tempDir();
    for (const command of [['archive', '--binlog-dir', work], ['verify'], ['restore', '--out', path.join(work, 'out')]]) {
      const r = await runCli([...command, '--store', `file://${work}/store`, '--key', 'file://keyhost/etc/master.key']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /error EUSAGE: --key "file:\/\/keyhost\/etc\/master\.key": names the host "keyhost"/);
      assert.doesNotMatch(r.stderr, /EINTERNAL|\n\s+at /);
    }
  });
});
