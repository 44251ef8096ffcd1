/**
 * The wrapped-key vectors of docs/FORMAT.md sections 12.3 and 12.4, read from the document itself: unwrapped
 * by the real `local` provider, and recomputed line by line by an independent implementation written here
 * from sections 4.1 and 4.2 with node:crypto only, so the document and the code cannot drift apart.
 */
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { canonicalJson } from '../../src/format/canonical-json.ts';
import { LocalKeyProvider } from '../../src/keys/local-key-provider.ts';

const doc = readFileSync(new URL('../../docs/FORMAT.md', import.meta.url), 'utf8');

/** A `<!-- vector:NAME -->` block of `label  value` lines (two or more spaces between them). */
function vector(name: string): Map<string, string> {
  const match = new RegExp(`<!-- vector:${name} -->\\n\`\`\`\\n([^\`]*)\`\`\``).exec(doc);
  assert.ok(match?.[1] !== undefined, `docs/FORMAT.md has no vector block ${name}`);
  const lines = match[1].trim().split('\n').map((line) => /^(\S+(?: \S+)*) {2,}(\S.*)$/.exec(line));
  return new Map(lines.map((m) => {
    assert.ok(m?.[1] !== undefined && m[2] !== undefined, `malformed line in vector ${name}`);
    return [m[1], m[2]];
  }));
}

function field(v: Map<string, string>, label: string): string {
  const value = v.get(label);
  assert.ok(value !== undefined, `vector lacks ${label}`);
  return value;
}

// --- Independent implementation of docs/FORMAT.md 4.1 and 4.2 (nothing from src/) ---

/** UTF-16 code-unit order, spelled out rather than left to Array.prototype.sort's default. */
function compareUtf16(a: string, b: string): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function contextBytes(c: Record<string, string>): Buffer {
  const pairs = Object.keys(c).sort(compareUtf16).map((name) => `[${JSON.stringify(name)},${JSON.stringify(c[name])}]`);
  return Buffer.from(`[${pairs.join(',')}]`, 'utf8');
}

function localKeyId(kek: Buffer): string {
  return `local:${createHmac('sha256', kek).update('binlog-archiver key fingerprint v1').digest('hex').slice(0, 16)}`;
}

function specWrap(kek: Buffer, nonce: Buffer, c: Record<string, string>, dek: Buffer): Buffer {
  const cipher = createCipheriv('aes-256-gcm', kek, nonce);
  cipher.setAAD(contextBytes(c));
  return Buffer.concat([Buffer.from([0x01]), nonce, cipher.update(dek), cipher.final(), cipher.getAuthTag()]);
}

function specUnwrap(kek: Buffer, w: Buffer, aad: Buffer): Buffer {
  assert.equal(w.length, 61);
  assert.equal(w[0], 0x01);
  const decipher = createDecipheriv('aes-256-gcm', kek, w.subarray(1, 13));
  decipher.setAAD(aad);
  decipher.setAuthTag(w.subarray(45, 61));
  return Buffer.concat([decipher.update(w.subarray(13, 45)), decipher.final()]);
}

// --- The documented vectors ---

