/**
 * `verify` proves the manifest's planning fields from the archived bytes: an edited entry fails naming each field
 * (the command line exits 1), and an object that no entry names fails verify too (issue 9, items 3 and 6).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { KINGBUS, binlogDir, listFiles, newKeyUrl, newPassphraseUrl, tempDir } from '../support/archive.ts';
import { runCli } from '../support/cli.ts';

interface Problem { code: string; binlog: string | null; message: string }
interface VerifyJson { ok: boolean; verified: number; problems: Problem[]; orphans: string[] }

async function archived(format = 'gcm') {
  // The first two kingbus binlogs: the third still has the in-use flag of a file the server had open.
  const { dir, names } = binlogDir(KINGBUS.slice(0, 2), 'mysql-bin');
  const work = tempDir();
  const key = format === 'gcm' ? newKeyUrl(work) : newPassphraseUrl(work);
  const storeDir = path.join(work, 'store');
  const store = `file://${storeDir}`;
  const archive = await runCli(['archive', '--binlog-dir', dir, '--store', store, '--key', key, '--source', 'db1', '--format', format, '--json']);
  assert.equal(archive.code, 0, archive.stderr);
  const entries = listFiles(path.join(storeDir, 'manifest/db1')).map((f) => path.join(storeDir, 'manifest/db1', f));
  return { names, key, store, storeDir, entries };
}

async function verify(store: string, key: string, extra: string[] = []): Promise<{ code: number; json: VerifyJson; stdout: string }> {
  const r = await runCli(['verify', '--store', store, '--key', key, '--json', ...extra]);
  return { code: r.code, json: JSON.parse(r.stdout) as VerifyJson, stdout: r.stdout };
}

function edit(file: string, change: (binlog: Record<string, unknown>, source: Record<string, unknown>) => void): void {
  const entry = JSON.parse(fs.readFileSync(file, 'utf8')) as { binlog: Record<string, unknown>; source: Record<string, unknown> };
  change(entry.binlog, entry.source);
  fs.writeFileSync(file, `${JSON.stringify(entry, null, 2)}\n`);
}

describe('verify re-derives the planning fields from the decoded binlog', () => {
  for (const format of ['gcm', 'openssl-aes-256-cbc']) {
    it(`an edited lastEventTime, gtidsAdded, previousGtids and endPosition fail verify, each field named (${format})`, async () => {
      const a = await archived(format);
      const before = await verify(a.store, a.key);
      assert.equal(before.code, 0, before.stdout);
      assert.equal(before.json.verified, 2);
      const original = JSON.parse(fs.readFileSync(a.entries[1]!, 'utf8')) as { binlog: Record<string, unknown> };
      edit(a.entries[1]!, (b) => {
        b.lastEventTime = '2018-08-01T00:00:00.000Z';
        b.gtidsAdded = '214eb71f-96ec-11e8-ab4f-fa163e72d4ae:11801-11900';
        b.previousGtids = '214eb71f-96ec-11e8-ab4f-fa163e72d4ae:1-11801';
        b.endPosition = (b.endPosition as number) - 10;
      });
      edit(a.entries[0]!, (_b, s) => {
        s.version = '8.0.99';
      });
      const after = await verify(a.store, a.key);
      assert.equal(after.code, 1);
      assert.equal(after.json.ok, false);
      assert.equal(after.json.verified, 0);
      // The edited previousGtids also breaks the chain (EGAP): the point here is the EVERIFY per entry.
      const byBinlog = new Map(after.json.problems.filter((p) => p.code === 'EVERIFY').map((p) => [p.binlog, p]));
      const p2 = byBinlog.get(a.names[1]!);
      assert.equal(p2?.code, 'EVERIFY');
      for (const field of ['lastEventTime', 'gtidsAdded', 'previousGtids', 'endPosition']) {
        assert.ok(p2.message.includes(`binlog.${field}: manifest `), `${field} not named: ${p2.message}`);
        assert.ok(p2.message.includes(`binlog bytes ${JSON.stringify(original.binlog[field])}`), `${field}: true value not shown: ${p2.message}`);
      }
      assert.match(byBinlog.get(a.names[0]!)?.message ?? '', /source\.version: manifest "8\.0\.99", binlog bytes "5\.7\.23-log"/);
      assert.equal(byBinlog.size, 2, JSON.stringify(after.json.problems));
    });
  }

  it('an object no manifest entry names makes verify fail, with or without --source', async () => {
    const a = await archived();
    const orphan = path.join(a.storeDir, 'binlogs/db1', fs.readdirSync(path.join(a.storeDir, 'binlogs/db1'))[0]!.replace(/^0+1-/, '0000000009-'));
    fs.copyFileSync(path.join(a.storeDir, 'binlogs/db1', fs.readdirSync(path.join(a.storeDir, 'binlogs/db1'))[0]!), orphan);
    for (const extra of [[], ['--source', 'db1']]) {
      const r = await verify(a.store, a.key, extra);
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.json.ok, false);
      assert.equal(r.json.verified, 2);
      assert.deepEqual(r.json.orphans, [path.relative(a.storeDir, orphan)]);
    }
    const text = await runCli(['verify', '--store', a.store, '--key', a.key]);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /objects without a manifest entry: binlogs\/db1\/0000000009-/);
  });
});
