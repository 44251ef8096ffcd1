/** Chooses the store backend from its URL (`--store`). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArchiverError } from '../errors.ts';
import { FileStore } from './file-store.ts';
import type { ObjectStore } from './object-store.ts';

export function openStore(url: string): ObjectStore {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new ArchiverError('EUSAGE', `--store ${JSON.stringify(url)} is not a URL`, { cause: err, hint: 'use file:///absolute/dir' });
  }
  switch (parsed.protocol) {
    case 'file:': {
      const root = fileURLToPath(parsed);
      return new FileStore({ root: path.resolve(root) });
    }
    default:
      throw new ArchiverError('EUSAGE', `--store ${url}: unsupported scheme ${parsed.protocol}`, { hint: 'supported: file:///absolute/dir' });
  }
}
