import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  decodeOpensslObject,
  encodeOpensslObject,
  parseSidecar,
  readOpensslPassFile,
  type OpensslEncodeOptions,
} from '../../src/format/index.ts';
import { IDENTITY, OTHER_IDENTITY, chunked, collect, compressible, pseudoRandom, rejectsWith, sha256 } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'format-openssl-'));
after(() => rmSync(dir, { recursive: true }));
let files = 0;
function file(content: Buffer | string): string {
  const path = join(dir, `f${files++}`);
  writeFileSync(path, content);
  return path;
}

const PASSFILE = 'correct horse battery staple\n';

async function encodeCompat(data: Buffer, passfile: Buffer | string = PASSFILE, overrides: Partial<OpensslEncodeOptions> = {}) {
  const passphrase = readOpensslPassFile(Buffer.from(passfile));
  const encoded = encodeOpensslObject({ source: chunked(data), passphrase, identity: IDENTITY, segmentSize: 4096, ...overrides });
  const object = await collect(encoded);
  return { object, result: await encoded.result, passphrase };
}

/** The restore runbook: openssl enc -d ... | zstd -d, nothing of ours. */
function runbookRestore(object: Buffer, passfile: Buffer | string): Buffer {
  const obj = file(object);
  const key = file(passfile);
  const r = spawnSync('sh', ['-c', `openssl enc -d -aes-256-cbc -pbkdf2 -iter 100000 -pass file:${key} -in ${obj} | zstd -d -c -q`], { maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr.toString());
  return r.stdout;
}

async function decodeCompat(object: Buffer, sidecar: Buffer, passphrase: Buffer, expected = IDENTITY) {
  const decoded = decodeOpensslObject({ source: chunked(object, [9, 5000, 1]), sidecar, passphrase, expected, objectName: 'compat/object' });
  const plaintext = await collect(decoded);
  return { plaintext, result: await decoded.result };
}

const cases: [string, Buffer][] = [
  ['empty input', Buffer.alloc(0)],
  ['one byte', Buffer.from('x')],
  ['compressible, many segments', compressible(60_000)],
  ['random, many segments', pseudoRandom(30_000, 5)],
  ['real binlog', readFileSync('/work/shared/fixtures/binlogs/mysql80/maxwell/binlog.000004')],
];

for (const [name, data] of cases) {
  test(`openssl enc -d | zstd -d restores a compat object byte-identically: ${name}`, async () => {
    const { object, result, passphrase } = await encodeCompat(data);
    assert.equal(result.plaintextLength, data.length);
    assert.equal(result.plaintextSha256, sha256(data));
    assert.equal(result.objectSha256, sha256(object));
    assert.ok(runbookRestore(object, PASSFILE).equals(data));
    const ours = await decodeCompat(object, result.sidecarBytes, passphrase);
    assert.ok(ours.plaintext.equals(data));
    assert.deepEqual(ours.result, { plaintextLength: data.length, plaintextSha256: sha256(data), objectLength: object.length, objectSha256: sha256(object), planningSha256: null });
  });
}

test('the object is byte for byte what openssl enc writes for the same zstd stream and salt', async () => {
  const data = compressible(50_000);
  const { object, result } = await encodeCompat(data);
  assert.equal(object.subarray(0, 8).toString('latin1'), 'Salted__');
  assert.equal(object.subarray(8, 16).toString('hex'), result.sidecar.salt);
  const key = file(PASSFILE);
  const zstdStream = execFileSync('openssl', ['enc', '-d', '-aes-256-cbc', '-pbkdf2', '-iter', '100000', '-pass', `file:${key}`, '-in', file(object)]);
  const again = execFileSync('openssl', ['enc', '-aes-256-cbc', '-salt', '-pbkdf2', '-iter', '100000', '-pass', `file:${key}`, '-S', result.sidecar.salt, '-in', file(zstdStream)]);
  // OpenSSL 3.0 omits the "Salted__" + salt header when the salt is given with -S; the rest must match.
  assert.ok(Buffer.concat([Buffer.from('Salted__'), Buffer.from(result.sidecar.salt, 'hex'), again]).equals(object), 'openssl re-encryption differs');
  assert.equal(zstdStream.length, result.compressedLength);
});

test('passphrase files are read the way openssl -pass file: reads them', async () => {
  const data = compressible(5000);
  const variants: [string, Buffer, string][] = [
    ['no trailing newline', Buffer.from('s3cret'), 's3cret'],
    ['LF', Buffer.from('s3cret\n'), 's3cret'],
    ['CRLF keeps the CR', Buffer.from('s3cret\r\n'), 's3cret\r'],
    ['only the first line', Buffer.from('s3cret\nsecond line\n'), 's3cret'],
    ['a NUL ends the passphrase', Buffer.from('s3\0cret\n'), 's3'],
    ['at most 1023 bytes', Buffer.alloc(1500, 'p'), 'p'.repeat(1023)],
  ];
  for (const [name, content, expected] of variants) {
    assert.equal(readOpensslPassFile(content).toString('latin1'), expected, name);
    const { object } = await encodeCompat(data, content);
    assert.ok(runbookRestore(object, content).equals(data), `openssl disagrees: ${name}`);
  }
  await rejectsWith(() => Promise.resolve().then(() => readOpensslPassFile(Buffer.alloc(0))), 'EKEY', /passphrase file is empty/);
  await rejectsWith(() => Promise.resolve().then(() => readOpensslPassFile(Buffer.from('\nsecond'))), 'EKEY', /passphrase is empty/);
});

test('compat encoding is deterministic (salt derived from passphrase and identity)', async () => {
  const data = compressible(30_000);
  const a = await encodeCompat(data);
  const b = await encodeCompat(data);
  assert.ok(a.object.equals(b.object));
  assert.ok(a.result.sidecarBytes.equals(b.result.sidecarBytes));
  const c = await encodeCompat(data, PASSFILE, { identity: OTHER_IDENTITY });
  assert.notEqual(c.result.sidecar.salt, a.result.sidecar.salt);
  const d = await encodeCompat(data, 'another passphrase\n');
  assert.notEqual(d.result.sidecar.salt, a.result.sidecar.salt);
});

test('the sidecar names identity, settings and digests', async () => {
  const data = compressible(10_000);
  const { object, result } = await encodeCompat(data, PASSFILE, { key: { provider: 'local', keyId: 'compat-pass', keyVersion: '2' } });
  const parsed = parseSidecar(result.sidecarBytes, { object: 'x' });
  assert.deepEqual(parsed, result.sidecar);
  assert.deepEqual(parsed.identity, IDENTITY);
  assert.deepEqual(parsed.key, { provider: 'local', keyId: 'compat-pass', keyVersion: '2' });
  assert.equal(parsed.objectSha256, sha256(object));
  assert.equal(parsed.objectLength, object.length);
  assert.equal(parsed.plaintextSha256, sha256(data));
  assert.equal(parsed.pbkdf2Iterations, 100000);
  assert.match(result.sidecarBytes.toString(), /^\{"format":"binlog-archiver\/openssl-aes-256-cbc","hmacSha256":"[0-9a-f]{64}",/);
});

test('compat tamper cases are rejected with the right code', async () => {
  const data = compressible(40_000);
  const { object, result, passphrase } = await encodeCompat(data);
  const sidecar = result.sidecarBytes;
  const flipped = (buf: Buffer, at: number): Buffer => {
    const c = Buffer.from(buf);
    c[at] = (c[at] as number) ^ 0x10;
    return c;
  };
  await rejectsWith(() => decodeCompat(object, sidecar, Buffer.from('wrong passphrase')), 'EKEY', /passphrase does not match/);
  for (const at of [20, 100, Math.floor(object.length / 2), object.length - 1]) {
    await rejectsWith(() => decodeCompat(flipped(object, at), sidecar, passphrase), 'EAUTH', /HMAC-SHA256 over the object does not match/);
  }
  await rejectsWith(() => decodeCompat(flipped(object, 9), sidecar, passphrase), 'EAUTH', /object salt/);
  await rejectsWith(() => decodeCompat(object.subarray(0, object.length - 16), sidecar, passphrase), 'EAUTH', /HMAC/);
  await rejectsWith(() => decodeCompat(Buffer.concat([object, Buffer.alloc(16)]), sidecar, passphrase), 'EAUTH', /HMAC/);
  const badMac = Buffer.from(sidecar.toString().replace(/"hmacSha256":"(.)/, (_m, c: string) => `"hmacSha256":"${c === '0' ? '1' : '0'}`));
  await rejectsWith(() => decodeCompat(object, badMac, passphrase), 'EAUTH', /HMAC/);
  // The HMAC covers the sidecar's plaintext claims too.
  const badSha = Buffer.from(sidecar.toString().replace(`"plaintextSha256":"${result.plaintextSha256}"`, `"plaintextSha256":"${'0'.repeat(64)}"`));
  await rejectsWith(() => decodeCompat(object, badSha, passphrase), 'EAUTH', /HMAC/);
  const badSegment = Buffer.from(sidecar.toString().replace('"segmentSize":4096', '"segmentSize":8192'));
  await rejectsWith(() => decodeCompat(object, badSegment, passphrase), 'EAUTH', /HMAC/);
  const tinySegment = Buffer.from(sidecar.toString().replace('"segmentSize":4096', '"segmentSize":10'));
  await rejectsWith(() => decodeCompat(object, tinySegment, passphrase), 'EFORMAT', /segmentSize 10 is outside 1024\.\.67108864/);
  await rejectsWith(() => decodeCompat(object, sidecar, passphrase, OTHER_IDENTITY), 'EVERIFY', /binlogFile is "binlog\.000042", expected "binlog\.000043"/);
  await rejectsWith(async () => decodeCompat(object, Buffer.from('{"format":'), passphrase), 'EFORMAT', /sidecar is not valid JSON/);
  const gcmLike = Buffer.concat([Buffer.from('NotSalt_'), object.subarray(8)]);
  await rejectsWith(() => decodeCompat(gcmLike, sidecar, passphrase), 'EFORMAT', /does not start with "Salted__"/);
});

test('openssl with the wrong passphrase fails too (sanity check of the runbook path)', async () => {
  const { object } = await encodeCompat(compressible(2000));
  const r = spawnSync('openssl', ['enc', '-d', '-aes-256-cbc', '-pbkdf2', '-iter', '100000', '-pass', `file:${file('nope\n')}`, '-in', file(object)]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr.toString(), /bad decrypt/);
});
