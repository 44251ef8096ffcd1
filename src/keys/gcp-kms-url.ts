/**
 * `gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K[?endpoint=https://host:port]`. The key is a Cloud
 * KMS CryptoKey's resource name; Encrypt uses its primary version and the version it used is recorded, so a
 * rotation never breaks old archives. A CryptoKeyVersion is refused: pinning one would defeat rotation.
 * Credentials never appear here: the client takes them from the Google auth library's default chain.
 */
import { parseProviderUrl, usage } from './key-url.ts';

export interface GcpKmsKeyOptions {
  /** projects/P/locations/L/keyRings/R/cryptoKeys/K */
  keyName: string;
  /** Only for private endpoints and test servers (http:// means plaintext gRPC without credentials). */
  endpoint?: string;
}

const EXAMPLE = 'gcpkms://projects/my-project/locations/europe-west1/keyRings/archive/cryptoKeys/binlogs';
const NAME = /^projects\/([a-z][a-z0-9-]{4,28}[a-z0-9])\/locations\/([a-z0-9-]{1,63})\/keyRings\/([A-Za-z0-9_-]{1,63})\/cryptoKeys\/([A-Za-z0-9_-]{1,63})$/;

export function parseGcpKmsUrl(url: string): GcpKmsKeyOptions {
  const { key, params } = parseProviderUrl(url, 'gcpkms', ['endpoint'], EXAMPLE);
  if (key === '') throw usage(url, 'missing key name: put the CryptoKey resource name after gcpkms://', `e.g. ${EXAMPLE}`);
  if (key.startsWith('/')) throw usage(url, `key name ${JSON.stringify(key)} starts with /`, `write two slashes, not three: ${EXAMPLE}`);
  if (/\/cryptoKeyVersions(\/|$)/.test(key)) {
    throw usage(url, 'names a CryptoKeyVersion', 'name the CryptoKey: Encrypt uses its primary version and the version is recorded with every object, so rotation keeps working');
  }
  if (!NAME.test(key)) throw usage(url, `${JSON.stringify(key)} is not a Cloud KMS CryptoKey name`, `use projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY, e.g. ${EXAMPLE}`);
  const endpoint = params.origin('endpoint');
  return { keyName: key, ...(endpoint === undefined ? {} : { endpoint }) };
}
