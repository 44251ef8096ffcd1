/** The scheme of a `--store` URL, checked, and the local file store, without loading any cloud SDK. */
import path from 'node:path';
import { ArchiverError } from '../errors.ts';
import { localFilePath } from '../file-url.ts';
import { FileStore } from './file-store.ts';

export const SUPPORTED_STORES = 'file:///absolute/dir, s3://BUCKET[/PREFIX][?endpoint=...&region=...] or gs://BUCKET[/PREFIX][?endpoint=...] (docs/STORAGE.md)';

export function storeScheme(url: string): 'file' | 's3' | 'gs' {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new ArchiverError('EUSAGE', `--store ${JSON.stringify(url)} is not a URL`, { cause: err, hint: `use ${SUPPORTED_STORES}` });
  }
  switch (parsed.protocol) {
    case 'file:':
      return 'file';
    case 's3:':
      return 's3';
    case 'gs:':
      return 'gs';
    default:
      throw new ArchiverError('EUSAGE', `--store ${url}: unsupported scheme ${parsed.protocol}`, { hint: `supported: ${SUPPORTED_STORES}` });
  }
}

export function openFileStore(url: string): FileStore {
  return new FileStore({ root: path.resolve(localFilePath(url, '--store')) });
}
