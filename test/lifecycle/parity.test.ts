// test-resources: cpu
/**
 * `binlog-archiver parity` through the real command line, against legacy objects written by the real `zstd`,
 * `openssl` and `gzip` commands: in a local directory and under an S3 prefix (the test environment's VersityGW).
 * The archive holds three binlogs archived by three runs (three rotation cycles). Each case checks what is
 * reported, by name, and the exit status (0 all match, 3 a mismatch in the overlap, 4 no overlap, 2 usage).
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { KINGBUS, binlogDir, newKeyUrl, newPassphraseUrl, tempDir } from '../support/archive.ts';
import { type CliResult, runCli } from '../support/cli.ts';
import { skipUnlessIn } from '../support/testenv.ts';
import type { ArchiverError } from '../../src/errors.ts';
import { legacyBinlogName, openLegacyLocation } from '../../src/lifecycle/legacy-location.ts';
import { credentialsEnv, rawClient, s3, storeUrlFor, uniquePrefix } from '../store/helpers.ts';

interface Summary {
  ok: boolean;
  matched: string[];
  missingInLegacy: string[];
  missingInArchive: string[];
  differing: { binlog: string }[];
  corruptLegacy: { binlog: string; kind: string; reason: string }[];
  ignoredLegacyObjects: { name: string; reason: string }[];
  newerThanLegacy: string[];
  consecutiveMatchingCycles: number;
  cycles: { batchId: string; binlogs: string[]; status: string }[];
  overlap: { first: string; last: string } | null;
}

const B = ['mysql-bin.000001', 'mysql-bin.000002', 'mysql-bin.000003'];
const SUFFIX = { 'openssl-aes-256-cbc': '.zst.enc', zstd: '.zst', gzip: '.gz', plain: '' } as const;
type Format = keyof typeof SUFFIX;

let work: string;
let binlogs: string;
let key: string;
let store: string;
let passFile: string;

/** What the legacy pipeline's shell script does, with the real tools. */
function legacyEncode(format: Format, input: string, output: string, pass = passFile): void {
  const command = {
    'openssl-aes-256-cbc': `zstd -3 -q -c "$1" | openssl enc -aes-256-cbc -salt -pbkdf2 -iter 100000 -pass "file:$3" -out "$2"`,
    zstd: 'zstd -3 -q -c "$1" > "$2"',
    gzip: 'gzip -c "$1" > "$2"',
    plain: 'cp "$1" "$2"',
  }[format];
  execFileSync('sh', ['-c', command, 'sh', input, output, pass]);
}

/** A legacy directory holding `names` (default: all three) in `format`. */
function legacyDir(format: Format, names = B): string {
  const dir = fs.mkdtempSync(path.join(work, `legacy-${format}-`));
  for (const n of names) legacyEncode(format, path.join(binlogs, n), path.join(dir, `${n}${SUFFIX[format]}`));
  return dir;
}

/**
 * CBC: flipping bit 7 of the next-to-last ciphertext block's last byte flips it in the last plaintext block, the
 * PKCS#7 padding length (1..16), which becomes >= 129: bad padding, every time (the salt is random per run).
 */
function breakPadding(object: Buffer): Buffer {
  object[object.length - 17]! ^= 0x80;
  return object;
}

function parity(legacy: string, format: Format, extra: string[] = [], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  const keyArgs = format === 'openssl-aes-256-cbc' ? ['--legacy-key', `file://${passFile}`] : [];
  return runCli(['parity', '--store', store, '--key', key, '--legacy', legacy, '--legacy-format', format, ...keyArgs, '--json', ...extra], env);
}

function summaryOf(r: CliResult): Summary {
  return JSON.parse(r.stdout) as Summary;
}

before(async () => {
  work = tempDir('blarc-parity-');
  binlogs = binlogDir(KINGBUS, 'mysql-bin').dir;
  key = newKeyUrl(work);
  store = `file://${path.join(work, 'store')}`;
  passFile = path.join(work, 'legacy.pass');
  fs.writeFileSync(passFile, 'the legacy pipeline passphrase\n', { mode: 0o600 });
  // Three archive runs, one rotated binlog each: three rotation cycles.
  const stage = path.join(work, 'stage');
  fs.mkdirSync(stage);
  for (const [i, name] of B.entries()) {
    fs.copyFileSync(path.join(binlogs, name), path.join(stage, name));
    fs.writeFileSync(path.join(stage, `mysql-bin.${String(i + 2).padStart(6, '0')}`), '');
    const r = await runCli(['archive', '--binlog-dir', stage, '--store', store, '--key', key, '-q']);
    assert.equal(r.code, 0, r.stderr);
  }
});