const wrap = vector('local-wrap');
const order = vector('context-order');
const KEK = Buffer.from(field(wrap, 'KEK'), 'hex');
const DEK = Buffer.from(field(wrap, 'DEK'), 'hex');
const dir = mkdtempSync(join(tmpdir(), 'wrap-vector-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function keyFile(name: string, content: Buffer | string): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

test('12.3: the local provider unwraps the documented wrapped key, from a hex or a raw key file', async () => {
  const c = JSON.parse(field(wrap, 'C')) as Record<string, string>;
  const w = Buffer.from(field(wrap, 'key.wrapped'), 'base64');
  for (const content of [`${field(wrap, 'KEK')}\n`, `${field(wrap, 'KEK').toUpperCase()}\r\n`, KEK]) {
    const provider = new LocalKeyProvider({ path: keyFile('kek', content) });
    assert.equal(provider.keyId, field(wrap, 'key.id'));
    const dek = await provider.decryptDataKey(w, c, field(wrap, 'key.id'));
    assert.ok(dek.equals(DEK));
  }
});

test('12.3: every documented value recomputed from sections 4.1 and 4.2 with node:crypto only', () => {
  const c = JSON.parse(field(wrap, 'C')) as Record<string, string>;
  const nonce = Buffer.from(field(wrap, 'nonce'), 'hex');
  assert.equal(contextBytes(c).toString('utf8'), field(wrap, 'CB(C)'));
  assert.equal(contextBytes(c).length, 114);
  assert.equal(contextBytes(c).toString('base64'), field(wrap, 'B'));
  assert.equal(localKeyId(KEK), field(wrap, 'key.id'));
  const w = specWrap(KEK, nonce, c, DEK);
  assert.equal(w.toString('hex'), field(wrap, 'W'));
  assert.equal(w.toString('base64'), field(wrap, 'key.wrapped'));
  assert.ok(doc.includes(createHmac('sha256', KEK).update('binlog-archiver key fingerprint v1').digest('hex')), 'the full fingerprint HMAC is documented');
});

test('12.3: the context binds the wrap; a context in the object (not pair) form does not unwrap', async () => {
  const c = JSON.parse(field(wrap, 'C')) as Record<string, string>;
  const w = Buffer.from(field(wrap, 'W'), 'hex');
  const provider = new LocalKeyProvider({ path: keyFile('kek-bind', KEK) });
  // Insertion order does not matter: the provider sorts.
  const reversed = Object.fromEntries(Object.entries(c).reverse());
  assert.ok((await provider.decryptDataKey(w, reversed, provider.keyId)).equals(DEK));
  await assert.rejects(provider.decryptDataKey(w, { ...c, policy: 'hourly' }, provider.keyId), { code: 'EKEY' });
  await assert.rejects(provider.decryptDataKey(w, { ...c, extra: '' }, provider.keyId), { code: 'EKEY' });
  assert.throws(() => specUnwrap(KEK, w, canonicalJson(c)), /authenticate/, 'canonical JSON of the object is not the AAD');
  assert.ok(specUnwrap(KEK, w, contextBytes(c)).equals(DEK));
});

test('4.2: a fresh wrap by the provider has the documented layout and unwraps with the spec code', async () => {
  const provider = new LocalKeyProvider({ path: keyFile('kek-fresh', KEK) });
  const c = { namespace: 'db', policy: 'nightly', source: 'db-1', batch: 'b-2' };
  const made = await provider.generateDataKey(c);
  assert.equal(made.keyId, localKeyId(KEK));
  assert.equal(made.keyVersion, undefined);
  assert.equal(made.wrapped.length, 61);
  assert.equal(made.wrapped[0], 0x01);
  assert.ok(specUnwrap(KEK, made.wrapped, contextBytes(c)).equals(made.plaintext));
  assert.ok(specWrap(KEK, made.wrapped.subarray(1, 13), c, made.plaintext).equals(made.wrapped));
});

test('12.4: non-ASCII context names sort by UTF-8 bytes in the header and by UTF-16 code units in CB(C)', async () => {
  const c = JSON.parse(field(order, 'C')) as Record<string, string>;
  assert.deepEqual(Object.keys(c).sort(), ['a', 'z', 'é', '\u{1F511}', '\uFF21'], 'the vector has names whose two orders differ');
  // Header: the implementation's canonical JSON, and an independent byte-order serialisation.
  const header = field(order, 'header');
  assert.equal(canonicalJson({ encryptionContext: c }).toString('hex'), header);
  const byUtf8 = Object.keys(c).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const members = byUtf8.map((name) => `${JSON.stringify(name)}:${JSON.stringify(c[name])}`).join(',');
  assert.equal(Buffer.from(`{"encryptionContext":{${members}}}`).toString('hex'), header);
  assert.ok(doc.includes(`"encryptionContext":{${members}}`), 'the header order is shown in the table');
  // CB(C), B and the wrap.
  const cb = contextBytes(c);
  assert.equal(cb.toString('hex'), field(order, 'CB(C)'));
  assert.ok(doc.includes(cb.toString('utf8')), 'the CB(C) order is shown in the table');
  assert.equal(cb.toString('base64'), field(order, 'B'));
  const w = specWrap(KEK, Buffer.from(field(order, 'nonce'), 'hex'), c, DEK);
  assert.equal(w.toString('hex'), field(order, 'W'));
  const provider = new LocalKeyProvider({ path: keyFile('kek-order', KEK) });
  assert.ok((await provider.decryptDataKey(w, c, provider.keyId)).equals(DEK));
  // Pairs in the header's (UTF-8) order are another AAD: the wrap does not authenticate under it.
  const utf8Pairs = Buffer.from(JSON.stringify(byUtf8.map((name) => [name, c[name]])));
  assert.notEqual(utf8Pairs.toString('hex'), cb.toString('hex'));
  assert.throws(() => specUnwrap(KEK, w, utf8Pairs), /authenticate/);
});
