/** The byte form of an encryption context that every provider authenticates: keys sorted, JSON, UTF-8. */
import type { EncryptionContext } from './key-provider.ts';

export function canonicalContext(context: EncryptionContext): Buffer {
  const sorted = Object.keys(context).sort().map((k) => [k, context[k]]);
  return Buffer.from(JSON.stringify(sorted), 'utf8');
}
