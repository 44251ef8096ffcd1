/**
 * The ObjectStore contract on the GCS store against fake-gcs-server, with a 1 MiB resumable threshold and
 * 256 KiB chunks so the "large" cases take the resumable path in several chunks.
 */
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { skipUnlessIn } from '../support/testenv.ts';
import { storeContract } from './contract.ts';
import { MiB } from './helpers.ts';
import { gcsNames, gcsPrefixOf, gcsTestStore, rawGcs } from './gcs-helpers.ts';

describe('GCS store (fake-gcs-server)', { skip: skipUnlessIn('gcs') }, () => {
  storeContract('gs://', () => {
    const store = gcsTestStore({ name: 'contract', resumableThreshold: MiB, chunkSize: 256 * 1024 });
    const client = rawGcs();
    const prefix = `${gcsPrefixOf(store)}/`;
    return Promise.resolve({
      store,
      largeSize: 3 * MiB,
      // Upload state objects count as debris once a put has returned (sessions themselves cannot be listed).
      leftovers: () => gcsNames(client, `${prefix}.uploads/`),
      largePath: (key, outcome) => {
        if (outcome === 'stored') {
          assert.ok((store.metrics.attempts['resumable.start'] ?? 0) >= 1);
          assert.ok(store.metrics.partsUploaded >= 12, `chunks uploaded: ${store.metrics.partsUploaded}`);
        } else {
          assert.ok(store.metrics.uploadsAborted >= 1, `${key}: the session was cancelled`);
        }
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    });
  });
});
