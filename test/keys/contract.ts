/**
 * The KeyProvider contract, run against every provider (local file, AWS KMS, Vault Transit, Cloud KMS): what the
 * pipeline relies on, whatever holds the master key. Provider-specific behaviour (token files, rotation
 * mechanics, integrity fields, direct checks at the server) stays in each provider's own test file.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isRetryable } from '../../src/errors.ts';
import type { DataKey, KeyProvider } from '../../src/keys/key-provider.ts';
import { createLogger } from '../../src/logger.ts';
import { runArchive } from '../../src/pipeline/archive-run.ts';
import { runRestore } from '../../src/restore/restore-run.ts';
import { readEntries } from '../../src/store/manifest.ts';
import { openStore } from '../../src/store/open-store.ts';
import { binlogDir, listFiles, sha256, tempDir } from '../support/archive.ts';
import { KINGBUS, code, treeDigest } from './helpers.ts';
import { assertKeyNotIn } from './leak-check.ts';

export interface KeyContractTarget {
  /** The `--key` URL of the provider under test. */
  url: string;
  /** Opens the provider under test (the same key as `url`). */
  open(): KeyProvider;
  /** The `kind` recorded in headers and manifests. */
  kind: string;
  /** A key id that names another key than the provider's: a data key presented as that key's is refused. */
  otherKeyId: string;
  /** A provider whose key does not exist (missing key file, unknown alias, Transit key or CryptoKey). */
  missingKey(): KeyProvider;
  /** What the refusal of a changed context says, beyond its code (the provider's own words). */
  contextMismatch?: RegExp;
  /** What the refusal of a missing key says. */
  missingKeyMessage?: RegExp;
  /** What the failure at an unreachable endpoint says (endpoint, attempts). */
  unreachableMessage?: RegExp;
  /** The provider's key at an endpoint nobody listens on, with a short retry policy; absent for local keys. */
  unreachable?(): KeyProvider;
  /** How the provider records the master key version (keyVersion, also inside keyId); absent when it has none. */
  keyVersion?: RegExp;
}

const context = { namespace: 'db', policy: 'orders', source: 'mysql-0', batch: 'b-20260101-1' };

/** A provider that remembers the data keys it handed out, so a test can see the pipeline zeroed them. */
function spying(inner: KeyProvider): { provider: KeyProvider; handedOut: DataKey[] } {
  const handedOut: DataKey[] = [];
  const provider: KeyProvider = {
    kind: inner.kind,
    keyId: inner.keyId,
    generateDataKey: async (ctx) => {
      const dk = await inner.generateDataKey(ctx);
      handedOut.push(dk);
      return dk;
    },
    decryptDataKey: (w, ctx, id) => inner.decryptDataKey(w, ctx, id),
  };
  return { provider, handedOut };
}

async function using<T>(provider: KeyProvider, body: (p: KeyProvider) => Promise<T>): Promise<T> {
  try {
    return await body(provider);
  } finally {
    provider.close?.();
  }
}

