/**
 * The key-provider seam. A provider generates one data key (DEK) per batch, wrapped by a master key it holds,
 * and unwraps it again for restore. The encryption context binds a wrapped DEK to where it may be used
 * (namespace, policy, source server, batch); unwrapping under another context must fail.
 */

export type EncryptionContext = Readonly<Record<string, string>>;

export interface DataKey {
  /** 32 bytes; the caller zeroes it when the batch is done. */
  plaintext: Buffer;
  /** Opaque to everyone but the provider; stored in every object header and manifest entry. */
  wrapped: Buffer;
  /** Key id (and version where the provider has one) that wrapped it, for the header and for humans. */
  keyId: string;
  /** The master key version alone, where the provider versions keys (Vault Transit); also part of keyId. */
  keyVersion?: string;
}

export interface KeyProvider {
  /** `local`, `awskms` or `vault`: recorded in object headers so restore picks the same kind. */
  readonly kind: string;
  /** The master key's identity as recorded in headers (never secret). */
  readonly keyId: string;
  generateDataKey(context: EncryptionContext): Promise<DataKey>;
  decryptDataKey(wrapped: Buffer, context: EncryptionContext, keyId: string): Promise<Buffer>;
  /**
   * Throws if the provider cannot be used, as far as can be told without a remote call (a key file that is no
   * key fails when the provider is opened; a Vault token file that is missing fails here).
   */
  check?(): void;
  /** Releases connections (remote providers); called once by whoever opened the provider. */
  close?(): void;
}

/** Zeroes key material in place; called in `finally` blocks so a failure does not leave DEKs in memory. */
export function zero(...buffers: (Buffer | undefined)[]): void {
  for (const b of buffers) b?.fill(0);
}
