/** Chooses the store backend from its URL (`--store`). */
import path from 'node:path';
import { ArchiverError } from '../errors.ts';
import { localFilePath } from '../file-url.ts';
import { FileStore } from './file-store.ts';
import type { ObjectStore } from './object-store.ts';
import { S3Store } from './s3-store.ts';
import { parseS3StoreUrl } from './s3-url.ts';

const SUPPORTED = 'file:///absolute/dir or s3://BUCKET[/PREFIX][?endpoint=...&region=...] (docs/STORAGE.md)';

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
    case 's3:': {
      const options = parseS3StoreUrl(url);
      try {
        return new S3Store(options);
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