/** `remote`: the provider talks to a server (the unreachable-endpoint case applies). */
export function keyProviderContract(name: string, features: { remote: boolean }, setup: () => KeyContractTarget): void {
  describe(`KeyProvider contract: ${name}`, () => {
    it('wraps a fresh 32-byte data key per call, which only the same context unwraps', () => using(setup().open(), async (provider) => {
      const t = setup();
      assert.equal(provider.kind, t.kind);
      const a = await provider.generateDataKey(context);
      const b = await provider.generateDataKey(context);
      assert.equal(a.plaintext.length, 32);
      assert.notDeepEqual(a.plaintext, Buffer.alloc(32));
      assert.notDeepEqual(a.plaintext, b.plaintext, 'a fresh data key per call');
      assert.equal(a.wrapped.indexOf(a.plaintext), -1, 'the wrapped key does not hold the plaintext');
      assert.deepEqual(await provider.decryptDataKey(a.wrapped, context, a.keyId), a.plaintext);
      assert.deepEqual(await provider.decryptDataKey(b.wrapped, { ...context }, b.keyId), b.plaintext);
    }));

    it('refuses a changed context (the AAD) with EKEY, not retryable', () => using(setup().open(), async (provider) => {
      const t = setup();
      const dk = await provider.generateDataKey(context);
      const { namespace: _n, ...withoutNamespace } = context;
      for (const changed of [{ ...context, batch: 'b-20260101-2' }, { ...context, source: 'mysql-1' }, { ...context, extra: 'x' }, withoutNamespace, {}]) {
        await assert.rejects(provider.decryptDataKey(dk.wrapped, changed, dk.keyId),
          (err: unknown) => code('EKEY', ...(t.contextMismatch === undefined ? [] : [t.contextMismatch]))(err) && !isRetryable(err));
      }
    }));

    it('refuses a data key presented as another key\'s, and a key that does not exist, with EKEY, not retryable', async () => {
      const t = setup();
      await using(t.open(), async (provider) => {
        const dk = await provider.generateDataKey(context);
        await assert.rejects(provider.decryptDataKey(dk.wrapped, context, t.otherKeyId), (err: unknown) => code('EKEY')(err) && !isRetryable(err));
      });
      await assert.rejects(async () => using(t.missingKey(), (p) => p.generateDataKey(context)),
        (err: unknown) => code('EKEY', ...(t.missingKeyMessage === undefined ? [] : [t.missingKeyMessage]))(err) && !isRetryable(err));
    });

    it('an unreachable endpoint is EKEYUNAVAILABLE (retryable), for wrap and unwrap alike', { skip: !features.remote && 'the provider has no endpoint' }, async () => {
      const t = setup();
      const wrapped = await using(t.open(), (p) => p.generateDataKey(context));
      await using(t.unreachable!(), async (dead) => {
        for (const call of [() => dead.generateDataKey(context), () => dead.decryptDataKey(wrapped.wrapped, context, wrapped.keyId)]) {
          await assert.rejects(call(), (err: unknown) => code('EKEYUNAVAILABLE', ...(t.unreachableMessage === undefined ? [] : [t.unreachableMessage]))(err) && isRetryable(err));
        }
      });
    });

    it('an unreachable or missing key archives nothing and leaves the source untouched', async () => {
      const t = setup();
      const cases: [string, () => KeyProvider][] = [['EKEY', () => t.missingKey()]];
      if (t.unreachable !== undefined) cases.push(['EKEYUNAVAILABLE', () => t.unreachable!()]);
      for (const [expected, open] of cases) {
        const { dir } = binlogDir(KINGBUS, 'mysql-bin');
        const before = treeDigest(dir);
        const storeDir = path.join(tempDir(), 'store');
        let provider: KeyProvider | undefined;
        await assert.rejects(async () => {
          provider = open();
          await runArchive({ binlogDir: dir, store: openStore(`file://${storeDir}`), keyUrl: t.url, keyProvider: provider, source: 'db1' });
        }, code(expected));
        provider?.close?.();
        assert.deepEqual(listFiles(storeDir), []);
        assert.deepEqual(treeDigest(dir), before);
      }
    });

    it('records the key version that wrapped each data key, where the provider versions keys', () => using(setup().open(), async (provider) => {
      const t = setup();
      const dk = await provider.generateDataKey(context);
      if (t.keyVersion === undefined) {
        assert.equal(dk.keyVersion, undefined);
      } else {
        assert.match(dk.keyVersion ?? '', t.keyVersion);
        assert.ok(dk.keyId.includes(dk.keyVersion!), `${dk.keyId} names version ${dk.keyVersion}`);
      }
    }));

    it('archive + restore through the pipeline: byte-identical, key recorded, data key zeroed and never stored or logged', async () => {
      const t = setup();
      const { dir, names } = binlogDir(KINGBUS, 'mysql-bin');
      const before = treeDigest(dir);
      const work = tempDir();
      const storeDir = path.join(work, 'store');
      const store = openStore(`file://${storeDir}`);
      const logs: string[] = [];
      const inner = t.open();
      const { provider, handedOut } = spying(inner);
      try {
        const summary = await runArchive({ binlogDir: dir, store, keyUrl: t.url, keyProvider: provider, source: 'db1', context: { namespace: 'db', policy: 'orders' },
          logger: createLogger({ write: (line) => logs.push(line), level: 'debug' }) });
        assert.equal(summary.archived, 3);
        assert.equal(handedOut.length, 1, 'one data key per batch');
        const dk = handedOut[0]!;
        assert.deepEqual(dk.plaintext, Buffer.alloc(32), 'the data key is zeroed when the run ends');
        assert.deepEqual(treeDigest(dir), before);
        const entries = await readEntries(store, 'db1');
        assert.equal(entries.length, 3);
        for (const entry of entries) {
          assert.equal(entry.key.provider, t.kind);
          assert.equal(entry.key.keyId, dk.keyId);
          assert.equal(entry.key.keyVersion ?? undefined, dk.keyVersion);
          assert.deepEqual(entry.key.context, { namespace: 'db', policy: 'orders', source: 'db1', batch: summary.batchId });
        }
        const dek = await inner.decryptDataKey(Buffer.from(entries[0]!.key.wrappedDek!, 'base64'), entries[0]!.key.context, entries[0]!.key.keyId);
        assertKeyNotIn(dek, { dirs: [storeDir, dir], text: logs.join('') });
        const out = path.join(work, 'out');
        const restored = await runRestore({ store, keyUrl: t.url, out, target: { kind: 'latest' } });
        assert.deepEqual(restored.files.map((f) => [f.name, f.status]), names.map((n) => [n, 'restored']));
        for (const [i, file] of names.entries()) assert.equal(sha256(path.join(out, file)), sha256(KINGBUS[i]!));
        assertKeyNotIn(dek, { dirs: [out] });
      } finally {
        inner.close?.();
      }
    });
  });
}
