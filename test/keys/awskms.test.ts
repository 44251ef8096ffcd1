/**
 * The awskms key provider against the test environment's KMS server (moto in server mode), with credentials
 * from the SDK's default chain (a shared credentials file): context binding, tampering, unknown keys, an
 * unreachable or silent KMS, and an archive + restore round trip through the pipeline.
 */
import { CreateKeyCommand, DecryptCommand } from '@aws-sdk/client-kms';
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isRetryable } from '../../src/errors.ts';
import { AwsKmsKeyProvider } from '../../src/keys/aws-kms-key-provider.ts';
import type { DataKey, KeyProvider } from '../../src/keys/key-provider.ts';
import { openKeyProvider } from '../../src/keys/open-key-provider.ts';
import { createLogger } from '../../src/logger.ts';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { runRestore } from '../../src/restore/restore-run.ts';
import { readEntries } from '../../src/store/manifest.ts';
import { openStore } from '../../src/store/open-store.ts';
import { binlogDir, listFiles, sha256, tempDir } from '../support/archive.ts';
import { kmsClient } from '../support/clients.ts';
import { need, skipUnlessIn } from '../support/testenv.ts';
import { KINGBUS, closedPort, code, kmsUrl, silentServer, treeDigest, useAwsCredentialFiles } from './helpers.ts';
import { assertKeyNotIn } from './leak-check.ts';

