/**
 * The CLI with remote key providers: `binlog-archiver archive|verify|restore --key awskms://... | vault://...`
 * against the real KMS and Vault servers, exit codes for an unreachable provider (1, EKEYUNAVAILABLE) and a
 * malformed key URL (2), and no data key in anything the CLI prints.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { openKeyProvider } from '../../src/keys/open-key-provider.ts';
import { binlogDir, listFiles, sha256, tempDir } from '../support/archive.ts';
import { type CliResult, runCli } from '../support/cli.ts';
import { excludedBySubset, need } from '../support/testenv.ts';
import { KINGBUS, closedPort, kmsUrl, treeDigest, useAwsCredentialFiles, vaultUrl } from './helpers.ts';
import { assertKeyNotIn } from './leak-check.ts';

let childEnv: NodeJS.ProcessEnv = process.env;

const cli = (args: string[]): Promise<CliResult> => runCli(args, childEnv);

interface Entry { key: { provider: string; keyId: string; wrappedDek: string; context: Record<string, string> } }

const skip = excludedBySubset('kms') || excludedBySubset('vault') ? `TESTENV_SERVERS=${process.env.TESTENV_SERVERS ?? ''} excludes kms or vault` : false;

describe('binlog-archiver CLI with awskms:// and vault:// keys', { skip }, () => {
  let urls: { awskms: string; vault: string };
  before(() => {
    const kms = need('kms');
    const vault = need('vault');
    childEnv = useAwsCredentialFiles(kms);
    urls = { awskms: kmsUrl(kms), vault: vaultUrl(vault) };
  });

  for (const provider of ['awskms', 'vault'] as const) {
    it(`archive, verify and restore with --key ${provider}://: exit 0, byte-identical, no data key in the output`, async () => {
      const key = urls[provider];
      const { dir, names } = binlogDir(KINGBUS, 'mysql-bin');
      const work = tempDir();
      const storeDir = path.join(work, 'store');
      const store = `file://${storeDir}`;
      const archive = await cli(['archive', '--binlog-dir', dir, '--store', store, '--key', key, '--source', 'db1', '--json']);
      assert.equal(archive.code, 0, archive.stderr);
      const summary = JSON.parse(archive.stdout) as { ok: boolean; archived: number; batchId: string };
      assert.deepEqual([summary.ok, summary.archived], [true, 3]);
      const verify = await cli(['verify', '--store', store, '--key', key, '--json']);
      assert.equal(verify.code, 0, verify.stderr);
      assert.equal((JSON.parse(verify.stdout) as { verified: number }).verified, 3);
      const out = path.join(work, 'out');
      const restore = await cli(['restore', '--store', store, '--key', key, '--out', out, '--json']);
      assert.equal(restore.code, 0, restore.stderr);
      for (const [i, name] of names.entries()) assert.equal(sha256(path.join(out, name)), sha256(KINGBUS[i]!));

      const entryFile = listFiles(path.join(storeDir, 'manifest', 'db1')).find((f) => f.endsWith('.json') && f.includes(names[0]!));
      assert.ok(entryFile !== undefined, 'a manifest entry for the first binlog');
      const entry = JSON.parse(fs.readFileSync(path.join(storeDir, 'manifest', 'db1', entryFile), 'utf8')) as Entry;
      assert.equal(entry.key.provider, provider);
      assert.deepEqual(entry.key.context, { source: 'db1', batch: summary.batchId });
      const unwrapper = openKeyProvider(key);
      const dek = await unwrapper.decryptDataKey(Buffer.from(entry.key.wrappedDek, 'base64'), entry.key.context, entry.key.keyId);
      unwrapper.close?.();
      assertKeyNotIn(dek, { text: [archive, verify, restore].map((r) => r.stdout + r.stderr).join('\n'), dirs: [storeDir] });
    });

    it(`an unreachable ${provider} provider: exit 1, EKEYUNAVAILABLE, nothing archived, source untouched`, async () => {
      const port = await closedPort();
      const dead = `http://127.0.0.1:${port}`;
      const key = provider === 'awskms' ? kmsUrl(need('kms'), need('kms').keyAlias, dead) : vaultUrl(need('vault'), { addr: dead });
      const { dir } = binlogDir(KINGBUS, 'mysql-bin');
      const before = treeDigest(dir);
      const storeDir = path.join(tempDir(), 'store');
      const result = await cli(['archive', '--binlog-dir', dir, '--store', `file://${storeDir}`, '--key', key, '--source', 'db1', '--json']);
      assert.equal(result.code, 1, result.stderr);
      const what = provider === 'awskms' ? 'GenerateDataKey failed: KMS' : 'transit/datakey/wrapped failed: Vault';
      assert.match(result.stderr, new RegExp(`error EKEYUNAVAILABLE: ${provider} key .*: ${what} at ${dead.replace(/\./g, '\\.')} is unreachable \\(ECONNREFUSED\\) \\(3 attempts\\)`));
      assert.equal((JSON.parse(result.stdout) as { ok: boolean; error: { code: string } }).error.code, 'EKEYUNAVAILABLE');
      assert.deepEqual(listFiles(storeDir), []);
      assert.deepEqual(treeDigest(dir), before);
    });
  }

  it('a key URL without region, or with a token in it, is a usage error (exit 2); a bad Vault token file is EKEY (exit 1)', async () => {
    const { dir } = binlogDir(KINGBUS.slice(0, 1));
    const store = `file://${path.join(tempDir(), 'store')}`;
    const noRegion = await cli(['archive', '--binlog-dir', dir, '--store', store, '--key', 'awskms://alias/x']);
    assert.equal(noRegion.code, 2);
    assert.match(noRegion.stderr, /error EUSAGE: --key awskms:\/\/alias\/x: missing region=/);
    const token = await cli(['archive', '--binlog-dir', dir, '--store', store, '--key', 'vault://k?addr=https://v&token=s.secret']);
    assert.equal(token.code, 2);
    assert.match(token.stderr, /parameter token= is not accepted/);
    const badFile = path.join(tempDir(), 'token');
    fs.writeFileSync(badFile, 'not-a-token\n');
    const bad = await cli(['archive', '--binlog-dir', dir, '--store', store, '--key', vaultUrl(need('vault'), { tokenFile: badFile }), '--source', 'db1']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /error EKEY: vault key transit\/binlog-archiver: transit\/datakey\/wrapped failed: permission denied \(HTTP 403: permission denied\)/);
  });
});
