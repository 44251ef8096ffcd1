/**
 * Chooses the key provider from its URL (`--key`):
 *   file:///abs/keyfile                       local master key (development, embedded default)
 *   awskms://<key-id|alias/name|ARN>?region=R[&endpoint=URL]
 *   vault://<transit-key>?addr=URL[&mount=transit](&tokenFile=/path | &role=R&jwtFile=/path[&authMount=kubernetes])
 *   gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K[?endpoint=URL]
 * The scheme is read before any URL parsing: a KMS ARN after `awskms://` is no valid URL host.
 */
import { ArchiverError } from '../errors.ts';
import { localFilePath } from '../file-url.ts';
import { AwsKmsKeyProvider } from './aws-kms-key-provider.ts';
import { type AwsKmsKeyOptions, parseAwsKmsUrl } from './aws-kms-url.ts';
import { GcpKmsKeyProvider } from './gcp-kms-key-provider.ts';
import { type GcpKmsKeyOptions, parseGcpKmsUrl } from './gcp-kms-url.ts';
import type { KeyProvider } from './key-provider.ts';
import { LocalKeyProvider } from './local-key-provider.ts';
import { VaultKeyProvider } from './vault-key-provider.ts';
import { type VaultKeyOptions, parseVaultUrl } from './vault-url.ts';

const SUPPORTED = 'supported: file:///absolute/keyfile, awskms://KEY?region=REGION, vault://TRANSIT_KEY?addr=URL&tokenFile=/path (or &role=ROLE&jwtFile=/path), gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K';

export function parseKeyUrl(url: string): URL {
  try {
    return new URL(url);
  } catch (err) {
    throw new ArchiverError('EUSAGE', `--key ${JSON.stringify(url)} is not a URL`, { cause: err, hint: SUPPORTED });
  }
}

/** The local key file path of a `file://` key URL (also the passphrase file of the openssl format). */
export function keyFilePath(url: string): string {
  const parsed = parseKeyUrl(url);
  if (parsed.protocol !== 'file:') throw new ArchiverError('EUSAGE', `--key ${url}: expected a file:// URL here`);
  return localFilePath(url, '--key');
}

export type KeyProviderUrl =
  | { kind: 'file'; path: string }
  | { kind: 'awskms'; options: AwsKmsKeyOptions }
  | { kind: 'vault'; options: VaultKeyOptions }
  | { kind: 'gcpkms'; options: GcpKmsKeyOptions };

/** A `--key` URL checked without opening anything: usage errors (exit 2) before any store or file is touched. */
export function parseKeyProviderUrl(url: string): KeyProviderUrl {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'file':
      return { kind: 'file', path: keyFilePath(url) };
    case 'awskms':
      return { kind: 'awskms', options: parseAwsKmsUrl(url) };
    case 'vault':
      return { kind: 'vault', options: parseVaultUrl(url) };
    case 'gcpkms':
      return { kind: 'gcpkms', options: parseGcpKmsUrl(url) };
    case undefined:
      throw new ArchiverError('EUSAGE', `--key ${JSON.stringify(url)} is not a URL`, { hint: SUPPORTED });
    default:
      throw new ArchiverError('EUSAGE', `--key ${url}: unsupported scheme ${scheme}:`, { hint: SUPPORTED });
  }
}

export function openKeyProvider(url: string): KeyProvider {
  const parsed = parseKeyProviderUrl(url);
  switch (parsed.kind) {
    case 'file':
      return new LocalKeyProvider({ path: parsed.path });
    case 'awskms':
      return new AwsKmsKeyProvider(parsed.options);
    case 'vault':
      return new VaultKeyProvider(parsed.options);
    case 'gcpkms':
      return new GcpKmsKeyProvider(parsed.options);
  }
}
