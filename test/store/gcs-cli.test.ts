// test-resources: gcpkms-key:shared
/**
 * The real command line on Google Cloud: archive, verify and restore through gs:// (fake-gcs-server) with
 * gcpkms:// keys (the Cloud KMS stand-in), credentials only from the Google auth library's default chain (the
 * child's environment holds no credential and no metadata-server probe); a wrong key name, a disabled key
 * version and a wrapped data key under another context (AAD) are each refused with nothing archived or restored.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { openKeyProvider } from '../../src/keys/open-key-provider.ts';
import { readEntries } from '../../src/store/manifest.ts';
import { openStore } from '../../src/store/open-store.ts';
import { binlogDir, listFiles, sha256, tempDir } from '../support/archive.ts';
import { type CliResult, runCli } from '../support/cli.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';
import { KINGBUS, treeDigest } from '../keys/helpers.ts';
import { assertKeyNotIn } from '../keys/leak-check.ts';
import { gcsNames, gcsStoreUrl, rawGcs } from './gcs-helpers.ts';
import { uniquePrefix } from './helpers.ts';

/** The child's environment: no Google credential of any kind, and no metadata-server probe. */
function googleFreeEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env, METADATA_SERVER_DETECTION: 'none' };
  for (const name of Object.keys(env)) {
    if (/^(GOOGLE_|GCLOUD_|CLOUDSDK_|GCE_)/.test(name)) Reflect.deleteProperty(env, name);
  }
  return env;
}

const cli = (args: string[]): Promise<CliResult> => runCli(args, googleFreeEnv());
const keyUrl = (keyName: string): string => `gcpkms://${keyName}?endpoint=${need('gcpkms').endpoint}`;

describe('binlog-archiver CLI on gs:// with gcpkms:// keys', { skip: skipUnlessIn('gcs') || skipUnlessIn('gcpkms') }, () => {
  let key = '';
  before(() => {
    key = keyUrl(need('gcpkms').keyName);
  });

  it('archive, verify and restore: exit 0, byte-identical, the key version recorded, no data key in the output or the bucket', async () => {
    const prefix = uniquePrefix('cli');
    const store = gcsStoreUrl(prefix);
    const { dir, names } = binlogDir(KINGBUS, 'mysql-bin');
    const before = treeDigest(dir);
    const archive = await cli(['archive', '--binlog-dir', dir, '--store', store, '--key', key, '--source', 'db1', '--json']);
    assert.equal(archive.code, 0, archive.stderr);
    const summary = JSON.parse(archive.stdout) as { ok: boolean; archived: number; batchId: string };
    assert.deepEqual([summary.ok, summary.archived], [true, 3]);
    assert.deepEqual(treeDigest(dir), before);
    const verify = await cli(['verify', '--store', store, '--key', key, '--json']);
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal((JSON.parse(verify.stdout) as { verified: number }).verified, 3);
    const out = path.join(tempDir(), 'out');
    const restore = await cli(['restore', '--store', store, '--key', key, '--out', out, '--json']);
    assert.equal(restore.code, 0, restore.stderr);
    assert.deepEqual(listFiles(out).filter((f) => names.includes(f)).sort(), [...names].sort());
    for (const [i, name] of names.entries()) assert.equal(sha256(path.join(out, name)), sha256(KINGBUS[i]!));

    const entries = await readEntries(openStore(store), 'db1');
    assert.equal(entries.length, 3);
    const first = entries[0]!.key;
    assert.equal(first.provider, 'gcpkms');
    assert.match(first.keyVersion ?? '', /^cryptoKeyVersions\/\d+$/);
    assert.equal(first.keyId, `${need('gcpkms').keyName}/${first.keyVersion}`);
    assert.deepEqual(first.context, { source: 'db1', batch: summary.batchId });
    const unwrapper = openKeyProvider(key);
    const dek = await unwrapper.decryptDataKey(Buffer.from(first.wrappedDek!, 'base64'), first.context, first.keyId);
    unwrapper.close?.();
    assertKeyNotIn(dek, { text: [archive, verify, restore].map((r) => r.stdout + r.stderr).join('\n') });
    const client = rawGcs();
    for (const name of await gcsNames(client, `${prefix}/`)) {
      const [bytes] = await client.bucket(need('gcs').bucket).file(name).download();
      assertKeyNotIn(dek, { text: bytes.toString('latin1') });
    }
  });

  for (const [what, keyName, expected] of [
    ['a key name that does not exist', () => need('gcpkms').keyName.replace(/archive$/, 'no-such-key'), /error EKEY: .*NOT_FOUND/],
    ['a key ring the identity may not use', () => 'projects/someone-else/locations/global/keyRings/r/cryptoKeys/k', /error EKEY: .*PERMISSION_DENIED/],
    ['a key whose primary version is disabled', () => need('gcpkms').disabledKeyName, /error EKEY: .*FAILED_PRECONDITION.*not enabled/],
  ] as const) {
    it(`${what}: exit 1, EKEY, nothing archived, source untouched`, async () => {
      const prefix = uniquePrefix('cli-refused');
      const { dir } = binlogDir(KINGBUS, 'mysql-bin');
      const before = treeDigest(dir);
      const result = await cli(['archive', '--binlog-dir', dir, '--store', gcsStoreUrl(prefix), '--key', keyUrl(keyName()), '--source', 'db1', '--json']);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, expected);
      assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, 'EKEY');
      assert.deepEqual(await gcsNames(rawGcs(), `${prefix}/`), []);
      assert.deepEqual(treeDigest(dir), before);
    });
  }
});
