/**
 * Archives written before format version 2 (test/fixtures/stores: gcm objects of version 1, openssl sidecars of
 * version 1) still verify and restore byte-identically, with their planning fields proven from the bytes; new
 * archives are version 2 (the planning digest in the trailer or the sidecar HMAC), and a tampered v2 trailer is EAUTH.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../../testenv/versions.ts';
import { KINGBUS, binlogDir, listFiles, newKeyUrl, newPassphraseUrl, sha256, tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';

const STORED = path.join(REPO_ROOT, 'test', 'fixtures', 'stores');

interface VerifyJson { ok: boolean; verified: number; problems: { code: string; binlog: string | null; message: string }[]; orphans: string[] }

/** A private copy of a stored fixture (the key file made owner-only, as a real one is). */
function copyFixture(name: string, keyFile: string): { store: string; storeDir: string; key: string } {
  const work = tempDir();
  fs.cpSync(path.join(STORED, name), work, { recursive: true });
  fs.chmodSync(path.join(work, keyFile), 0o600);
  return { store: `file://${path.join(work, 'store')}`, storeDir: path.join(work, 'store'), key: `file://${path.join(work, keyFile)}` };
}

async function verify(store: string, key: string): Promise<{ code: number; json: VerifyJson }> {
  const r = await runCli(['verify', '--store', store, '--key', key, '--json']);
  return { code: r.code, json: JSON.parse(r.stdout) as VerifyJson };
}

