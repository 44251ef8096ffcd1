/**
 * The key boundary of the command line: a key file that is no key says what it holds and what is expected; a bad
 * --key fails archive even when nothing needs archiving; a key-provider failure is the run's, not a binlog's; a
 * key file other users can read is warned about; numeric options out of range are usage errors (exit 2).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { keyFileExposure } from '../../src/keys/key-file-mode.ts';
import { describeKeyFile } from '../../src/keys/local-key-provider.ts';
import { KINGBUS, binlogDir, newKeyUrl, tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';

const hex = (n: number): string => randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n);

/** An archive run with nothing to archive: an empty binlog directory. */
function idle(): { work: string; args: string[] } {
  const work = tempDir();
  fs.mkdirSync(path.join(work, 'binlogs'));
  return { work, args: ['archive', '--binlog-dir', path.join(work, 'binlogs'), '--store', `file://${path.join(work, 'store')}`] };
}

function keyFile(work: string, content: string | Buffer, mode = 0o600): string {
  const file = path.join(work, `key-${randomBytes(4).toString('hex')}`);
  fs.writeFileSync(file, content, { mode });
  fs.chmodSync(file, mode);
  return file;
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('what a key file that is no key holds', () => {
  const cases: [string, string | Buffer, RegExp][] = [
    ['63 hex characters and a newline', `${hex(63)}\n`, /^holds 63 hex characters and a newline \(an odd count\); expected 64 hex characters \(32 bytes\)$/],
    ['62 hex characters', hex(62), /^holds 62 hex characters \(31 bytes\); expected 64 hex characters \(32 bytes\)$/],
    ['65 hex characters, CRLF', `${hex(65)}\r\n`, /^holds 65 hex characters and a newline \(an odd count\)/],
    ['64 hex characters with spaces', `  ${hex(64)}  \n`, /^holds 64 hex characters with other whitespace around them/],
    ['base64 of 32 bytes', `${randomBytes(32).toString('base64')}\n`, /^holds 44 characters of base64 text; expected 32 raw bytes or 64 hex characters/],
    ['nothing', '', /^is empty$/],
    ['33 random bytes', Buffer.concat([Buffer.from([0xff]), randomBytes(32)]), /^holds 33 bytes that are neither 32 raw bytes nor 64 hex characters$/],
  ];
  for (const [what, content, expected] of cases) {
    it(what, () => assert.match(describeKeyFile(Buffer.from(content)), expected));
  }
});

describe('archive checks its key before looking for binlogs', () => {
  it('a 63-hex-character key fails an idle run (exit 1, EKEY) and says what it holds', async () => {
    const { work, args } = idle();
    const file = keyFile(work, `${hex(63)}\n`);
    const r = await runCli([...args, '--key', `file://${file}`, '--json']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'EKEY');
    assert.match(r.stderr, /key file .* holds 63 hex characters and a newline \(an odd count\); expected 64 hex characters \(32 bytes\)/);
    assert.doesNotMatch(r.stderr, /Discovered binlogs/);
  });

  it('a missing key file, passphrase file or Vault token file fails an idle run', async () => {
    const { work, args } = idle();
    const missing = path.join(work, 'no-such-file');
    const gcm = await runCli([...args, '--key', `file://${missing}`]);
    assert.equal(gcm.code, 1, gcm.stderr);
    assert.match(gcm.stderr, /error EKEY: cannot read key file .*no-such-file/);
    const openssl = await runCli([...args, '--key', `file://${missing}`, '--format', 'openssl-aes-256-cbc']);
    assert.equal(openssl.code, 1, openssl.stderr);
    assert.match(openssl.stderr, /error EKEY: cannot read passphrase file .*no-such-file/);
    const vault = await runCli([...args, '--key', `vault://binlogs?addr=http://127.0.0.1:${await closedPort()}&tokenFile=${missing}`]);
    assert.equal(vault.code, 1, vault.stderr);
    assert.match(vault.stderr, /error EKEY: vault key transit\/binlogs: cannot read tokenFile .*no-such-file: ENOENT/);
  });

  it('a good key and nothing to archive still exits 0', async () => {
    const { work, args } = idle();
    const r = await runCli([...args, '--key', newKeyUrl(work), '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { archived: number }).archived, 0);
  });

  it('a key provider that fails is the run\'s failure, logged once without a binlog', async () => {
    const { dir } = binlogDir(KINGBUS.slice(0, 2));
    const work = tempDir();
    const token = keyFile(work, 'hvs.not-a-real-token\n');
    const r = await runCli(['archive', '--binlog-dir', dir, '--store', `file://${path.join(work, 'store')}`,
      '--key', `vault://binlogs?addr=http://127.0.0.1:${await closedPort()}&tokenFile=${token}`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /error EKEYUNAVAILABLE: vault key transit\/binlogs/);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const failed = lines.filter((l) => l.level === 'error');
    assert.deepEqual(failed.map((l) => l.msg), ['Key provider failed']);
    assert.equal(failed[0]?.binlog, undefined);
    assert.equal(failed[0]?.code, 'EKEYUNAVAILABLE');
  });
});

describe('key files other users can read', () => {
  it('are warned about on stderr as a log line, and the run goes on', async () => {
    const { work, args } = idle();
    const exposed = keyFile(work, `${hex(64)}\n`, 0o644);
    const r = await runCli([...args, '--key', `file://${exposed}`]);
    assert.equal(r.code, 0, r.stderr);
    const warning = r.stderr.split('\n').filter((l) => l.includes('Key file is accessible')).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(warning.length, 1, r.stderr);
    assert.deepEqual([warning[0]?.level, warning[0]?.keyFile, warning[0]?.problem], ['warn', exposed, 'mode 0644 lets every user of this machine read it']);
    const restore = await runCli(['verify', '--store', `file://${path.join(work, 'store')}`, '--key', `file://${exposed}`]);
    assert.match(restore.stderr, /Key file is accessible to other users/);
    const quiet = await runCli([...args, '--key', `file://${keyFile(work, `${hex(64)}\n`, 0o600)}`]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /Key file is accessible/);
  });

  it('group access counts on a file of one\'s own, not on a Secret volume\'s root-owned 0440 file', () => {
    const work = tempDir();
    const file = keyFile(work, 'x', 0o640);
    const own = fs.statSync(file).uid;
    assert.match(keyFileExposure(file, own) ?? '', /^mode 0640 lets group \d+ read it$/);
    assert.equal(keyFileExposure(file, own + 1), undefined);
    assert.equal(keyFileExposure(keyFile(work, 'x', 0o400), own), undefined);
    assert.match(keyFileExposure(keyFile(work, 'x', 0o602), own) ?? '', /^mode 0602 lets every user of this machine use it$/);
    assert.equal(keyFileExposure(path.join(work, 'missing'), own), undefined);
  });
});

describe('numeric options out of range are usage errors', () => {
  it('--segment-size, --level and --apply-port exit 2', async () => {
    const { work, args } = idle();
    const key = newKeyUrl(work);
    for (const [extra, why] of [
      [['--segment-size', '1'], /--segment-size 1 is out of range \(1024 to 67108864\)/],
      [['--segment-size', '67108865'], /--segment-size 67108865 is out of range/],
      [['--segment-size', '99999999999999999999'], /--segment-size "99999999999999999999" is not an integer/],
      [['--level', '20'], /--level 20 is out of range/],
    ] as const) {
      const r = await runCli([...args, '--key', key, ...extra]);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, why);
    }
    const port = await runCli(['restore', '--store', `file://${work}/store`, '--key', key, '--out', path.join(work, 'out'),
      '--apply-host', 'h', '--apply-user-file', '/u', '--apply-password-file', '/p', '--apply-port', '70000']);
    assert.equal(port.code, 2, port.stderr);
    assert.match(port.stderr, /--apply-port 70000 is out of range \(1 to 65535\)/);
  });
});
