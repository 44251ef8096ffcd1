import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import vault from 'node-vault';
import { need, readSecret, skipUnlessIn } from '../support/testenv.ts';

interface DataKey { data: { plaintext: string; ciphertext: string } }
interface Decrypted { data: { plaintext: string } }

describe('Vault API (OpenBao dev mode, Transit)', { skip: skipUnlessIn('vault') }, () => {
  let client: ReturnType<typeof vault>;
  let endpoints: ReturnType<typeof need<'vault'>>;
  before(() => {
    endpoints = need('vault');
    client = vault({ apiVersion: 'v1', endpoint: endpoints.addr, token: readSecret(endpoints.tokenFile) });
  });

  it('Transit datakey gives a 256-bit key that decrypt unwraps', async () => {
    const key = (await client.write(`${endpoints.mount}/datakey/plaintext/${endpoints.transitKey}`, { bits: 256 })) as DataKey;
    assert.equal(Buffer.from(key.data.plaintext, 'base64').length, 32);
    assert.match(key.data.ciphertext, /^vault:v1:/);
    const out = (await client.write(`${endpoints.mount}/decrypt/${endpoints.transitKey}`, { ciphertext: key.data.ciphertext })) as Decrypted;
    assert.equal(out.data.plaintext, key.data.plaintext);
  });

  it('a derived key decrypts only with the same context', async () => {
    const context = Buffer.from('db/orders/mysql-0/b-1').toString('base64');
    const other = Buffer.from('db/orders/mysql-0/b-2').toString('base64');
    const path = `${endpoints.mount}/datakey/wrapped/${endpoints.derivedTransitKey}`;
    const key = (await client.write(path, { context })) as DataKey;
    assert.equal(key.data.plaintext, undefined);
    const ok = (await client.write(`${endpoints.mount}/decrypt/${endpoints.derivedTransitKey}`, { ciphertext: key.data.ciphertext, context })) as Decrypted;
    assert.equal(Buffer.from(ok.data.plaintext, 'base64').length, 32);
    await assert.rejects(client.write(`${endpoints.mount}/decrypt/${endpoints.derivedTransitKey}`, { ciphertext: key.data.ciphertext, context: other }),
      (err: Error & { response?: { statusCode: number } }) => {
        assert.equal(err.response?.statusCode, 400);
        return true;
      });
  });

  it('refuses a wrong token', async () => {
    const bad = vault({ apiVersion: 'v1', endpoint: endpoints.addr, token: 'not-a-token' });
    await assert.rejects(bad.write(`${endpoints.mount}/datakey/plaintext/${endpoints.transitKey}`, {}),
      (err: Error & { response?: { statusCode: number } }) => err.response?.statusCode === 403);
  });
});
