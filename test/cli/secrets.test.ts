/**
 * Secrets are never echoed: a refused argument that carries one (an inline key, a token or an AWS secret in a
 * URL) is masked on stderr, in the --json document and in the --summary-file run report (the Kubernetes
 * termination message), through the real command line. Also the mask itself, and the logger using it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/logger.ts';
import { looksLikeKeyMaterial, redact, registerSecret } from '../../src/redact.ts';
import { newKeyUrl, tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';

const HEX_KEY = randomBytes(32).toString('hex');
const B64_KEY = randomBytes(32).toString('base64');
const TOKEN = `hvs.${randomBytes(12).toString('hex')}`;
const AWS_SECRET = `wJalr${randomBytes(15).toString('base64url')}`;
const S3_SECRET = `s3Secret${randomBytes(9).toString('hex')}`;

/** [what, where it goes, the secret] */
const CASES: [string, (work: string) => string[], string][] = [
  ['an inline --key <hex>', (work) => ['--store', `file://${work}/store`, '--key', HEX_KEY], HEX_KEY],
  ['an inline --key=<base64>', (work) => ['--store', `file://${work}/store`, `--key=${B64_KEY}`], B64_KEY],
  ['vault://…&token=X', (work) => ['--store', `file://${work}/store`, '--key', `vault://binlogs?addr=http://127.0.0.1:8200&token=${TOKEN}`], TOKEN],
  ['awskms://…&secretAccessKey=X', (work) => ['--store', `file://${work}/store`, '--key', `awskms://alias/binlogs?region=eu-west-1&secretAccessKey=${AWS_SECRET}`], AWS_SECRET],
  ['s3://…?secretAccessKey=X', (work) => ['--store', `s3://bucket/prefix?region=eu-west-1&secretAccessKey=${S3_SECRET}`, '--key', newKeyUrl(work)], S3_SECRET],
  ['s3://user:secret@bucket', (work) => ['--store', `s3://AKIAEXAMPLE:${S3_SECRET}@bucket/prefix?region=eu-west-1`, '--key', newKeyUrl(work)], S3_SECRET],
];

describe('secrets in arguments are never echoed', () => {
  for (const [what, args, secret] of CASES) {
    it(`${what}: refused with exit 2, masked on stderr, in --json and in --summary-file`, async () => {
      const work = tempDir();
      fs.mkdirSync(path.join(work, 'binlogs'));
      const summaryFile = path.join(work, 'termination-log');
      const r = await runCli(['archive', '--binlog-dir', path.join(work, 'binlogs'), ...args(work), '--json', '--summary-file', summaryFile]);
      assert.equal(r.code, 2, r.stderr);
      const report = fs.readFileSync(summaryFile, 'utf8');
      const json = JSON.parse(r.stdout) as { ok: boolean; error: { code: string; message: string } };
      assert.deepEqual([json.ok, json.error.code], [false, 'EUSAGE']);
      assert.equal((JSON.parse(report) as { error: { code: string } }).error.code, 'EUSAGE');
      // Still says what was refused, with the secret masked.
      assert.match(r.stderr, /error EUSAGE: .*\*\*\*/);
      for (const [where, text] of [['stderr', r.stderr], ['stdout', r.stdout], ['summary file', report]] as const) {
        assert.equal(text.includes(secret), false, `the secret is in ${where}: ${text}`);
        assert.equal(text.toLowerCase().includes(secret.toLowerCase()), false, `the secret is in ${where} (other case)`);
      }
    });
  }

  it('restore and verify mask the same way', async () => {
    const work = tempDir();
    for (const command of [['verify'], ['restore', '--out', path.join(work, 'out')]]) {
      const r = await runCli([...command, '--store', `file://${work}/store`, '--key', `vault://k?addr=http://127.0.0.1:8200&token=${TOKEN}`, '--json']);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(`${r.stdout}${r.stderr}`.includes(TOKEN), false);
    }
  });
});

describe('the mask', () => {
  it('tells a base64 key that starts with "/" from an absolute path (one random key in 64 did and was echoed)', () => {
    const key = `/${'aB3'.repeat(14)}=`; // 32 bytes as padded base64
    assert.equal(looksLikeKeyMaterial(key), true);
    assert.equal(looksLikeKeyMaterial('/var/run/binlog-archiver/key/Master2Key3Abc'), false);
  });

  it('masks secret query values and user info, keeps the rest readable', () => {
    assert.equal(redact('--key vault://k?addr=http://v:8200&token=abc: parameter token= is not accepted'),
      '--key vault://k?addr=http://v:8200&token=***: parameter token= is not accepted');
    assert.equal(redact('s3://AKIA:pw@bucket/p?region=eu-west-1&X-Amz-Signature=0f0f&X-Amz-Credential=a%2Fb'),
      's3://***@bucket/p?region=eu-west-1&X-Amz-Signature=***&X-Amz-Credential=***');
    assert.equal(redact('{"url":"https://h/x?password=hunter2&user=bob"}'), '{"url":"https://h/x?password=***&user=bob"}');
    // Where a secret lives is no secret; names and digests stay.
    const plain = 'vault://k?addr=https://v:8200&tokenFile=/var/run/token&jwtFile=/t&authMount=kubernetes&caFile=/ca.pem region=eu-west-1';
    assert.equal(redact(plain), plain);
    const digest = `archived sha256 ${'ab'.repeat(32)}, this file ${'cd'.repeat(32)}`;
    assert.equal(redact(digest), digest);
    assert.equal(redact(redact('https://h/?secret=1')), 'https://h/?secret=***');
  });

  it('masks a registered value in any case, and tells key material from names and paths', () => {
    const hex = randomBytes(32).toString('hex');
    registerSecret(hex);
    assert.equal(redact(`--key ${hex.toUpperCase()} and ${hex}`), '--key *** and ***');
    for (const k of [hex, randomBytes(32).toString('base64'), randomBytes(24).toString('base64url')]) assert.equal(looksLikeKeyMaterial(k), true, k);
    for (const v of ['/var/run/binlog-archiver/key/master.key', 'file:///tmp/k', 'mysql-bin.000042', '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-77', '4194304',
      'prod-mysql-0', 'binlogarchiverbinlogarchiverbinlogarchiver']) assert.equal(looksLikeKeyMaterial(v), false, v);
  });

  it('the logger masks every line it writes', () => {
    const lines: string[] = [];
    const logger = createLogger({ write: (l) => lines.push(l), clock: () => new Date(0) });
    logger.log('warn', 'Retrying', { url: 'https://kms/?X-Amz-Security-Token=abc', store: 's3://b/p?region=r' });
    assert.equal(lines.join(''), '{"time":"1970-01-01T00:00:00.000Z","level":"warn","msg":"Retrying","url":"https://kms/?X-Amz-Security-Token=***","store":"s3://b/p?region=r"}\n');
  });
});