describe('parity with a legacy directory', () => {
  for (const format of Object.keys(SUFFIX) as Format[]) {
    it(`${format}: every binlog matches, three consecutive cycles, exit 0`, async () => {
      const r = await parity(`file://${legacyDir(format)}`, format);
      assert.equal(r.code, 0, r.stderr);
      const s = summaryOf(r);
      assert.deepEqual([s.ok, s.matched, s.consecutiveMatchingCycles, s.cycles.length], [true, B, 3, 3]);
      assert.deepEqual(s.cycles.map((c) => c.binlogs), [[B[2]], [B[1]], [B[0]]]);
    });
  }

  it('an archive in the openssl-aes-256-cbc format is decoded (and authenticated) with its passphrase', async () => {
    const compatStore = `file://${fs.mkdtempSync(path.join(work, 'store-compat-'))}`;
    const compatKey = newPassphraseUrl(fs.mkdtempSync(path.join(work, 'compat-key-')));
    const a = await runCli(['archive', '--binlog-dir', path.join(work, 'stage'), '--store', compatStore, '--key', compatKey, '--format', 'openssl-aes-256-cbc', '-q']);
    assert.equal(a.code, 0, a.stderr);
    const r = await runCli(['parity', '--store', compatStore, '--key', compatKey, '--legacy', `file://${legacyDir('gzip')}`, '--legacy-format', 'gzip', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([summaryOf(r).matched, summaryOf(r).consecutiveMatchingCycles], [B, 1]);
    const wrong = await runCli(['parity', '--store', compatStore, '--key', `file://${passFile}`, '--legacy', `file://${legacyDir('gzip')}`, '--legacy-format', 'gzip', '--json']);
    assert.equal(wrong.code, 3, wrong.stderr);
    const unreadable = (JSON.parse(wrong.stdout) as { unreadableArchive: { binlog: string; code: string }[] }).unreadableArchive;
    assert.deepEqual(unreadable.map((u) => [u.binlog, u.code]), B.map((b) => [b, 'EKEY']));
  });

  it('a missing legacy object is reported by name; the cycles newer than it still count', async () => {
    const r = await parity(`file://${legacyDir('openssl-aes-256-cbc', [B[0]!, B[2]!])}`, 'openssl-aes-256-cbc');
    assert.equal(r.code, 3, r.stderr);
    const s = summaryOf(r);
    assert.deepEqual([s.ok, s.missingInLegacy, s.matched, s.consecutiveMatchingCycles], [false, [B[1]], [B[0], B[2]], 1]);
    assert.match(r.stderr, /differ in the overlapping range/);
  });

  it('a binlog missing from the archive (within the overlap) is reported by name', async () => {
    const holed = path.join(work, 'store-holed');
    fs.cpSync(path.join(work, 'store'), holed, { recursive: true });
    const entry = fs.readdirSync(path.join(holed, 'manifest/mysql-3150')).find((f) => f.includes(B[1]!));
    fs.rmSync(path.join(holed, 'manifest/mysql-3150', entry!));
    const legacy = `file://${legacyDir('zstd')}`;
    const r = await runCli(['parity', '--store', `file://${holed}`, '--key', key, '--legacy', legacy, '--legacy-format', 'zstd', '--json']);
    assert.equal(r.code, 3, r.stderr);
    assert.deepEqual(summaryOf(r).missingInArchive, [B[1]]);
  });

  it('a differing object is reported by name with both digests', async () => {
    const dir = legacyDir('openssl-aes-256-cbc', [B[0]!, B[2]!]);
    // The legacy pipeline archived other bytes under the name of binlog 2 (here: binlog 1's).
    legacyEncode('openssl-aes-256-cbc', path.join(binlogs, B[0]!), path.join(dir, `${B[1]}.zst.enc`));
    const r = await parity(`file://${dir}`, 'openssl-aes-256-cbc', ['--quiet']);
    assert.equal(r.code, 3, r.stderr);
    const s = summaryOf(r);
    assert.deepEqual([s.differing.map((d) => d.binlog), s.matched, s.consecutiveMatchingCycles], [[B[1]], [B[0], B[2]], 1]);
    const human = await runCli(['parity', '--store', store, '--key', key, '--legacy', `file://${dir}`, '--legacy-key', `file://${passFile}`, '-q']);
    assert.match(human.stdout, /DIFFERS: mysql-bin\.000002: legacy \d+ bytes sha256 [0-9a-f]{64}, archive \d+ bytes sha256 [0-9a-f]{64}/);
  });

  it('corrupt objects are reported by name with the reason: bad padding, truncated, wrong passphrase, bad zstd, bad gzip, not openssl', async () => {
    const enc = legacyDir('openssl-aes-256-cbc');
    const badPadding = path.join(enc, `${B[0]}.zst.enc`);
    fs.writeFileSync(badPadding, breakPadding(fs.readFileSync(badPadding)));
    fs.truncateSync(path.join(enc, `${B[1]}.zst.enc`), 100);
    const otherPass = path.join(work, 'other.pass');
    fs.writeFileSync(otherPass, 'not the passphrase\n', { mode: 0o600 });
    legacyEncode('openssl-aes-256-cbc', path.join(binlogs, B[2]!), path.join(enc, `${B[2]}.zst.enc`), otherPass);
    const s = summaryOf(await parity(`file://${enc}`, 'openssl-aes-256-cbc'));
    const reasons = Object.fromEntries(s.corruptLegacy.map((c) => [c.binlog, `${c.kind}: ${c.reason}`]));
    assert.match(reasons[B[0]!] ?? '', /^bad-padding: bad decrypt/);
    assert.match(reasons[B[1]!] ?? '', /^truncated: ciphertext is 84 bytes, not a multiple of the 16-byte AES block/);
    assert.match(reasons[B[2]!] ?? '', /^wrong-key: decrypts to data that is not a zstd stream: the wrong --legacy-key passphrase/);
    assert.equal(s.consecutiveMatchingCycles, 0);

    const zst = legacyDir('zstd');
    fs.truncateSync(path.join(zst, `${B[0]}.zst`), fs.statSync(path.join(zst, `${B[0]}.zst`)).size - 7);
    fs.appendFileSync(path.join(zst, `${B[1]}.zst`), 'trailing garbage');
    fs.writeFileSync(path.join(zst, `${B[2]}.zst`), 'not zstd at all');
    const z = summaryOf(await parity(`file://${zst}`, 'zstd'));
    const zr = Object.fromEntries(z.corruptLegacy.map((c) => [c.binlog, `${c.kind}: ${c.reason}`]));
    assert.match(zr[B[0]!] ?? '', /^truncated: the zstd stream ends inside a frame/);
    assert.match(zr[B[1]!] ?? '', /^bad-zstd: not a valid zstd stream at byte \d+: not a zstd frame/);
    assert.match(zr[B[2]!] ?? '', /^bad-zstd: not a valid zstd stream at byte 0/);

    const gz = legacyDir('gzip', [B[0]!]);
    const gzFile = path.join(gz, `${B[0]}.gz`);
    const gzBytes = fs.readFileSync(gzFile);
    gzBytes[gzBytes.length - 1]! ^= 0x5a; // the ISIZE trailer
    fs.writeFileSync(gzFile, gzBytes);
    const g = summaryOf(await parity(`file://${gz}`, 'gzip'));
    assert.deepEqual(g.corruptLegacy.map((c) => [c.binlog, c.kind]), [[B[0], 'bad-gzip']]);

    const plainAsEnc = legacyDir('zstd', [B[0]!]);
    fs.renameSync(path.join(plainAsEnc, `${B[0]}.zst`), path.join(plainAsEnc, `${B[0]}.zst.enc`));
    const o = summaryOf(await parity(`file://${plainAsEnc}`, 'openssl-aes-256-cbc'));
    assert.match(o.corruptLegacy[0]?.reason ?? '', /does not start with "Salted__"/);
  });

  it('a concatenated multi-frame zstd object decodes as zstd -d does', async () => {
    const dir = legacyDir('zstd', [B[1]!, B[2]!]);
    const input = path.join(binlogs, B[0]!);
    const half = Math.floor(fs.statSync(input).size / 2);
    const data = fs.readFileSync(input);
    fs.writeFileSync(path.join(work, 'a'), data.subarray(0, half));
    fs.writeFileSync(path.join(work, 'b'), data.subarray(half));
    execFileSync('sh', ['-c', 'zstd -3 -q -c "$1" > "$3"; zstd -3 -q -c "$2" >> "$3"', 'sh', path.join(work, 'a'), path.join(work, 'b'), path.join(dir, `${B[0]}.zst`)]);
    execFileSync('sh', ['-c', 'zstd -d -q -c "$1" | cmp - "$2"', 'sh', path.join(dir, `${B[0]}.zst`), input]);
    const r = await parity(`file://${dir}`, 'zstd');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(summaryOf(r).matched, B);
  });

  it('legacy objects newer than the archive are outside the overlap; no overlap at all is exit 4', async () => {
    const dir = legacyDir('plain', [B[1]!]);
    fs.copyFileSync(path.join(binlogs, B[2]!), path.join(dir, 'mysql-bin.000009'));
    const r = await parity(`file://${dir}`, 'plain');
    // Legacy 000002 and 000009, ours 000001..000003: the overlap is 000002..000003, 000001 is older than legacy's first.
    assert.equal(r.code, 3, r.stderr);
    const s = summaryOf(r);
    assert.deepEqual([s.overlap?.first, s.overlap?.last, s.missingInLegacy, s.matched], [B[1], B[2], [B[2]], [B[1]]]);

    const late = legacyDir('plain', []);
    fs.copyFileSync(path.join(binlogs, B[2]!), path.join(late, 'mysql-bin.000007'));
    const none = await parity(`file://${late}`, 'plain');
    assert.equal(none.code, 4, none.stderr);
    assert.match(none.stderr, /share no binlog: nothing was compared/);
  });

  it('--recent-cycles N compares only the newest N cycles the legacy pipeline has reached', async () => {
    // Legacy lags (no 000003: that cycle is skipped) and 000001 differs (outside the two newest reached cycles).
    const dir = legacyDir('plain', [B[1]!]);
    fs.copyFileSync(path.join(binlogs, B[1]!), path.join(dir, B[0]!));
    const one = summaryOf(await parity(`file://${dir}`, 'plain', ['--recent-cycles', '1']));
    assert.deepEqual([one.ok, one.matched, one.newerThanLegacy, one.differing.length, one.consecutiveMatchingCycles], [true, [B[1]], [], 0, 1]);
    const two = summaryOf(await parity(`file://${dir}`, 'plain', ['--recent-cycles', '2']));
    assert.deepEqual([two.ok, two.matched, two.differing.map((d) => d.binlog), two.consecutiveMatchingCycles], [false, [B[1]], [B[0]], 1]);
  });

  it('the legacy archive lagging behind: our newer cycles are pending, not failures', async () => {
    const r = await parity(`file://${legacyDir('gzip', [B[0]!, B[1]!])}`, 'gzip');
    assert.equal(r.code, 0, r.stderr);
    const s = summaryOf(r);
    assert.deepEqual([s.newerThanLegacy, s.consecutiveMatchingCycles, s.cycles.map((c) => c.status)], [[B[2]], 2, ['pending', 'match', 'match']]);
  });
});

describe('archive --legacy: the check after each run (spec.migration.legacy)', () => {
  interface Report { ok: boolean; parity?: { ok: boolean; consecutiveMatchingCycles: number; matched: number; problems: number; pending: number; detail: string | null; error: { code: string } | null } }
  const archiveWithParity = async (legacy: string[]): Promise<{ code: number; report: Report; stderr: string }> => {
    const summary = path.join(fs.mkdtempSync(path.join(work, 'report-')), 'report.json');
    const stage = path.join(work, 'stage'); // every binlog is archived already: the run skips them all
    const r = await runCli(['archive', '--binlog-dir', stage, '--store', store, '--key', key, '--summary-file', summary, ...legacy]);
    return { code: r.code, report: JSON.parse(fs.readFileSync(summary, 'utf8')) as Report, stderr: r.stderr };
  };

  it('reports the consecutive matching cycles in the run report', async () => {
    const dir = legacyDir('openssl-aes-256-cbc');
    const r = await archiveWithParity(['--legacy', `file://${dir}`, '--legacy-key', `file://${passFile}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.report.parity, { ok: true, consecutiveMatchingCycles: 3, matched: 3, problems: 0, pending: 0, detail: null, error: null });
  });

  it('a mismatch or a failed check is reported, and the archive run still succeeds', async () => {
    const dir = legacyDir('zstd', [B[0]!, B[2]!]);
    const r = await archiveWithParity(['--legacy', `file://${dir}`, '--legacy-format', 'zstd']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([r.report.ok, r.report.parity?.ok, r.report.parity?.consecutiveMatchingCycles, r.report.parity?.detail], [true, false, 1, `missing in legacy: ${B[1]}`]);
    const gone = await archiveWithParity(['--legacy', `file://${dir}`, '--legacy-key', `file://${path.join(work, 'no-such-passphrase')}`]);
    assert.equal(gone.code, 0, gone.stderr);
    assert.deepEqual([gone.report.ok, gone.report.parity?.ok, gone.report.parity?.error?.code], [true, false, 'EKEY']);
    const usage = await runCli(['archive', '--binlog-dir', work, '--store', store, '--key', key, '--legacy-format', 'zstd']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--legacy-format and --legacy-key need --legacy URL/);
  });
});

describe('parity with hostile legacy input', () => {
  it('symlinks are not followed, other names are ignored with the reason, never read', async () => {
    const dir = legacyDir('openssl-aes-256-cbc', [B[0]!, B[2]!]);
    fs.symlinkSync('/etc/passwd', path.join(dir, `${B[1]}.zst.enc`));
    fs.mkdirSync(path.join(dir, 'mysql-bin.000004.zst.enc'));
    fs.writeFileSync(path.join(dir, '..mysql-bin.zst.enc'), 'x');
    fs.writeFileSync(path.join(dir, 'mysql-bin.index'), 'x');
    const r = await parity(`file://${dir}`, 'openssl-aes-256-cbc');
    assert.equal(r.code, 3, r.stderr);
    const s = summaryOf(r);
    assert.deepEqual(s.missingInLegacy, [B[1]]);
    const ignored = Object.fromEntries(s.ignoredLegacyObjects.map((i) => [i.name, i.reason]));
    assert.match(ignored[`${B[1]}.zst.enc`] ?? '', /symbolic link \(not followed/);
    assert.match(ignored['mysql-bin.000004.zst.enc'] ?? '', /is a directory/);
    assert.match(ignored['..mysql-bin.zst.enc'] ?? '', /is not a binlog name/);
    assert.match(ignored['mysql-bin.index'] ?? '', /does not end in \.zst\.enc or \.enc/);
  });

  it('path traversal in a legacy name is never a binlog and never read', async () => {
    for (const name of ['../mysql-bin.000001.zst', 'x/../mysql-bin.000001.zst', '..\\mysql-bin.000001.zst', '-mysql-bin.000001.zst']) {
      const parsed = legacyBinlogName(name, 'zstd');
      assert.ok('reason' in parsed, name);
      assert.match(parsed.reason, /is not a binlog name/, name);
    }
    const location = await openLegacyLocation(`file://${legacyDir('plain', [B[0]!])}`, 'plain');
    for (const name of ['../../etc/passwd', '..', 'a/b']) {
      await assert.rejects(async () => {
        for await (const _ of location.read(name));
      }, (err: ArchiverError) => err.code === 'EBADINPUT' && /not a plain object name/.test(err.message), name);
    }
  });

  it('the legacy passphrase never on the command line, and never echoed', async () => {
    const dir = `file://${legacyDir('openssl-aes-256-cbc', [B[0]!])}`;
    const secret = 'correct horse battery staple';
    const r = await runCli(['parity', '--store', store, '--key', key, '--legacy', dir, '--legacy-key', secret]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--legacy-key must be a file:\/\/ URL naming the passphrase file \(the value given is not shown/);
    assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret));
    const missing = await runCli(['parity', '--store', store, '--key', key, '--legacy', dir]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /needs --legacy-key file:\/\//);
  });

  it('a passphrase file other users can read is warned about, as --key files are', async () => {
    const exposed = path.join(work, 'exposed.pass');
    fs.copyFileSync(passFile, exposed);
    fs.chmodSync(exposed, 0o644);
    const dir = `file://${legacyDir('openssl-aes-256-cbc')}`;
    const r = await runCli(['parity', '--store', store, '--key', key, '--legacy', dir, '--legacy-key', `file://${exposed}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /"msg":"Key file is accessible to other users".*"problem":"mode 0644 lets every user of this machine read it"/);
    assert.ok(!r.stderr.includes('the legacy pipeline passphrase'));
  });

  it('a store with several sources needs --source', async () => {
    const two = path.join(work, 'store-two');
    fs.cpSync(path.join(work, 'store'), two, { recursive: true });
    fs.mkdirSync(path.join(two, 'manifest/other-server'));
    fs.writeFileSync(path.join(two, 'manifest/other-server/0000000001-x.000001.json'), '{}');
    const legacy = `file://${legacyDir('plain')}`;
    const r = await runCli(['parity', '--store', `file://${two}`, '--key', key, '--legacy', legacy, '--legacy-format', 'plain']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /holds 2 sources \(mysql-3150, other-server\): name the one the legacy pipeline archives/);
    const one = await runCli(['parity', '--store', `file://${two}`, '--key', key, '--legacy', legacy, '--legacy-format', 'plain', '--source', 'mysql-3150']);
    assert.equal(one.code, 0, one.stderr);
  });

  it('bad options are usage errors', async () => {
    const r = await runCli(['parity', '--store', store, '--key', key, '--legacy', 'ftp://x/y', '--legacy-format', 'plain']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--legacy "ftp:\/\/x\/y": not a file:\/\/, s3:\/\/ or gs:\/\/ URL/);
    const f = await runCli(['parity', '--store', store, '--key', key, '--legacy', 'file:///tmp', '--legacy-format', 'lz4']);
    assert.equal(f.code, 2);
    assert.match(f.stderr, /--legacy-format "lz4" is not one of openssl-aes-256-cbc, zstd, gzip, plain/);
  });
});

describe('parity with a legacy S3 prefix', { skip: skipUnlessIn('s3') }, () => {
  it('match, missing, differing and corrupt objects, each by name', async () => {
    const client = rawClient();
    const prefix = uniquePrefix('parity-legacy');
    const put = async (name: string, file: string): Promise<void> => {
      await client.send(new PutObjectCommand({ Bucket: s3().bucket, Key: `${prefix}/${name}`, Body: fs.readFileSync(file) }));
    };
    const local = legacyDir('openssl-aes-256-cbc');
    const env = { ...process.env, ...credentialsEnv() };
    for (const n of B) await put(`${n}.zst.enc`, path.join(local, `${n}.zst.enc`));
    const match = await parity(storeUrlFor(prefix), 'openssl-aes-256-cbc', [], env);
    assert.equal(match.code, 0, match.stderr);
    assert.deepEqual([summaryOf(match).matched, summaryOf(match).consecutiveMatchingCycles], [B, 3]);

    // A second prefix: 000001 corrupt (bad padding), 000002 missing, 000003 differs,
    // plus a key under a sub-prefix that must not be read.
    const bad = uniquePrefix('parity-legacy-bad');
    const corrupt = breakPadding(fs.readFileSync(path.join(local, `${B[0]}.zst.enc`)));
    await client.send(new PutObjectCommand({ Bucket: s3().bucket, Key: `${bad}/${B[0]}.zst.enc`, Body: corrupt }));
    legacyEncode('openssl-aes-256-cbc', path.join(binlogs, B[1]!), path.join(work, 'other.zst.enc'));
    await client.send(new PutObjectCommand({ Bucket: s3().bucket, Key: `${bad}/${B[2]}.zst.enc`, Body: fs.readFileSync(path.join(work, 'other.zst.enc')) }));
    await client.send(new PutObjectCommand({ Bucket: s3().bucket, Key: `${bad}/nested/${B[1]}.zst.enc`, Body: fs.readFileSync(path.join(local, `${B[1]}.zst.enc`)) }));
    const r = await parity(storeUrlFor(bad), 'openssl-aes-256-cbc', [], env);
    assert.equal(r.code, 3, r.stderr);
    const s = summaryOf(r);
    assert.deepEqual(s.corruptLegacy.map((c) => [c.binlog, c.kind]), [[B[0], 'bad-padding']]);
    assert.deepEqual(s.missingInLegacy, [B[1]]);
    assert.deepEqual(s.differing.map((d) => d.binlog), [B[2]]);
    assert.deepEqual(s.ignoredLegacyObjects.map((i) => i.name), [`nested/${B[1]}.zst.enc`]);
    assert.equal(s.consecutiveMatchingCycles, 0);
  });
});
