/**
 * `loadStore(url)`: the store of a `--store` URL for a command-line run, loading a cloud SDK only when the URL
 * names that cloud (an archive to file:// never loads the AWS or Google clients: start-up, docs/PERFORMANCE.md).
 * Same checks and errors as openStore, which it uses for s3:// and gs://.
 */
import type { ObjectStore } from './object-store.ts';
import { openFileStore, storeScheme } from './store-scheme.ts';

export async function loadStore(url: string): Promise<ObjectStore> {
  return storeScheme(url) === 'file' ? openFileStore(url) : (await import('./open-store.ts')).openStore(url);
}
