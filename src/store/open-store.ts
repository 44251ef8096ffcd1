/** Chooses the store backend from its URL (`--store`). */
import path from 'node:path';
import { ArchiverError } from '../errors.ts';
import { localFilePath } from '../file-url.ts';
import { FileStore } from './file-store.ts';
import { GcsStore } from './gcs-store.ts';
import { parseGcsStoreUrl } from './gcs-url.ts';
import type { ObjectStore } from './object-store.ts';
import { S3Store } from './s3-store.ts';
import { parseS3StoreUrl } from './s3-url.ts';

const SUPPORTED = 'file:///absolute/dir, s3://BUCKET[/PREFIX][?endpoint=...&region=...] or gs://BUCKET[/PREFIX][?endpoint=...] (docs/STORAGE.md)';

export function openStore(url: string): ObjectStore {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new ArchiverError('EUSAGE', `--store ${JSON.stringify(url)} is not a URL`, { cause: err, hint: `use ${SUPPORTED}` });
  }
  switch (parsed.protocol) {
    case 'file:':
      return new FileStore({ root: path.resolve(localFilePath(url, '--store')) });
    case 's3:':
    case 'gs:': {
      // URL mistakes are reported by the parsers; option range checks by the stores (below).
      const gcs = parsed.protocol === 'gs:' ? parseGcsStoreUrl(url) : undefined;
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
    default:
      throw new ArchiverError('EUSAGE', `--store ${url}: unsupported scheme ${parsed.protocol}`, { hint: `supported: ${SUPPORTED}` });
  }
}
