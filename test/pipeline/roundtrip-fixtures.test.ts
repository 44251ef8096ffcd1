// test-resources: cpu
/** Archive, restore and compare (SHA-256) every real binlog fixture, in both formats. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { runRestore } from '../../src/restore/restore-run.ts';
import { runVerify } from '../../src/restore/verify-run.ts';
import { openStore } from '../../src/store/open-store.ts';
import { FIXTURES, binlogDir, newKeyUrl, newPassphraseUrl, sha256, tempDir } from '../support/archive.ts';

interface Expected { path: string; server_version: string | null; magic: string | null; sha256: string }

const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as Expected[];
const binlogs = expected.filter((e) => !e.path.endsWith('.gz') && (e.server_version !== null || (e.magic ?? '').startsWith('encrypted')));

describe('round trip of every fixture binlog', () => {
  it('has the fixtures it expects', () => {
    assert.ok(binlogs.length >= 40, `only ${binlogs.length} fixtures`);
  });

  for (const format of ['gcm', 'openssl-aes-256-cbc'] as const) {
    it(`archives and restores each fixture byte-identically (${format})`, async () => {
      for (const [i, fixture] of binlogs.entries()) {
        const file = path.join(FIXTURES, fixture.path);
        const { dir, names } = binlogDir([file]);
        const work = tempDir();
        const key = format === 'gcm' ? newKeyUrl(work) : newPassphraseUrl(work);
        const store = openStore(`file://${path.join(work, 'store')}`);
        const source = `fixture-${i}`;
        const archived = await runArchive({ binlogDir: dir, store, keyUrl: key, format, source });
        assert.equal(archived.archived, 1, fixture.path);
        assert.equal(archived.activeBinlog, `fx-bin.000002`);
        const out = path.join(work, 'out');
        const restored = await runRestore({ store, keyUrl: key, out, target: { kind: 'latest' } });
        assert.deepEqual(restored.files.map((f) => f.name), names, fixture.path);
        // The copy is the fixture itself unless the fixture was not closed (then it is closed as by a rotation).
        assert.equal(sha256(path.join(out, names[0]!)), sha256(path.join(dir, names[0]!)), fixture.path);
        assert.ok(fs.existsSync(path.join(out, 'replay.sh')));
        const verified = await runVerify({ store, keyUrl: key });
        assert.deepEqual(verified.problems, [], fixture.path);
        assert.equal(verified.verified, 1);
      }
    });
  }

  it('archives a MySQL-encrypted binlog as it is and records its keyring key id', async () => {
    const file = path.join(FIXTURES, 'encrypted/lightning/binlog.encrypted');
    const { dir } = binlogDir([file]);
    const work = tempDir();
    const key = newKeyUrl(work);
    const store = openStore(`file://${path.join(work, 'store')}`);
    await runArchive({ binlogDir: dir, store, keyUrl: key, source: 'enc' });
    const entry = JSON.parse(fs.readFileSync(path.join(work, 'store/manifest/enc/0000000001-fx-bin.000001.json'), 'utf8')) as {
      binlog: { mysqlEncryptionKeyId: string; sha256: string };
    };
    assert.match(entry.binlog.mysqlEncryptionKeyId, /^MySQLReplicationKey_cfe557b7-766c-11eb-afbf-3cfdfed34198_\d+$/);
    assert.equal(entry.binlog.sha256, sha256(file));
  });
});
