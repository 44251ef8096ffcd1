/** Chooses the key provider from its URL (`--key`). */
import { fileURLToPath } from 'node:url';
import { ArchiverError } from '../errors.ts';
import type { KeyProvider } from './key-provider.ts';
import { LocalKeyProvider } from './local-key-provider.ts';

export function parseKeyUrl(url: string): URL {
  try {
    return new URL(url);
  } catch (err) {
    throw new ArchiverError('EUSAGE', `--key ${JSON.stringify(url)} is not a URL`, { cause: err, hint: 'use file:///absolute/keyfile' });
  }
}

/** The local key file path of a `file://` key URL (also the passphrase file of the openssl format). */
export function keyFilePath(url: string): string {
  const parsed = parseKeyUrl(url);
  if (parsed.protocol !== 'file:') throw new ArchiverError('EUSAGE', `--key ${url}: expected a file:// URL here`);
  return fileURLToPath(parsed);
}

export function openKeyProvider(url: string): KeyProvider {
  const parsed = parseKeyUrl(url);
  switch (parsed.protocol) {
    case 'file:':
      return new LocalKeyProvider({ path: fileURLToPath(parsed) });
    default:
      throw new ArchiverError('EUSAGE', `--key ${url}: unsupported scheme ${parsed.protocol}`, { hint: 'supported: file:///absolute/keyfile' });
  }
}