describe('awskms key provider (moto KMS server)', { skip: skipUnlessIn('kms') }, () => {
  let kms: ReturnType<typeof need<'kms'>>;
  let client: ReturnType<typeof kmsClient>;
  let keyArn: string;
  const context = { namespace: 'db', policy: 'orders', source: 'mysql-0', batch: 'b-20260101-1' };

  before(() => {
    kms = need('kms');
    useAwsCredentialFiles(kms);
    client = kmsClient(kms);
    keyArn = `arn:aws:kms:${kms.region}:123456789012:key/${kms.keyId}`;
  });
  after(() => client?.destroy());

  it('GenerateDataKey gives a 32-byte key, wrapped under the key ARN, that only the same EncryptionContext unwraps at KMS', async () => {
    const provider = openKeyProvider(kmsUrl(kms));
    try {
      assert.equal(provider.kind, 'awskms');
      assert.equal(provider.keyId, kms.keyAlias);
      const dk = await provider.generateDataKey(context);
      assert.equal(dk.plaintext.length, 32);
      assert.notDeepEqual(dk.plaintext, Buffer.alloc(32));
      assert.equal(dk.keyId, keyArn);
      assert.deepEqual(await provider.decryptDataKey(dk.wrapped, context, dk.keyId), dk.plaintext);
      // Independently of our code: KMS itself holds the context binding.
      const direct = await client.send(new DecryptCommand({ CiphertextBlob: dk.wrapped, EncryptionContext: context }));
      assert.deepEqual(Buffer.from(direct.Plaintext!), dk.plaintext);
      await assert.rejects(client.send(new DecryptCommand({ CiphertextBlob: dk.wrapped })), { name: 'InvalidCiphertextException' });
    } finally {
      provider.close?.();
    }
  });

  it('Decrypt under a changed EncryptionContext fails with EKEY naming provider, key, operation and cause', async () => {
    const provider = openKeyProvider(kmsUrl(kms));
    try {
      const dk = await provider.generateDataKey(context);
      const { namespace: _n, ...withoutNamespace } = context;
      for (const changed of [{ ...context, batch: 'b-20260101-2' }, { ...context, extra: 'x' }, withoutNamespace, {}]) {
        await assert.rejects(provider.decryptDataKey(dk.wrapped, changed, dk.keyId),
          code('EKEY', new RegExp(`^awskms key ${keyArn.replace(/[/]/g, '\\/')}: Decrypt failed: the wrapped data key does not decrypt under this encryption context`), /InvalidCiphertextException/));
      }
    } finally {
      provider.close?.();
    }
  });

  it('a tampered or truncated wrapped data key, or one presented as another key\'s, fails with EKEY', async () => {
    const provider = openKeyProvider(kmsUrl(kms));
    try {
      const dk = await provider.generateDataKey(context);
      for (const at of [dk.wrapped.length - 5, 40, 3]) {
        const tampered = Buffer.from(dk.wrapped);
        tampered[at]! ^= 0x01;
        await assert.rejects(provider.decryptDataKey(tampered, context, dk.keyId), code('EKEY', /Decrypt failed/));
      }
      await assert.rejects(provider.decryptDataKey(dk.wrapped.subarray(0, 40), context, dk.keyId), code('EKEY', /Decrypt failed/));
      const other = await client.send(new CreateKeyCommand({ Description: 'binlog-archiver test: another key' }));
      await assert.rejects(provider.decryptDataKey(dk.wrapped, context, other.KeyMetadata!.Arn!), code('EKEY', /Decrypt failed: access denied \(AccessDeniedException/));
      await assert.rejects(provider.decryptDataKey(dk.wrapped, context, 'not a key'), code('EKEY', /names key "not a key", which is no KMS key id/));
    } finally {
      provider.close?.();
    }
  });

  it('an unknown alias or key id: EKEY "key not found", not retried, nothing archived, source untouched', async () => {
    for (const key of ['alias/binlog-archiver-no-such-alias', '11111111-2222-3333-4444-555555555555']) {
      const { dir } = binlogDir(KINGBUS, 'mysql-bin');
      const before = treeDigest(dir);
      const storeDir = path.join(tempDir(), 'store');
      const started = Date.now();
      await assert.rejects(runArchive({ binlogDir: dir, store: openStore(`file://${storeDir}`), keyUrl: kmsUrl(kms, key), source: 'db1' }),
        (err: unknown) => code('EKEY', new RegExp(`^awskms key ${key.replace(/[/]/g, '\\/')}: GenerateDataKey failed: key not found \\(NotFoundException`))(err) && !isRetryable(err));
      assert.ok(Date.now() - started < 2000, 'a refusal is not retried');
      assert.deepEqual(listFiles(storeDir), []);
      assert.deepEqual(treeDigest(dir), before);
    }
  });

  it('an unreachable KMS: EKEYUNAVAILABLE (retryable) after 3 attempts, nothing archived, source untouched', async () => {
    const port = await closedPort();
    const { dir } = binlogDir(KINGBUS, 'mysql-bin');
    const before = treeDigest(dir);
    const storeDir = path.join(tempDir(), 'store');
    await assert.rejects(runArchive({ binlogDir: dir, store: openStore(`file://${storeDir}`), keyUrl: kmsUrl(kms, kms.keyAlias, `http://127.0.0.1:${port}`), source: 'db1' }),
      (err: unknown) => {
        code('EKEYUNAVAILABLE', new RegExp(`GenerateDataKey failed: KMS at http://127\\.0\\.0\\.1:${port} is unreachable \\(ECONNREFUSED\\) \\(3 attempts\\)`))(err);
        assert.ok(isRetryable(err));
        return true;
      });
    assert.deepEqual(listFiles(storeDir), []);
    assert.deepEqual(treeDigest(dir), before);
  });

  it('a KMS that accepts connections but never answers fails within the bounded timeout', async () => {
    const silent = await silentServer();
    const provider = new AwsKmsKeyProvider({ keyId: kms.keyAlias, region: kms.region, endpoint: silent.url, connectTimeoutMs: 200, requestTimeoutMs: 300,
      retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 10 } });
    const started = Date.now();
    try {
      await assert.rejects(provider.generateDataKey(context), code('EKEYUNAVAILABLE', /GenerateDataKey failed: KMS at http:\/\/127\.0\.0\.1:\d+ did not answer within 500 ms/, /\(2 attempts\)/));
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 550 && elapsed < 3000, `took ${elapsed} ms`);
    } finally {
      provider.close();
      await silent.close();
    }
  });

  it('archive + restore round trip through the pipeline: byte-identical, context recorded, DEK zeroed and never stored or logged', async () => {
    const url = kmsUrl(kms);
    const { dir, names } = binlogDir(KINGBUS, 'mysql-bin');
    const before = treeDigest(dir);
    const work = tempDir();
    const storeDir = path.join(work, 'store');
    const store = openStore(`file://${storeDir}`);
    const logs: string[] = [];
    const logger = createLogger({ write: (line) => logs.push(line), level: 'debug' });
    // A provider that remembers the data key it handed out, to check the pipeline zeroed it.
    const inner = openKeyProvider(url);
    const handedOut: DataKey[] = [];
    const spy: KeyProvider = {
      kind: inner.kind, keyId: inner.keyId,
      generateDataKey: async (ctx) => {
        const dk = await inner.generateDataKey(ctx);
        handedOut.push(dk);
        return dk;
      },
      decryptDataKey: (w, ctx, id) => inner.decryptDataKey(w, ctx, id),
    };
    try {
      const summary = await runArchive({ binlogDir: dir, store, keyUrl: url, keyProvider: spy, source: 'db1', context: { namespace: 'db', policy: 'orders' }, logger });
      assert.equal(summary.archived, 3);
      assert.equal(handedOut.length, 1, 'one data key per batch');
      assert.deepEqual(handedOut[0]!.plaintext, Buffer.alloc(32), 'the data key is zeroed when the run ends');
      assert.deepEqual(treeDigest(dir), before);

      const entries = await readEntries(store, 'db1');
      assert.equal(entries.length, 3);
      for (const entry of entries) {
        assert.equal(entry.key.provider, 'awskms');
        assert.equal(entry.key.keyId, keyArn);
        assert.deepEqual(entry.key.context, { namespace: 'db', policy: 'orders', source: 'db1', batch: summary.batchId });
      }
      const wrapped = Buffer.from(entries[0]!.key.wrappedDek!, 'base64');
      const direct = await client.send(new DecryptCommand({ CiphertextBlob: wrapped, EncryptionContext: entries[0]!.key.context }));
      const dek = Buffer.from(direct.Plaintext!);
      assert.equal(dek.length, 32);
      assertKeyNotIn(dek, { dirs: [storeDir, dir], text: logs.join('') });

      const out = path.join(work, 'out');
      const restored = await runRestore({ store, keyUrl: url, out, target: { kind: 'latest' } });
      assert.deepEqual(restored.files.map((f) => [f.name, f.status]), names.map((n) => [n, 'restored']));
      for (const [i, name] of names.entries()) assert.equal(sha256(path.join(out, name)), sha256(KINGBUS[i]!));
      assertKeyNotIn(dek, { dirs: [out] });
    } finally {
      inner.close?.();
    }
  });
});
