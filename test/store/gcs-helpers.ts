/** Helpers of the GCS store tests: stores on the test environment's fake-gcs-server under fresh prefixes. */
import { Storage } from '@google-cloud/storage';
import { GcsStore } from '../../src/store/gcs-store.ts';
import type { GcsStoreOptions } from '../../src/store/gcs-options.ts';
import { type Endpoints, need } from '../support/testenv.ts';
import { uniquePrefix } from './helpers.ts';

// The auth library must never probe a metadata server from a test (docs/TESTING.md).
process.env.METADATA_SERVER_DETECTION = 'none';

export function gcs(): Endpoints['gcs'] {
  return need('gcs');
}

export function gcsTestStore(options: Partial<GcsStoreOptions> & { name: string }): GcsStore {
  const { name, ...rest } = options;
  return new GcsStore({ bucket: gcs().bucket, prefix: uniquePrefix(name), endpoint: gcs().endpoint, ...rest });
}

/** A client of our own for looking behind the store (upload state objects, metadata). */
export function rawGcs(): Storage {
  return new Storage({ apiEndpoint: gcs().endpoint, projectId: gcs().projectId, useAuthWithCustomEndpoint: false });
}

export async function gcsNames(client: Storage, prefix: string): Promise<string[]> {
  const [files] = await client.bucket(gcs().bucket).getFiles({ prefix });
  return files.map((f) => f.name).sort();
}

/** The prefix of a store made by gcsTestStore (its URL is gs://bucket/prefix?...). */
export function gcsPrefixOf(store: GcsStore): string {
  return new URL(store.url).pathname.replace(/^\//, '');
}

export function gcsStoreUrl(prefix: string, extra = '', endpoint = gcs().endpoint): string {
  return `gs://${gcs().bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}${extra}`;
}
