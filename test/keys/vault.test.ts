// test-resources: cpu:shared
/**
 * The vault key provider against the test environment's OpenBao (dev mode, Transit): what only Vault has
 * (ciphertext versions, rotation and min_decryption_version, token files, least-privilege policies, an unknown
 * mount, a silent Vault). The shared cases, plain and derived keys, run in the KeyProvider contract
 * (providers-contract.test.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { isRetryable } from '../../src/errors.ts';
import { openKeyProvider } from '../../src/keys/open-key-provider.ts';
import { VaultKeyProvider } from '../../src/keys/vault-key-provider.ts';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { openStore } from '../../src/store/open-store.ts';
import { binlogDir, listFiles, tempDir } from '../support/archive.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';
import { KINGBUS, code, silentServer, tokenFileWithPolicy, treeDigest, vaultAdmin, vaultUrl } from './helpers.ts';

describe('vault key provider (OpenBao Transit)', { skip: skipUnlessIn('vault') }, () => {
  let vault: ReturnType<typeof need<'vault'>>;
  const context = { namespace: 'db', policy: 'orders', source: 'mysql-0', batch: 'b-20260101-1' };
  before(() => {
    vault = need('vault');
  });

  it('a tampered wrapped data key, or one recorded under another key or version, fails with EKEY', async () => {
    const provider = openKeyProvider(vaultUrl(vault));
    const dk = await provider.generateDataKey(context);
    const text = dk.wrapped.toString();
    const body = text.slice(text.indexOf(':', 6) + 1);
    const flipped = `${text.slice(0, text.length - body.length)}${body[0] === 'A' ? 'B' : 'A'}${body.slice(1)}`;
    await assert.rejects(provider.decryptDataKey(Buffer.from(flipped), context, dk.keyId), code('EKEY', /decrypt failed: the wrapped data key does not decrypt/));
    await assert.rejects(provider.decryptDataKey(Buffer.from(text.slice(0, 20)), context, dk.keyId), code('EKEY', /decrypt failed/));
    await assert.rejects(provider.decryptDataKey(randomBytes(60), context, dk.keyId), code('EKEY', /malformed or altered \(not a Transit ciphertext\)/));
    await assert.rejects(provider.decryptDataKey(dk.wrapped, context, `${vault.mount}/${vault.transitKey}:v99`), code('EKEY', /its version v\d+ is not the recorded/));
    await assert.rejects(provider.decryptDataKey(dk.wrapped, context, `${vault.mount}/${vault.derivedTransitKey}:v1`),
      code('EKEY', new RegExp(`wrapped by Transit key ${vault.mount}/${vault.derivedTransitKey}:v1, but --key names ${vault.mount}/${vault.transitKey}`)));
  });

  it('rotation: new data keys use the new version, old ones still unwrap; a disabled version fails with EKEY', async () => {
    const admin = vaultAdmin(vault);
    const key = `blarc-rotate-${randomBytes(4).toString('hex')}`;
    await admin('POST', `${vault.mount}/keys/${key}`, { type: 'aes256-gcm96' });
    const provider = openKeyProvider(vaultUrl(vault, { key }));
    const v1 = await provider.generateDataKey(context);
    await admin('POST', `${vault.mount}/keys/${key}/rotate`, {});
    const v2 = await provider.generateDataKey(context);
    assert.deepEqual([v1.keyId, v2.keyId], [`${vault.mount}/${key}:v1`, `${vault.mount}/${key}:v2`]);
    assert.deepEqual([v1.keyVersion, v2.keyVersion], ['1', '2']);
    assert.deepEqual(await provider.decryptDataKey(v1.wrapped, context, v1.keyId), v1.plaintext);
    await admin('POST', `${vault.mount}/keys/${key}/config`, { min_decryption_version: 2 });
    await assert.rejects(provider.decryptDataKey(v1.wrapped, context, v1.keyId), code('EKEY', /key version disabled/, /too old/));
    assert.deepEqual(await provider.decryptDataKey(v2.wrapped, context, v2.keyId), v2.plaintext);
  });

  it('an unknown mount: EKEY (an unknown Transit key is in the contract), not retried, nothing archived, source untouched', async () => {
    const cases: [string, RegExp][] = [
      [vaultUrl(vault).replace(`mount=${vault.mount}`, 'mount=no-such-mount'), /no-such-mount\/datakey\/wrapped failed: no such path in Vault \(HTTP 404\): is the engine mounted there\?/],
    ];
    for (const [url, pattern] of cases) {
      const { dir } = binlogDir(KINGBUS, 'mysql-bin');
      const before = treeDigest(dir);
      const storeDir = path.join(tempDir(), 'store');
      await assert.rejects(runArchive({ binlogDir: dir, store: openStore(`file://${storeDir}`), keyUrl: url, source: 'db1' }),
        (err: unknown) => code('EKEY', pattern)(err) && !isRetryable(err));
      assert.deepEqual(listFiles(storeDir), []);
      assert.deepEqual(treeDigest(dir), before);
    }
  });

  it('a bad token file: EKEY "permission denied"; a missing or empty one: EKEY naming the file', async () => {
    const work = tempDir();
    const bad = path.join(work, 'bad-token');
    fs.writeFileSync(bad, 's.not-a-valid-token\n', { mode: 0o600 });
    await assert.rejects(openKeyProvider(vaultUrl(vault, { tokenFile: bad })).generateDataKey(context),
      (err: unknown) => {
        code('EKEY', /datakey\/wrapped failed: permission denied \(HTTP 403/)(err);
        assert.match((err as { hint: string }).hint, new RegExp(`tokenFile ${bad}\\) is invalid or expired`));
        return true;
      });
    await assert.rejects(openKeyProvider(vaultUrl(vault, { tokenFile: path.join(work, 'absent') })).generateDataKey(context),
      code('EKEY', /cannot read tokenFile .*absent: ENOENT/));
    const empty = path.join(work, 'empty');
    fs.writeFileSync(empty, '\n');
    await assert.rejects(openKeyProvider(vaultUrl(vault, { tokenFile: empty })).generateDataKey(context), code('EKEY', /tokenFile .*empty is empty/));
  });

  it('takes nothing from VAULT_* environment variables: the token comes only from its file', async () => {
    const saved = { ...process.env };
    const bad = path.join(tempDir(), 'bad-token');
    fs.writeFileSync(bad, 'not-a-token\n');
    try {
      process.env.VAULT_TOKEN = fs.readFileSync(vault.tokenFile, 'utf8').trim();
      process.env.VAULT_ADDR = 'http://127.0.0.1:1';
      process.env.VAULT_PREFIX = '/nowhere';
      process.env.VAULT_NAMESPACE = 'nowhere';
      await assert.rejects(openKeyProvider(vaultUrl(vault, { tokenFile: bad })).generateDataKey(context), code('EKEY', /permission denied \(HTTP 403/));
      const dk = await openKeyProvider(vaultUrl(vault)).generateDataKey(context);
      assert.equal(dk.plaintext.length, 32);
    } finally {
      for (const name of ['VAULT_TOKEN', 'VAULT_ADDR', 'VAULT_PREFIX', 'VAULT_NAMESPACE']) {
        if (saved[name] === undefined) Reflect.deleteProperty(process.env, name);
        else process.env[name] = saved[name];
      }
    }
  });

  it('least privilege: a token that may only create data keys fails the archive at once (the unwrap check), a decrypt-only token restores', async () => {
    const suffix = randomBytes(4).toString('hex');
    const { mount, transitKey } = vault;
    const datakeyOnly = await tokenFileWithPolicy(vault, `blarc-datakey-${suffix}`, `path "${mount}/datakey/wrapped/${transitKey}" { capabilities = ["update"] }`);
    const decryptOnly = await tokenFileWithPolicy(vault, `blarc-decrypt-${suffix}`, `path "${mount}/decrypt/${transitKey}" { capabilities = ["update"] }`);
    const both = await tokenFileWithPolicy(vault, `blarc-archive-${suffix}`,
      `path "${mount}/datakey/wrapped/${transitKey}" { capabilities = ["update"] }\npath "${mount}/decrypt/${transitKey}" { capabilities = ["update"] }`);
    await assert.rejects(openKeyProvider(vaultUrl(vault, { tokenFile: datakeyOnly })).generateDataKey(context),
      code('EKEY', /transit\/decrypt \(check of the new data key\) failed: permission denied/));
    const dk = await openKeyProvider(vaultUrl(vault, { tokenFile: both })).generateDataKey(context);
    assert.deepEqual(await openKeyProvider(vaultUrl(vault, { tokenFile: decryptOnly })).decryptDataKey(dk.wrapped, context, dk.keyId), dk.plaintext);
    await assert.rejects(openKeyProvider(vaultUrl(vault, { tokenFile: decryptOnly })).generateDataKey(context), code('EKEY', /datakey\/wrapped failed: permission denied/));
  });

  it('a Vault that accepts connections but never answers fails within the bounded timeout', async () => {
    const silent = await silentServer();
    const provider = new VaultKeyProvider({ key: vault.transitKey, addr: silent.url, mount: vault.mount, auth: { method: 'token', tokenFile: vault.tokenFile },
      timeoutMs: 300, retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 10 } });
    const started = Date.now();
    try {
      await assert.rejects(provider.generateDataKey(context), code('EKEYUNAVAILABLE', /Vault at http:\/\/127\.0\.0\.1:\d+ did not answer within 300 ms \(2 attempts\)/));
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 600 && elapsed < 10_000, `took ${elapsed} ms`); // bounded, with room for a loaded machine
    } finally {
      await silent.close();
    }
  });
});