describe('format versions', () => {
  for (const [name, keyFile] of [['v1-gcm', 'master.key'], ['v1-openssl', 'passphrase']] as const) {
    it(`a stored ${name} archive still verifies and restores byte-identically`, async () => {
      const f = copyFixture(name, keyFile);
      const entries = listFiles(path.join(f.storeDir, 'manifest/v1db')).map((e) => JSON.parse(fs.readFileSync(path.join(f.storeDir, 'manifest/v1db', e), 'utf8')) as { object: { formatVersion: number; key: string; sidecarKey: string | null } });
      assert.deepEqual(entries.map((e) => e.object.formatVersion), [1, 1]);
      if (name === 'v1-gcm') assert.equal(fs.readFileSync(path.join(f.storeDir, entries[0]!.object.key)).readUInt16BE(8), 1);
      else assert.equal((JSON.parse(fs.readFileSync(path.join(f.storeDir, entries[0]!.object.sidecarKey!), 'utf8')) as { version: number }).version, 1);
      const v = await verify(f.store, f.key);
      assert.equal(v.code, 0, JSON.stringify(v.json.problems));
      assert.equal(v.json.verified, 2);
      const out = path.join(tempDir(), 'out');
      const r = await runCli(['restore', '--store', f.store, '--key', f.key, '--out', out, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(sha256(path.join(out, 'mysql-bin.000001')), sha256(KINGBUS[0]!));
      assert.equal(sha256(path.join(out, 'mysql-bin.000002')), sha256(KINGBUS[1]!));
    });

    it(`an edited planning field of a stored ${name} archive (no digest to compare) is caught from the bytes`, async () => {
      const f = copyFixture(name, keyFile);
      const file = path.join(f.storeDir, 'manifest/v1db', listFiles(path.join(f.storeDir, 'manifest/v1db'))[1]!);
      const entry = JSON.parse(fs.readFileSync(file, 'utf8')) as { binlog: { lastEventTime: string } };
      entry.binlog.lastEventTime = '2018-10-17T08:00:00.000Z';
      fs.writeFileSync(file, JSON.stringify(entry));
      const v = await verify(f.store, f.key);
      assert.equal(v.code, 1);
      assert.deepEqual(v.json.problems.map((p) => [p.code, p.binlog]), [['EVERIFY', 'mysql-bin.000002']]);
      assert.match(v.json.problems[0]!.message, /binlog\.lastEventTime: manifest "2018-10-17T08:00:00\.000Z", binlog bytes "2018-10-17T08:09:52\.000Z"/);
    });
  }

  it('an object adopted after its entry was lost keeps the version its header says, and verifies', async () => {
    const { dir } = binlogDir(KINGBUS.slice(0, 2), 'mysql-bin');
    const work = tempDir();
    const key = newKeyUrl(work);
    const storeDir = path.join(work, 'store');
    const store = `file://${storeDir}`;
    const args = ['archive', '--binlog-dir', dir, '--store', store, '--key', key, '--source', 'db1', '--json'];
    assert.equal((await runCli(args)).code, 0);
    const entryFile = path.join(storeDir, 'manifest/db1', listFiles(path.join(storeDir, 'manifest/db1'))[1]!);
    fs.rmSync(entryFile);
    const again = await runCli(args);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /Adopted archived binlog/);
    assert.equal((JSON.parse(fs.readFileSync(entryFile, 'utf8')) as { object: { formatVersion: number } }).object.formatVersion, 2);
    assert.equal((await verify(store, key)).code, 0);
  });

  for (const [format, newKey] of [['gcm', newKeyUrl], ['openssl-aes-256-cbc', newPassphraseUrl]] as const) {
    it(`archive writes version 2 (${format}): the digest authenticated, an edited entry named, a tampered trailer or sidecar digest EAUTH`, async () => {
      const { dir } = binlogDir(KINGBUS.slice(0, 2), 'mysql-bin');
      const work = tempDir();
      const key = newKey(work);
      const storeDir = path.join(work, 'store');
      const store = `file://${storeDir}`;
      const a = await runCli(['archive', '--binlog-dir', dir, '--store', store, '--key', key, '--source', 'db1', '--format', format, '--json']);
      assert.equal(a.code, 0, a.stderr);
      const entryFiles = listFiles(path.join(storeDir, 'manifest/db1')).map((e) => path.join(storeDir, 'manifest/db1', e));
      const entry = JSON.parse(fs.readFileSync(entryFiles[0]!, 'utf8')) as { object: { key: string; formatVersion: number; sidecarKey: string | null } };
      const object = path.join(storeDir, entry.object.key);
      if (format === 'gcm') {
        assert.equal(entry.object.formatVersion, 2);
        assert.equal(fs.readFileSync(object).readUInt16BE(8), 2);
      } else {
        assert.equal(entry.object.formatVersion, 1, 'the openssl object itself has one version; its sidecar has 2');
        assert.equal((JSON.parse(fs.readFileSync(path.join(storeDir, entry.object.sidecarKey!), 'utf8')) as { version: number }).version, 2);
      }
      assert.equal((await verify(store, key)).code, 0);
      // An edited entry: both the bytes and the authenticated digest disagree with it.
      const e2 = JSON.parse(fs.readFileSync(entryFiles[1]!, 'utf8')) as { binlog: { gtidsAdded: string } };
      e2.binlog.gtidsAdded = '214eb71f-96ec-11e8-ab4f-fa163e72d4ae:11801-11809';
      fs.writeFileSync(entryFiles[1]!, JSON.stringify(e2));
      const edited = await verify(store, key);
      assert.equal(edited.code, 1);
      const p = edited.json.problems.find((x) => x.binlog === 'mysql-bin.000002');
      assert.match(p?.message ?? '', /binlog\.gtidsAdded: manifest "214eb71f-96ec-11e8-ab4f-fa163e72d4ae:11801-11809", binlog bytes "214eb71f-96ec-11e8-ab4f-fa163e72d4ae:11801-11810"/);
      assert.match(p?.message ?? '', /planning fields digest to [0-9a-f]{64}; the object authenticates [0-9a-f]{64}/);
      // Tamper the digest where it is bound.
      if (format === 'gcm') {
        const bytes = fs.readFileSync(object);
        bytes[bytes.length - 16 - 20]! ^= 0x01; // inside the trailer's planning digest ciphertext
        fs.writeFileSync(object, bytes);
      } else {
        const sidecar = path.join(storeDir, entry.object.sidecarKey!);
        const doc = JSON.parse(fs.readFileSync(sidecar, 'utf8')) as { planningSha256: string };
        doc.planningSha256 = `${doc.planningSha256.slice(0, -1)}${doc.planningSha256.endsWith('0') ? '1' : '0'}`;
        fs.writeFileSync(sidecar, JSON.stringify(doc));
      }
      const tampered = await verify(store, key);
      assert.equal(tampered.code, 1);
      assert.deepEqual(tampered.json.problems.find((x) => x.binlog === 'mysql-bin.000001')?.code, 'EAUTH');
    });
  }
});
