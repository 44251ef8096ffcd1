/** Chooses the store backend from its URL (`--store`). */
import { ArchiverError } from '../errors.ts';
import { GcsStore } from './gcs-store.ts';
import { parseGcsStoreUrl } from './gcs-url.ts';
import type { ObjectStore } from './object-store.ts';
import { S3Store } from './s3-store.ts';
import { parseS3StoreUrl } from './s3-url.ts';
import { openFileStore, storeScheme } from './store-scheme.ts';

/** Loads every backend; a command-line run uses loadStore (load-store.ts), which loads only the one it names. */
export function openStore(url: string): ObjectStore {
  const scheme = storeScheme(url);
  switch (scheme) {
    case 'file':
      return openFileStore(url);
    case 's3':
    case 'gs': {
      // URL mistakes are reported by the parsers; option range checks by the stores (below).
      const gcs = scheme === 'gs' ? parseGcsStoreUrl(url) : undefined;
      const s3 = gcs === undefined ? parseS3StoreUrl(url) : undefined;
      try {
        return s3 === undefined && gcs !== undefined ? new GcsStore(gcs) : new S3Store(s3 ?? parseS3StoreUrl(url));
      } catch (err) {
        // Range checks of the options: say which --store they came from (never echoing user info: there is none here).
        if (err instanceof ArchiverError && err.code === 'EUSAGE') {
          throw new ArchiverError('EUSAGE', `--store ${url}: ${err.message}`, { cause: err, ...(err.hint === undefined ? {} : { hint: err.hint }) });
        }
        throw err;
      }
    }
  }
}
