/** Key-material handling shared by the remote providers: copy-and-zero, bounded retry, and the leak check itself. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ArchiverError } from '../../src/errors.ts';
import { dataKeyFromBase64, takeDataKey } from '../../src/keys/key-bytes.ts';
import { withRetry } from '../../src/keys/retry.ts';
import { tempDir } from '../support/archive.ts';
import { code } from './helpers.ts';
import { assertKeyNotIn } from './leak-check.ts';

const op = { provider: 'awskms', key: 'alias/x', operation: 'GenerateDataKey' } as const;

describe('data key bytes from provider answers', () => {
  it('takeDataKey copies into an unpooled buffer and zeroes the SDK\'s bytes', () => {
    const answer = new Uint8Array(randomBytes(32));
    const expected = Buffer.from(answer);
    const key = takeDataKey(answer, op);
    assert.deepEqual(key, expected);
    assert.deepEqual(Buffer.from(answer), Buffer.alloc(32), 'the response bytes are zeroed');
    assert.equal(key.byteOffset, 0);
    assert.equal(key.buffer.byteLength, 32, 'not a slice of the shared pool');
  });

  it('takeDataKey refuses a key of the wrong length, zeroing it anyway', () => {
    const short = new Uint8Array(randomBytes(16));
    assert.throws(() => takeDataKey(short, op), code('EKEY', /^awskms key alias\/x: GenerateDataKey failed: the answer held 16 plaintext key bytes, not 32$/));
    assert.deepEqual(Buffer.from(short), Buffer.alloc(16));
    assert.throws(() => takeDataKey(undefined, op), code('EKEY', /held 0 plaintext key bytes/));
  });

  it('dataKeyFromBase64 accepts exactly 32 bytes of base64', () => {
    const raw = randomBytes(32);
    const key = dataKeyFromBase64(raw.toString('base64'), op);
    assert.deepEqual(key, raw);
    assert.equal(key.buffer.byteLength, 32);
    for (const bad of [randomBytes(31).toString('base64'), randomBytes(33).toString('base64'), undefined, 42, `${raw.toString('base64').slice(0, 43)}!`]) {
      assert.throws(() => dataKeyFromBase64(bad, op), code('EKEY', /no 32-byte plaintext key/));
    }
  });
});

describe('withRetry', () => {
  it('retries only retryable errors, up to the bound, and says how many attempts were made', async () => {
    let calls = 0;
    await assert.rejects(withRetry({ attempts: 3, baseDelayMs: 1, maxDelayMs: 2 }, () => {
      calls += 1;
      return Promise.reject(new ArchiverError('EKEYUNAVAILABLE', 'down'));
    }), (err: unknown) => code('EKEYUNAVAILABLE', /^down \(3 attempts\)$/)(err) && (err as ArchiverError).context.attempts === 3);
    assert.equal(calls, 3);
    calls = 0;
    await assert.rejects(withRetry({ attempts: 3, baseDelayMs: 1, maxDelayMs: 2 }, () => {
      calls += 1;
      return Promise.reject(new ArchiverError('EKEY', 'denied'));
    }), code('EKEY', /^denied$/));
    assert.equal(calls, 1);
    calls = 0;
    const value = await withRetry({ attempts: 3, baseDelayMs: 1, maxDelayMs: 2 }, (attempt) => {
      calls += 1;
      return attempt < 2 ? Promise.reject(new ArchiverError('EKEYUNAVAILABLE', 'blip')) : Promise.resolve('ok');
    });
    assert.deepEqual([value, calls], ['ok', 2]);
  });
});

describe('the leak check', () => {
  it('finds a key written raw, as hex or as base64', () => {
    const key = randomBytes(32);
    for (const form of [key, Buffer.from(key.toString('hex')), Buffer.from(`{"k":"${key.toString('base64')}"}`)]) {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, 'f'), Buffer.concat([randomBytes(10), form, randomBytes(10)]));
      assert.throws(() => assertKeyNotIn(key, { dirs: [dir] }), /the data key is in/);
    }
    assert.throws(() => assertKeyNotIn(key, { text: `x ${key.toString('hex')} y` }), /the data key is in the log/);
    assert.doesNotThrow(() => assertKeyNotIn(key, { text: 'nothing here' }));
  });
});
